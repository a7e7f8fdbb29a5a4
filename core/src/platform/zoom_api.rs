//! A client of the Zoom REST API (`zoom.api_base`, default `https://api.zoom.us/v2`): ending
//! and scheduling meetings, meeting registrants, and what Zoom recorded of a past meeting
//! instance (its participants' join segments, its end). The bearer token travels only in the
//! `Authorization` header, which reqwest marks sensitive, so it is neither logged nor printed.

use chrono::{DateTime, Utc};
use reqwest::{Method, Response, StatusCode};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::control::{
    Attendee, HostedMeeting, MeetingRequest, Registrant, Registration, ScheduledMeeting,
    utc_seconds,
};
use super::records::{MeetingStanding, Recorded, ReportedUsage};
use super::zoom;

/// Zoom's code for "Meeting does not exist".
const MEETING_DOES_NOT_EXIST: u32 = 3001;
/// The largest page of registrants or participants Zoom serves.
const PAGE_SIZE: &str = "300";

#[derive(Debug, thiserror::Error)]
pub enum ZoomError {
    /// Zoom answered with an error status; `code` and `message` are Zoom's own.
    #[error("Zoom answered {status} to {method} {path}: {message}{}", code_note(.code))]
    Api { status: StatusCode, method: Method, path: String, code: Option<u32>, message: String },
    #[error("cannot reach Zoom for {method} {path}")]
    Transport {
        method: Method,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Zoom answered {method} {path} with a body that does not parse")]
    Decode {
        method: Method,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// Zoom answered 2xx with something tollbooth will not take as its record (an impossible
    /// time, an id no database can hold).
    #[error("Zoom answered {method} {path} with a record tollbooth refuses: {reason}")]
    Refused { method: Method, path: String, reason: String },
    #[error(
        "zoom.api_base (TOLLBOOTH_ZOOM__API_BASE) `{0}` is not a base URL that can carry paths"
    )]
    BadBase(Url),
}

fn code_note(code: &Option<u32>) -> String {
    code.map(|code| format!(" (code {code})")).unwrap_or_default()
}

/// Zoom asks for a uuid that begins with `/` or contains `//` to be encoded twice (its router
/// decodes once before routing); `extend` then encodes the result once more.
fn path_id(meeting_id: &str) -> String {
    if meeting_id.starts_with('/') || meeting_id.contains("//") {
        url::form_urlencoded::byte_serialize(meeting_id.as_bytes()).collect()
    } else {
        meeting_id.to_owned()
    }
}

/// Zoom's error body: `{"code": 3001, "message": "..."}`, validation failures with
/// `errors: [{"field": "email", "message": "Invalid field."}]`.
#[derive(Default, Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Deserialize)]
struct FieldError {
    #[serde(default)]
    field: String,
    #[serde(default)]
    message: String,
}

/// The part of Zoom's created meeting tollbooth reads.
#[derive(Deserialize)]
struct CreatedMeeting {
    id: u64,
    join_url: String,
    start_url: String,
}

/// `POST /meetings/{id}/registrants` answers with the meeting's `id` and the `registrant_id`.
#[derive(Deserialize)]
struct AddedRegistrant {
    registrant_id: String,
}

/// One page of `GET /meetings/{id}/registrants`.
#[derive(Deserialize)]
struct RegistrantPage {
    #[serde(default)]
    registrants: Vec<ListedRegistrant>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ListedRegistrant {
    id: String,
    email: String,
    /// The registrant's own link; Zoom lists it once they are approved.
    join_url: Option<String>,
}

/// One page of a participant report (`/report/meetings/{uuid}/participants`,
/// `/past_meetings/{uuid}/participants`): one row per join segment.
#[derive(Deserialize)]
struct ParticipantPage {
    #[serde(default)]
    participants: Vec<zoom::Participant>,
    next_page_token: Option<String>,
}

/// The part of `GET /past_meetings/{uuid}` that says when the instance ended.
#[derive(Deserialize)]
struct PastMeeting {
    end_time: Option<String>,
}

pub struct ZoomApi {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
}

impl ZoomApi {
    pub fn new(base: Url, token: SecretString) -> Result<ZoomApi, ZoomError> {
        if base.cannot_be_a_base() {
            return Err(ZoomError::BadBase(base));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("tollbooth/", env!("CARGO_PKG_VERSION")))
            .timeout(super::rate_limit::REQUEST_TIMEOUT)
            .build()
            .expect("a client with no custom TLS or proxy settings builds");
        Ok(ZoomApi { http, base, token })
    }

