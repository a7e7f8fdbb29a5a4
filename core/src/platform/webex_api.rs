//! A client of the Webex REST API (`webex.api_base`, default `https://webexapis.com/v1`):
//! webhooks, scheduling and ending meetings, meeting registrants, and what Webex recorded of a
//! meeting instance (participants, state, the site's usage report). The bearer token never
//! leaves the `Authorization` header, which reqwest marks sensitive, so it is neither logged
//! nor printed.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use reqwest::header::LINK;
use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::control::{
    Attendee, HostedMeeting, MeetingRequest, Registrant, Registration, ScheduledMeeting,
    utc_seconds,
};
use super::records::{MeetingStanding, Recorded, ReportedUsage};
use super::webex;

/// The largest page of `GET /meetingParticipants`.
const PARTICIPANTS_PER_PAGE: &str = "100";
/// The largest page of `GET /meetingReports/usage`.
const REPORT_ITEMS_PER_PAGE: &str = "1000";

#[derive(Debug, thiserror::Error)]
pub enum WebexError {
    /// Webex answered with an error status; `message` is Webex's own explanation.
    #[error("Webex answered {status} to {method} {path}: {message}{}", tracking(.tracking_id))]
    Api {
        status: StatusCode,
        method: Method,
        path: String,
        message: String,
        tracking_id: Option<String>,
    },
    #[error("cannot reach Webex for {method} {path}")]
    Transport {
        method: Method,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Webex answered {method} {path} with a body that does not parse")]
    Decode {
        method: Method,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// Webex answered 2xx with something tollbooth will not take as its record (an
    /// impossible time, an id no database can hold, a next page on another host).
    #[error("Webex answered {method} {path} with a record tollbooth refuses: {reason}")]
    Refused { method: Method, path: String, reason: String },
    #[error(
        "webex.api_base (TOLLBOOTH_WEBEX__API_BASE) `{0}` is not a base URL that can carry paths"
    )]
    BadBase(Url),
}

fn tracking(id: &Option<String>) -> String {
    id.as_ref().map(|id| format!(" (trackingId {id})")).unwrap_or_default()
}

/// Whether Webex delivers to a hook; it turns a hook `inactive` after repeated failed
/// deliveries and never turns it back by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookStatus {
    Active,
    Inactive,
}

/// A webhook as Webex lists it. Its secret is left out on purpose: tollbooth keeps the ones
/// it generated and never needs Webex's copy.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub name: String,
    pub target_url: String,
    pub resource: String,
    pub event: String,
    pub filter: Option<String>,
    pub status: WebhookStatus,
    pub created: Option<String>,
    pub owned_by: Option<String>,
}

/// What a new webhook is to be.
#[derive(Clone, Copy, Debug)]
pub struct NewWebhook<'a> {
    pub name: &'a str,
    pub target_url: &'a str,
    pub resource: &'a str,
    pub event: &'a str,
    pub owned_by: &'a str,
    pub filter: Option<&'a str>,
}

#[derive(Clone, Debug)]
pub struct WebexApi {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    /// The site whose usage report is read (`webex.site_url`, e.g. `example.webex.com`).
    site_url: Option<String>,
}

#[derive(Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

/// The part of Webex's meeting object tollbooth reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedMeeting {
    id: String,
    web_link: String,
}

/// The part of Webex's registrant object tollbooth reads.
#[derive(Deserialize)]
struct WebexRegistrant {
    id: String,
    #[serde(default)]
    email: String,
    /// `approved`, `pending` or `rejected`; a paid attendee in any but the first is approved.
    status: String,
}

/// The part of Webex's meeting object that says how an instance stands.
#[derive(Deserialize)]
struct MeetingState {
    state: Option<String>,
    end: Option<String>,
}

/// One meeting of `GET /meetingReports/usage`; totals Webex leaves out are 0.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageItem {
    meeting_id: String,
    #[serde(default)]
    total_people_minutes: u64,
    #[serde(default)]
    total_call_in_minutes: u64,
    #[serde(default)]
    total_call_in_toll_free_minutes: u64,
    #[serde(default)]
    total_call_out_domestic: u64,
    #[serde(default)]
    total_call_out_international: u64,
    #[serde(default)]
    tracking_codes: Vec<TrackingCode>,
}

