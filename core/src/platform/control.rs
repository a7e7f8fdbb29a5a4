//! What tollbooth asks of a platform's REST API at run time, whichever platform it is: ending
//! an unpaid meeting, scheduling meetings, and the registrants of sessions with a fee.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::records::{MeetingStanding, Recorded, ReportedUsage};
use super::webex_api::{WebexApi, WebexError};
use super::zoom_api::{ZoomApi, ZoomError};

/// A time as both platforms take it in requests: UTC, whole seconds, `Z`
/// (`2026-11-25T10:00:00Z`; Zoom reads a time without `Z` in the meeting's time zone).
pub(super) fn utc_seconds(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Webex(#[from] WebexError),
    #[error(transparent)]
    Zoom(#[from] ZoomError),
}

impl ControlError {
    /// The platform refused this request itself (400, 404, 409, 422: a meeting without
    /// registration, a full or deleted meeting, a form it will not take), as opposed to an
    /// outage or our own credentials (401, 403), which a person can fix and a retry then gets
    /// through. Such a refusal will not change by retrying.
    pub fn is_refusal(&self) -> bool {
        let (ControlError::Webex(WebexError::Api { status, .. })
        | ControlError::Zoom(ZoomError::Api { status, .. })) = self
        else {
            return false;
        };
        matches!(status.as_u16(), 400 | 404 | 409 | 422)
    }
}

/// A meeting to create on the platform for a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingRequest {
    pub title: String,
    pub start: DateTime<Utc>,
    pub minutes: u32,
    /// The host the meeting is scheduled for (Webex `hostEmail`, Zoom's `userId`).
    pub host_email: String,
    /// Present for a session with a fee: attendees must register and be approved.
    pub registration: Option<Registration>,
}

/// How registration works on a session with a fee: always approved by tollbooth (manual
/// approval on the platform), once the fee is paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The most registrants the platform accepts, when the host set a capacity.
    pub capacity: Option<u32>,
}

/// A meeting the platform created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledMeeting {
    /// The id webhooks name the meeting by (Webex's series id, Zoom's numeric id as text).
    pub meeting_id: String,
    /// Where attendees join (Webex `webLink`, Zoom `join_url`).
    pub join_url: String,
    /// Where the host starts it (Zoom `start_url`; Webex's `webLink`, which starts the meeting
    /// for its signed-in host).
    pub start_url: String,
}

/// A meeting the platform holds, and whose it is: tollbooth's one token acts for every host
/// of the site, so Webex needs the host named (`hostEmail`) on calls about their meeting.
/// Zoom meeting ids are unique across the account and need no host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostedMeeting<'a> {
    pub id: &'a str,
    pub host_email: &'a str,
}

/// Who registers, as the platforms' registrant forms need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attendee {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A registrant on the platform, approved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registrant {
    pub id: String,
    /// The personal join link, where the platform returns one (Zoom); Webex e-mails it instead.
    pub join_url: Option<String>,
}

#[async_trait]
pub trait MeetingControl: Send + Sync {
    /// Ends a running meeting for everyone in it.
    async fn end_meeting(&self, meeting_id: &str) -> Result<(), ControlError>;

    /// Creates a meeting for a host (Webex `POST /meetings`, Zoom
    /// `POST /users/{userId}/meetings`), with registration required when asked.
    async fn schedule_meeting(
        &self,
        request: &MeetingRequest,
    ) -> Result<ScheduledMeeting, ControlError>;

    /// Turns registration with manual approval on for an existing meeting (Webex
    /// `PUT /meetings/{id}/registration`, Zoom `PATCH /meetings/{id}` `approval_type: 1`).
    async fn require_registration(
        &self,
        meeting: HostedMeeting<'_>,
        registration: &Registration,
    ) -> Result<(), ControlError>;

    /// Registers the attendee and approves them. An attendee the platform already holds
    /// (a retry after a lost answer) is found by e-mail and approved, never added twice.
    async fn admit(
        &self,
        meeting: HostedMeeting<'_>,
        attendee: &Attendee,
    ) -> Result<Registrant, ControlError>;