    /// `PUT /meetings/{meetingId}/status` with `{"action": "end"}` (Zoom answers 204).
    /// `meeting_id` may be a meeting instance's uuid.
    pub async fn end_meeting(&self, meeting_id: &str) -> Result<(), ZoomError> {
        let url = self.meeting_url(meeting_id, &["status"]);
        self.send(Method::PUT, url, Some(&json!({"action": "end"}))).await?;
        Ok(())
    }

    /// `POST /users/{hostEmail}/meetings`: a scheduled meeting (type 2) that attendees cannot
    /// join before the host. Zoom has no capacity setting on meetings (only its own limit of
    /// 4,999 registrants), so a registration's capacity is enforced by tollbooth, which
    /// admits only as many as were sold.
    pub async fn schedule_meeting(
        &self,
        request: &MeetingRequest,
    ) -> Result<ScheduledMeeting, ZoomError> {
        let body = json!({
            "topic": request.title,
            "type": 2,
            "start_time": utc_seconds(request.start),
            "duration": request.minutes,
            "settings": {
                "join_before_host": false,
                // The waiting room would hold back even the registrants tollbooth approved.
                "waiting_room": false,
                "approval_type": if request.registration.is_some() { 1 } else { 2 },
                "registrants_email_notification": true,
            },
        });
        let url = self.url(&["users", &request.host_email, "meetings"]);
        let created: CreatedMeeting = self.json(Method::POST, url, Some(&body)).await?;
        Ok(ScheduledMeeting {
            meeting_id: created.id.to_string(),
            join_url: created.join_url,
            start_url: created.start_url,
        })
    }

    /// `PATCH /meetings/{meetingId}` with `approval_type: 1` (manual approval, 204). The
    /// capacity is tollbooth's to enforce, as in [`ZoomApi::schedule_meeting`].
    pub async fn require_registration(
        &self,
        meeting: HostedMeeting<'_>,
        _registration: &Registration,
    ) -> Result<(), ZoomError> {
        let body = json!({"settings": {"approval_type": 1}});
        self.send(Method::PATCH, self.meeting_url(meeting.id, &[]), Some(&body)).await?;
        Ok(())
    }

    /// Registers the attendee (unless Zoom already holds their e-mail, pending or approved),
    /// approves them, and returns their personal join link, which Zoom lists only once they
    /// are approved.
    pub async fn admit(
        &self,
        meeting: HostedMeeting<'_>,
        attendee: &Attendee,
    ) -> Result<Registrant, ZoomError> {
        let (meeting_id, email) = (meeting.id, attendee.email.as_str());
        let to_approve = match self.find_registrant(meeting_id, "pending", email).await? {
            Some(pending) => pending.id,
            None => match self.find_registrant(meeting_id, "approved", email).await? {
                Some(approved) => {
                    return Ok(Registrant { id: approved.id, join_url: approved.join_url });
                }
                None => self.add_registrant(meeting_id, attendee).await?,
            },
        };
        self.set_status(meeting_id, "approve", &to_approve, email).await?;
        let join_url = self
            .find_registrant(meeting_id, "approved", email)
            .await?
            .and_then(|approved| approved.join_url);
        Ok(Registrant { id: to_approve, join_url })
    }