#[derive(Deserialize)]
struct TrackingCode {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

impl UsageItem {
    fn reported(self) -> Result<ReportedUsage, String> {
        let teleconference = [
            self.total_call_in_minutes,
            self.total_call_in_toll_free_minutes,
            self.total_call_out_domestic,
            self.total_call_out_international,
        ]
        .into_iter()
        .try_fold(0u64, u64::checked_add)
        .ok_or_else(|| format!("the teleconference minutes of {} overflow", self.meeting_id))?;
        Ok(ReportedUsage {
            person_minutes: self.total_people_minutes,
            teleconference_minutes: teleconference,
            tracking_codes: self.tracking_codes.into_iter().map(|c| (c.name, c.value)).collect(),
        })
    }
}

/// Webex's error body: `{"message": "...", "errors": [{"description": "..."}], "trackingId": "..."}`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    tracking_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    description: String,
}

impl WebexApi {
    pub fn new(base: Url, token: SecretString) -> Result<WebexApi, WebexError> {
        if base.cannot_be_a_base() {
            return Err(WebexError::BadBase(base));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("tollbooth/", env!("CARGO_PKG_VERSION")))
            .timeout(super::rate_limit::REQUEST_TIMEOUT)
            .build()
            .expect("a client with no custom TLS or proxy settings builds");
        Ok(WebexApi { http, base, token, site_url: None })
    }

    /// The site whose usage report [`WebexApi::usage_report`] reads; without one it reads none.
    pub fn with_site_url(mut self, site_url: Option<String>) -> WebexApi {
        self.site_url = site_url;
        self
    }

    /// `GET /webhooks?max=100`: the first page of the token owner's webhooks, which holds
    /// all of tollbooth's since it registers a handful.
    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, WebexError> {
        let mut url = self.url(&["webhooks"]);
        url.query_pairs_mut().append_pair("max", "100");
        let items: Items<Webhook> = self.json(Method::GET, url, None).await?;
        Ok(items.items)
    }

    /// `POST /webhooks`: a new hook whose deliveries are signed with `secret`.
    pub async fn create_webhook(
        &self,
        hook: NewWebhook<'_>,
        secret: &SecretString,
    ) -> Result<Webhook, WebexError> {
        let mut body = json!({
            "name": hook.name,
            "targetUrl": hook.target_url,
            "resource": hook.resource,
            "event": hook.event,
            "secret": secret.expose_secret(),
            "ownedBy": hook.owned_by,
        });
        if let Some(filter) = hook.filter {
            body["filter"] = filter.into();
        }
        self.json(Method::POST, self.url(&["webhooks"]), Some(&body)).await
    }

    /// `PUT /webhooks/{id}` with `status: active`: turns a hook that Webex disabled back on,
    /// signing from now on with `secret`. Webex honours only name, targetUrl, secret and
    /// status here, and needs the first two.
    pub async fn reactivate_webhook(
        &self,
        id: &str,
        name: &str,
        target_url: &str,
        secret: &SecretString,
    ) -> Result<Webhook, WebexError> {
        let body = json!({
            "name": name,
            "targetUrl": target_url,
            "secret": secret.expose_secret(),
            "status": "active",
        });
        self.json(Method::PUT, self.url(&["webhooks", id]), Some(&body)).await
    }

    /// `POST /messages` with `toPersonEmail`: a direct message from the token's bot to a
    /// person by address, in Markdown. Webex takes no idempotency key for it.
    pub async fn send_message(
        &self,
        to_person_email: &str,
        markdown: &str,
    ) -> Result<(), WebexError> {
        let body = json!({ "toPersonEmail": to_person_email, "markdown": markdown });
        self.send(Method::POST, self.url(&["messages"]), Some(&body)).await?;
        Ok(())
    }

    /// `POST /meetings/{meetingId}/end`: ends a running meeting (Webex answers 204).
    pub async fn end_meeting(&self, meeting_id: &str) -> Result<(), WebexError> {
        self.send(Method::POST, self.url(&["meetings", meeting_id, "end"]), None).await?;
        Ok(())
    }

    /// `POST /meetings`: a one-off meeting for `request.host_email`, attendees kept out until
    /// the host starts it. Webex returns no separate host link: `webLink` starts the meeting
    /// for its signed-in host and joins everyone else, so it is both links.
    pub async fn schedule_meeting(
        &self,
        request: &MeetingRequest,
    ) -> Result<ScheduledMeeting, WebexError> {
        let end = request.start + chrono::Duration::minutes(request.minutes.into());
        let mut body = json!({
            "title": request.title,
            "start": utc_seconds(request.start),
            "end": utc_seconds(end),
            "hostEmail": request.host_email,
            // Webex refuses registration on a meeting without a password; attendees get it
            // in their approval e-mail, so tollbooth never needs it again.
            "password": meeting_password(),
            // Join-before-host also rules registration out.
            "enabledJoinBeforeHost": false,
        });
        if let Some(registration) = &request.registration {
            body["registration"] = registration_form(registration);
        }
        let created: CreatedMeeting =
            self.json(Method::POST, self.url(&["meetings"]), Some(&body)).await?;
        Ok(ScheduledMeeting {
            meeting_id: created.id,
            join_url: created.web_link.clone(),
            start_url: created.web_link,
        })
    }