    /// Deletes a scheduled meeting (the host cancelled the session). A meeting the platform
    /// no longer has counts as deleted.
    async fn cancel_meeting(&self, meeting: HostedMeeting<'_>) -> Result<(), ControlError>;

    /// Every connection the platform recorded for this meeting instance, all pages. A record
    /// the platform does not have yet (Webex answers 404 while it syncs) is an error, never an
    /// empty list.
    async fn participants(&self, meeting: HostedMeeting<'_>)
    -> Result<Vec<Recorded>, ControlError>;

    /// Whether the instance has ended, per the platform (Webex `GET /meetings/{id}` `state`
    /// and `end`; Zoom `GET /past_meetings/{uuid}` `end_time`).
    async fn standing(&self, meeting: HostedMeeting<'_>) -> Result<MeetingStanding, ControlError>;

    /// The instance's totals in the usage report, when the platform has one (Webex: Some once
    /// the report lists it, None while it does not or without `webex.site_url`; Zoom: always
    /// None). `started` bounds the report's window.
    async fn usage_report(
        &self,
        meeting: HostedMeeting<'_>,
        started: DateTime<Utc>,
    ) -> Result<Option<ReportedUsage>, ControlError>;
}

/// Each client's own methods, behind the trait: one impl for both, so they cannot drift.
macro_rules! meeting_control {
    ($api:ty) => {
        #[async_trait]
        impl MeetingControl for $api {
            async fn end_meeting(&self, meeting_id: &str) -> Result<(), ControlError> {
                Ok(<$api>::end_meeting(self, meeting_id).await?)
            }

            async fn schedule_meeting(
                &self,
                request: &MeetingRequest,
            ) -> Result<ScheduledMeeting, ControlError> {
                Ok(<$api>::schedule_meeting(self, request).await?)
            }

            async fn require_registration(
                &self,
                meeting: HostedMeeting<'_>,
                registration: &Registration,
            ) -> Result<(), ControlError> {
                Ok(<$api>::require_registration(self, meeting, registration).await?)
            }

            async fn admit(
                &self,
                meeting: HostedMeeting<'_>,
                attendee: &Attendee,
            ) -> Result<Registrant, ControlError> {
                Ok(<$api>::admit(self, meeting, attendee).await?)
            }

            async fn cancel_meeting(&self, meeting: HostedMeeting<'_>) -> Result<(), ControlError> {
                Ok(<$api>::cancel_meeting(self, meeting).await?)
            }

            async fn participants(
                &self,
                meeting: HostedMeeting<'_>,
            ) -> Result<Vec<Recorded>, ControlError> {
                Ok(<$api>::participants(self, meeting).await?)
            }

            async fn standing(
                &self,
                meeting: HostedMeeting<'_>,
            ) -> Result<MeetingStanding, ControlError> {
                Ok(<$api>::standing(self, meeting).await?)
            }

            async fn usage_report(
                &self,
                meeting: HostedMeeting<'_>,
                started: DateTime<Utc>,
            ) -> Result<Option<ReportedUsage>, ControlError> {
                Ok(<$api>::usage_report(self, meeting, started).await?)
            }
        }
    };
}

meeting_control!(WebexApi);
meeting_control!(ZoomApi);

#[cfg(test)]
mod tests {
    use reqwest::{Method, StatusCode};

    use super::*;

    fn webex(status: StatusCode) -> ControlError {
        let (method, path, message) = (Method::POST, "/v1/meetings".into(), String::new());
        WebexError::Api { status, method, path, message, tracking_id: None }.into()
    }

    fn zoom(status: StatusCode, code: u32) -> ControlError {
        let (method, path, message) =
            (Method::POST, "/v2/meetings/1/registrants".into(), String::new());
        ZoomError::Api { status, method, path, code: Some(code), message }.into()
    }

    #[test]
    fn outages_are_retried_and_refusals_are_not() {
        assert!(!webex(StatusCode::TOO_MANY_REQUESTS).is_refusal());
        assert!(!zoom(StatusCode::SERVICE_UNAVAILABLE, 0).is_refusal());
        assert!(webex(StatusCode::BAD_REQUEST).is_refusal(), "registration not enabled");
        assert!(zoom(StatusCode::NOT_FOUND, 3001).is_refusal());
        // What a paid registrant refused for good is refunded on; credentials are a person's
        // to fix, and an outage passes.
        assert!(zoom(StatusCode::BAD_REQUEST, 3043).is_refusal());
        assert!(webex(StatusCode::NOT_FOUND).is_refusal());
        assert!(!webex(StatusCode::UNAUTHORIZED).is_refusal());
        assert!(!zoom(StatusCode::FORBIDDEN, 124).is_refusal());
        assert!(!webex(StatusCode::INTERNAL_SERVER_ERROR).is_refusal());
    }

    #[test]
    fn times_are_sent_in_utc_to_the_second() {
        let at: DateTime<Utc> = "2026-12-01T15:00:00.750+00:00".parse().unwrap();
        assert_eq!(utc_seconds(at), "2026-12-01T15:00:00Z");
    }
}