    /// `DELETE /meetings/{meetingId}` (204). Zoom's 404 with code 3001 ("Meeting does not
    /// exist") means it is already gone, which is what was asked; other 404s (a host that
    /// does not exist, code 1001) are errors.
    pub async fn cancel_meeting(&self, meeting: HostedMeeting<'_>) -> Result<(), ZoomError> {
        match self.send(Method::DELETE, self.meeting_url(meeting.id, &[]), None).await {
            Ok(_) => Ok(()),
            Err(ZoomError::Api {
                status: StatusCode::NOT_FOUND,
                code: Some(MEETING_DOES_NOT_EXIST),
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every join segment Zoom recorded for the instance `meeting.id` (a uuid), from the
    /// participant report (`GET /report/meetings/{uuid}/participants`). The report covers only
    /// meetings with two or more participants, and needs a plan (Pro) and a scope
    /// (`report:read:admin`) that `past_meetings` does not: when it refuses (400, 403), does
    /// not have the meeting (404, or code 3001), or lists fewer than two participants, the
    /// same rows are read from `GET /past_meetings/{uuid}/participants`, whose errors are
    /// returned.
    pub async fn participants(
        &self,
        meeting: HostedMeeting<'_>,
    ) -> Result<Vec<Recorded>, ZoomError> {
        let report = self.segments(&["report", "meetings"], meeting.id).await;
        let report = match report {
            Ok(rows) if distinct_participants(&rows) >= 2 => return Ok(rows),
            Ok(rows) => rows,
            Err(ZoomError::Api { status, code, .. })
                if matches!(status.as_u16(), 400 | 403 | 404)
                    || code == Some(MEETING_DOES_NOT_EXIST) =>
            {
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let past = self.segments(&["past_meetings"], meeting.id).await?;
        // Both leave out a meeting with one participant; whichever has more rows knows more.
        Ok(if past.len() >= report.len() { past } else { report })
    }

    /// `GET /past_meetings/{uuid}`: ended at `end_time`. Zoom holds an instance there only
    /// once it has ended and answers 404 until then, so a 404 reads as running: the session
    /// exists (its webhooks named it), and the caller gives up on waiting at its own time.
    pub async fn standing(&self, meeting: HostedMeeting<'_>) -> Result<MeetingStanding, ZoomError> {
        let url = self.url(&["past_meetings", &path_id(meeting.id)]);
        let path = url.path().to_owned();
        match self.json::<PastMeeting>(Method::GET, url, None).await {
            Ok(past) => {
                let at = super::time("end_time", past.end_time.as_deref())
                    .map_err(|e| ZoomError::Refused { method: Method::GET, path, reason: e.0 })?;
                Ok(MeetingStanding::Ended { at })
            }
            Err(ZoomError::Api { status: StatusCode::NOT_FOUND, .. }) => {
                Ok(MeetingStanding::Running)
            }
            Err(e) => Err(e),
        }
    }

    /// Zoom's usage reports are per account and per month, not per meeting: there is none to
    /// settle an instance against.
    pub async fn usage_report(
        &self,
        _meeting: HostedMeeting<'_>,
        _started: DateTime<Utc>,
    ) -> Result<Option<ReportedUsage>, ZoomError> {
        Ok(None)
    }

    /// Every row of `/{prefix…}/{uuid}/participants`, page by page.
    async fn segments(&self, prefix: &[&str], uuid: &str) -> Result<Vec<Recorded>, ZoomError> {
        let id = path_id(uuid);
        let mut recorded = Vec::new();
        let mut next_page: Option<String> = None;
        loop {
            let mut url = self.url(&[prefix, &[id.as_str(), "participants"]].concat());
            url.query_pairs_mut().append_pair("page_size", PAGE_SIZE);
            if let Some(token) = &next_page {
                url.query_pairs_mut().append_pair("next_page_token", token);
            }
            let path = url.path().to_owned();
            let page: ParticipantPage = self.json(Method::GET, url, None).await?;
            for row in page.participants {
                let row = zoom::recorded(row).map_err(|e| ZoomError::Refused {
                    method: Method::GET,
                    path: path.clone(),
                    reason: e.0,
                })?;
                recorded.push(row);
            }
            match page.next_page_token {
                Some(token) if !token.is_empty() => next_page = Some(token),
                _ => return Ok(recorded),
            }
        }
    }

    /// `POST /meetings/{meetingId}/registrants` (201); the registrant id is new, pending
    /// approval.
    async fn add_registrant(
        &self,
        meeting_id: &str,
        attendee: &Attendee,
    ) -> Result<String, ZoomError> {
        let body = json!({
            "email": attendee.email,
            "first_name": attendee.first_name,
            "last_name": attendee.last_name,
        });
        let url = self.meeting_url(meeting_id, &["registrants"]);
        let added: AddedRegistrant = self.json(Method::POST, url, Some(&body)).await?;
        Ok(added.registrant_id)
    }

    /// The registrant with this e-mail among those with `status`, page by page.
    async fn find_registrant(
        &self,
        meeting_id: &str,
        status: &str,
        email: &str,
    ) -> Result<Option<ListedRegistrant>, ZoomError> {
        let mut next_page: Option<String> = None;
        loop {
            let mut url = self.meeting_url(meeting_id, &["registrants"]);
            url.query_pairs_mut().append_pair("status", status).append_pair("page_size", PAGE_SIZE);
            if let Some(token) = &next_page {
                url.query_pairs_mut().append_pair("next_page_token", token);
            }
            let page: RegistrantPage = self.json(Method::GET, url, None).await?;
            if let Some(found) =
                page.registrants.into_iter().find(|r| r.email.eq_ignore_ascii_case(email))
            {
                return Ok(Some(found));
            }
            match page.next_page_token {
                Some(token) if !token.is_empty() => next_page = Some(token),
                _ => return Ok(None),
            }
        }
    }

    /// `PUT /meetings/{meetingId}/registrants/status` for one registrant (204).
    async fn set_status(
        &self,
        meeting_id: &str,
        action: &str,
        registrant_id: &str,
        email: &str,
    ) -> Result<(), ZoomError> {
        let url = self.meeting_url(meeting_id, &["registrants", "status"]);
        let body =
            json!({"action": action, "registrants": [{"id": registrant_id, "email": email}]});
        self.send(Method::PUT, url, Some(&body)).await?;
        Ok(())
    }

    /// `base` followed by `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("checked in new").pop_if_empty().extend(segments);
        url
    }

    /// `/meetings/{meetingId}/{rest}`, the id encoded as Zoom asks for uuids.
    fn meeting_url(&self, meeting_id: &str, rest: &[&str]) -> Url {
        let id = path_id(meeting_id);
        let mut url = self.url(&["meetings", &id]);
        url.path_segments_mut().expect("checked in new").extend(rest);
        url
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<T, ZoomError> {
        let response = self.send(method.clone(), url.clone(), body).await?;
        response.json().await.map_err(|source| ZoomError::Decode {
            method,
            path: url.path().to_owned(),
            source,
        })
    }

    /// Sends the request, waiting out short rate limits ([`super::rate_limit`]); any other
    /// non-2xx answer becomes [`ZoomError::Api`]. Callers (the outbox) retry the rest with
    /// their own backoff, and every call is safe to repeat (`admit` finds what an earlier
    /// attempt registered).
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Response, ZoomError> {
        let path = url.path().to_owned();
        let sent =
            super::rate_limit::send("zoom", &self.http, &self.token, (&method, &url), body).await;
        let response = sent.map_err(|source| ZoomError::Transport {
            method: method.clone(),
            path: path.clone(),
            source,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let parsed: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
        Err(ZoomError::Api {
            status,
            method,
            path,
            code: parsed.code,
            message: message(parsed, &text),
        })
    }
}

/// How many participants the rows are segments of.
fn distinct_participants(rows: &[Recorded]) -> usize {
    rows.iter().map(|r| r.participant.as_str()).collect::<std::collections::HashSet<_>>().len()
}

/// Zoom's message, followed by the fields a validation failure names; the start of the body
/// when it is not Zoom's JSON (a proxy's page, say).
fn message(parsed: ErrorBody, text: &str) -> String {
    let fields: Vec<String> = parsed
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message).trim_matches([' ', ':']).to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    let mut message = parsed.message;
    if !fields.is_empty() {
        message = format!("{message} ({})", fields.join("; ")).trim_start().to_owned();
    }
    if message.is_empty() {
        message = text.chars().take(200).collect::<String>().trim().to_owned();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_with_slashes_are_encoded_twice() {
        assert_eq!(path_id("4444AAAiAAAAAiAiAiiAii=="), "4444AAAiAAAAAiAiAiiAii==");
        assert_eq!(path_id("/ajXp112QmuoKj4854875=="), "%2FajXp112QmuoKj4854875%3D%3D");
        assert_eq!(path_id("ab//cd"), "ab%2F%2Fcd");
    }

    #[test]
    fn validation_failures_name_their_fields() {
        let body = r#"{"code":300,"message":"Validation Failed.",
            "errors":[{"field":"email","message":"Invalid field."}]}"#;
        let parsed: ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(message(parsed, body), "Validation Failed. (email: Invalid field.)");
        assert_eq!(message(ErrorBody::default(), " <html>busy</html> "), "<html>busy</html>");
    }
}