    /// `PUT /meetings/{meetingId}/registration`: registration with approval by tollbooth on a
    /// meeting scheduled elsewhere (it must be a series id with a password).
    pub async fn require_registration(
        &self,
        meeting: HostedMeeting<'_>,
        registration: &Registration,
    ) -> Result<(), WebexError> {
        let url = self.meeting_url(meeting, &["registration"]);
        self.send(Method::PUT, url, Some(&registration_form(registration))).await?;
        Ok(())
    }

    /// Registers the attendee (unless Webex already holds their e-mail) and approves them.
    /// Webex e-mails the join link on approval and never returns it.
    pub async fn admit(
        &self,
        meeting: HostedMeeting<'_>,
        attendee: &Attendee,
    ) -> Result<Registrant, WebexError> {
        let registrant = match self.find_registrant(meeting, &attendee.email).await? {
            Some(found) => found,
            None => {
                let body = json!({
                    "firstName": attendee.first_name,
                    "lastName": attendee.last_name,
                    "email": attendee.email,
                    "sendEmail": true,
                });
                let url = self.meeting_url(meeting, &["registrants"]);
                self.json(Method::POST, url, Some(&body)).await?
            }
        };
        if registrant.status != "approved" {
            self.registrants_action(meeting, "approve", &registrant.id).await?;
        }
        Ok(Registrant { id: registrant.id, join_url: None })
    }

    /// `DELETE /meetings/{meetingId}` (204). A 404 means the meeting is already gone, which
    /// is what was asked.
    pub async fn cancel_meeting(&self, meeting: HostedMeeting<'_>) -> Result<(), WebexError> {
        match self.send(Method::DELETE, self.meeting_url(meeting, &[]), None).await {
            Ok(_) => Ok(()),
            Err(WebexError::Api { status: StatusCode::NOT_FOUND, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /meetingParticipants?meetingId=…&hostEmail=…`, every page: one [`Recorded`] per
    /// device of each participant. A record Webex has not synced yet answers 404, an error.
    pub async fn participants(
        &self,
        meeting: HostedMeeting<'_>,
    ) -> Result<Vec<Recorded>, WebexError> {
        let mut url = self.url(&["meetingParticipants"]);
        url.query_pairs_mut()
            .append_pair("meetingId", meeting.id)
            .append_pair("max", PARTICIPANTS_PER_PAGE);
        if !meeting.host_email.is_empty() {
            url.query_pairs_mut().append_pair("hostEmail", meeting.host_email);
        }
        let path = url.path().to_owned();
        let mut recorded = Vec::new();
        for participant in self.all_pages::<webex::Participant>(url).await? {
            let devices = webex::recorded(participant).map_err(|e| WebexError::Refused {
                method: Method::GET,
                path: path.clone(),
                reason: e.0,
            })?;
            recorded.extend(devices);
        }
        Ok(recorded)
    }

    /// `GET /meetings/{meetingId}?hostEmail=…`: `state` `ended` is ended at `end`;
    /// `inProgress` and `started` are running; any other state says neither.
    pub async fn standing(
        &self,
        meeting: HostedMeeting<'_>,
    ) -> Result<MeetingStanding, WebexError> {
        let url = self.meeting_url(meeting, &[]);
        let path = url.path().to_owned();
        let held: MeetingState = self.json(Method::GET, url, None).await?;
        Ok(match held.state.as_deref() {
            Some("ended") => {
                let at = super::time("end", held.end.as_deref())
                    .map_err(|e| WebexError::Refused { method: Method::GET, path, reason: e.0 })?;
                MeetingStanding::Ended { at }
            }
            Some("inProgress" | "started") => MeetingStanding::Running,
            _ => MeetingStanding::Unknown,
        })
    }

    /// The instance's line in the site's Training Center usage report
    /// (`GET /meetingReports/usage`, every page), from a day before `started` to two days
    /// after (Webex allows 30). Only the instance's own id is matched: the series id would
    /// match every occurrence, whose totals are not this session's. None while the report
    /// does not list it (Webex builds it within a day of the end) and without a site.
    pub async fn usage_report(
        &self,
        meeting: HostedMeeting<'_>,
        started: DateTime<Utc>,
    ) -> Result<Option<ReportedUsage>, WebexError> {
        let Some(site_url) = &self.site_url else { return Ok(None) };
        let mut url = self.url(&["meetingReports", "usage"]);
        url.query_pairs_mut()
            .append_pair("siteUrl", site_url)
            .append_pair("serviceType", "TrainingCenter")
            .append_pair("from", &utc_seconds(started - Duration::days(1)))
            .append_pair("to", &utc_seconds(started + Duration::days(2)))
            .append_pair("max", REPORT_ITEMS_PER_PAGE);
        let path = url.path().to_owned();
        let items = self.all_pages::<UsageItem>(url).await?;
        items
            .into_iter()
            .find(|item| item.meeting_id == meeting.id)
            .map(|item| {
                item.reported().map_err(|reason| WebexError::Refused {
                    method: Method::GET,
                    path: path.clone(),
                    reason,
                })
            })
            .transpose()
    }

    /// The `items` of `first` and of every page after it, following `Link: <…>; rel="next"`.
    /// A next page elsewhere than `webex.api_base` is refused: the token would go with it.
    async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        first: Url,
    ) -> Result<Vec<T>, WebexError> {
        let mut all = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let response = self.send(Method::GET, url.clone(), None).await?;
            let link = response.headers().get(LINK).and_then(|v| v.to_str().ok());
            if let Some(link) = link.and_then(next_link) {
                let refused = |reason: String| WebexError::Refused {
                    method: Method::GET,
                    path: url.path().to_owned(),
                    reason,
                };
                let page =
                    url.join(link).map_err(|e| refused(format!("next page `{link}`: {e}")))?;
                if page.origin() != self.base.origin() || page == url {
                    return Err(refused(format!("next page `{link}` is not another page here")));
                }
                next = Some(page);
            }
            let page: Items<T> = response.json().await.map_err(|source| WebexError::Decode {
                method: Method::GET,
                path: url.path().to_owned(),
                source,
            })?;
            all.extend(page.items);
        }
        Ok(all)
    }

    /// `POST /meetings/{meetingId}/registrants/query` by e-mail: a registrant from an earlier
    /// attempt whose answer was lost.
    async fn find_registrant(
        &self,
        meeting: HostedMeeting<'_>,
        email: &str,
    ) -> Result<Option<WebexRegistrant>, WebexError> {
        let url = self.meeting_url(meeting, &["registrants", "query"]);
        let found: Items<WebexRegistrant> =
            self.json(Method::POST, url, Some(&json!({"emails": [email]}))).await?;
        Ok(found.items.into_iter().find(|r| r.email.eq_ignore_ascii_case(email)))
    }

    /// `POST /meetings/{meetingId}/registrants/{action}` for one registrant (204),
    /// with Webex's e-mail to them.
    async fn registrants_action(
        &self,
        meeting: HostedMeeting<'_>,
        action: &str,
        registrant_id: &str,
    ) -> Result<(), WebexError> {
        let url = self.meeting_url(meeting, &["registrants", action]);
        let body = json!({"sendEmail": true, "registrants": [{"id": registrant_id}]});
        self.send(Method::POST, url, Some(&body)).await?;
        Ok(())
    }

    /// `/meetings/{meetingId}/{segments}?hostEmail=…`: an administrator's token acts for the
    /// meeting's host only when the host is named (Webex finds no meeting otherwise).
    fn meeting_url(&self, meeting: HostedMeeting<'_>, segments: &[&str]) -> Url {
        let mut url = self.url(&[&["meetings", meeting.id], segments].concat());
        if !meeting.host_email.is_empty() {
            url.query_pairs_mut().append_pair("hostEmail", meeting.host_email);
        }
        url
    }

    /// `base` followed by `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("checked in new").pop_if_empty().extend(segments);
        url
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<T, WebexError> {
        let response = self.send(method.clone(), url.clone(), body).await?;
        response.json().await.map_err(|source| WebexError::Decode {
            method,
            path: url.path().to_owned(),
            source,
        })
    }

    /// Sends the request, waiting out short rate limits ([`super::rate_limit`]); any other
    /// non-2xx answer becomes [`WebexError::Api`].
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Response, WebexError> {
        let sent =
            super::rate_limit::send("webex", &self.http, &self.token, (&method, &url), body).await;
        let response = sent.map_err(|source| WebexError::Transport {
            method: method.clone(),
            path: url.path().to_owned(),
            source,
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(api_error(method, &url, response).await)
    }
}

/// The registration form for a session with a fee: tollbooth approves each registrant once
/// paid, so Webex must not accept anyone by itself. Webex insists that the name and e-mail
/// fields are required.
fn registration_form(registration: &Registration) -> Value {
    let mut form = json!({
        "autoAcceptRequest": false,
        "requireFirstName": true,
        "requireLastName": true,
        "requireEmail": true,
    });
    if let Some(capacity) = registration.capacity {
        form["maxRegisterNum"] = capacity.into();
    }
    form
}

/// A random password of letters and digits, with at least one of each case and a digit, which
/// meets Webex's default site rules.
fn meeting_password() -> String {
    loop {
        let password: String =
            rand::rng().sample_iter(Alphanumeric).take(12).map(char::from).collect();
        let has = |class: fn(&char) -> bool| password.chars().any(|c| class(&c));
        if has(char::is_ascii_lowercase)
            && has(char::is_ascii_uppercase)
            && has(char::is_ascii_digit)
        {
            return password;
        }
    }
}

/// The `rel="next"` target of a `Link` header (RFC 8288), e.g.
/// `<https://webexapis.com/v1/meetingParticipants?cursor=…>; rel="next"`.
fn next_link(header: &str) -> Option<&str> {
    header.split('<').skip(1).find_map(|link| {
        let (target, params) = link.split_once('>')?;
        let next = params.split(';').any(|param| {
            let param = param.trim_matches([' ', ',']);
            param.eq_ignore_ascii_case("rel=\"next\"") || param.eq_ignore_ascii_case("rel=next")
        });
        next.then_some(target)
    })
}

async fn api_error(method: Method, url: &Url, response: Response) -> WebexError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let parsed: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
    let details: Vec<&str> = parsed
        .errors
        .iter()
        .map(|e| e.description.as_str())
        .filter(|d| !d.is_empty() && *d != parsed.message)
        .collect();
    let mut message = parsed.message.clone();
    if !details.is_empty() {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&details.join("; "));
    }
    if message.is_empty() {
        // Not Webex's JSON (a proxy's page, say): show its start, which is all there is.
        message = text.chars().take(200).collect::<String>().trim().to_owned();
    }
    if message.is_empty() {
        message = status.canonical_reason().unwrap_or("no explanation").to_owned();
    }
    WebexError::Api {
        status,
        method,
        path: url.path().to_owned(),
        message,
        tracking_id: parsed.tracking_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let one =
            r#"<https://webexapis.com/v1/meetingParticipants?max=100&cursor=Y3Vy>; rel="next""#;
        assert_eq!(
            next_link(one),
            Some("https://webexapis.com/v1/meetingParticipants?max=100&cursor=Y3Vy")
        );
        let several = r#"<https://x/v1/a?p=1>; rel="prev", <https://x/v1/a?p=3>; rel=next"#;
        assert_eq!(next_link(several), Some("https://x/v1/a?p=3"));
        assert_eq!(next_link(r#"<https://x/v1/a?p=1>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn teleconference_minutes_add_every_telephone_total() {
        let item: UsageItem = serde_json::from_str(
            r#"{"meetingId":"m_I_1","totalPeopleMinutes":90,"totalCallInMinutes":5,
                "totalCallInTollFreeMinutes":7,"totalCallOutDomestic":11,
                "totalCallOutInternational":13,"totalVoipMinutes":60,
                "trackingCodes":[{"name":"Division","value":"Web"}]}"#,
        )
        .unwrap();
        let reported = item.reported().unwrap();
        assert_eq!((reported.person_minutes, reported.teleconference_minutes), (90, 36));
        assert_eq!(reported.tracking_codes, [("Division".to_owned(), "Web".to_owned())]);
        let sparse: UsageItem = serde_json::from_str(r#"{"meetingId":"m_I_2"}"#).unwrap();
        assert_eq!(sparse.reported().unwrap().teleconference_minutes, 0);
        let huge: UsageItem = serde_json::from_str(&format!(
            r#"{{"meetingId":"m_I_3","totalCallInMinutes":{},"totalCallOutDomestic":1}}"#,
            u64::MAX
        ))
        .unwrap();
        assert!(huge.reported().unwrap_err().contains("m_I_3"));
    }
}
