//! Conferencing platforms: what their webhook deliveries say, in platform-neutral terms, and
//! clients of their REST APIs (`webex_api`, `zoom_api`) behind [`MeetingControl`], and the
//! upkeep of the Webex webhooks (`hooks`).
//! One adapter per platform; each verifies a delivery's signature over the raw bytes before
//! anything is parsed.

pub mod control;
pub mod hooks;
mod rate_limit;
pub mod records;
pub mod webex;
pub mod webex_api;
pub mod zoom;
pub mod zoom_api;

pub use control::MeetingControl;
pub use rate_limit::LONGEST_REQUEST;

/// The most requests one [`MeetingControl`] call makes: Zoom's admission looks the attendee up
/// among pending and approved registrants, adds, approves, and looks the join link up (one page
/// of registrants each; a meeting with more makes more). Ending or cancelling makes one.
/// Reading a record (`participants`, `usage_report`) makes one per page, unbounded, and Zoom's
/// `participants` twice that when it falls back to `past_meetings`: whoever leases such a read
/// must count its pages, not this.
pub const MOST_REQUESTS_PER_CALL: u32 = 5;

/// The platform REST clients this instance has, by platform; one is missing when its token is
/// not configured, and what needs it says so.
#[derive(Clone, Default)]
pub struct Platforms {
    pub webex: Option<std::sync::Arc<dyn MeetingControl>>,
    pub zoom: Option<std::sync::Arc<dyn MeetingControl>>,
}

impl Platforms {
    /// The client for `platform`, or why there is none.
    pub fn get(
        &self,
        platform: PlatformKind,
    ) -> Result<&std::sync::Arc<dyn MeetingControl>, String> {
        match platform {
            PlatformKind::Webex => self.webex.as_ref(),
            PlatformKind::Zoom => self.zoom.as_ref(),
        }
        .ok_or_else(|| format!("no {platform} API token ({platform}.token) is configured"))
    }
}

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::metering::Connection;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    Webex,
    Zoom,
}

impl PlatformKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Webex => "webex",
            PlatformKind::Zoom => "zoom",
        }
    }

    /// The `ended` delivery this platform sends for a meeting instance, for one it looked up
    /// after its own was lost (gap fill): applied like any delivery, so that a session ends
    /// one way only.
    pub fn ended_delivery(self, meeting_id: &str, at: Option<DateTime<Utc>>) -> String {
        let at = at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let body = match self {
            PlatformKind::Webex => serde_json::json!({
                "resource": "meetings", "event": "ended",
                "data": { "id": meeting_id, "end": at },
            }),
            PlatformKind::Zoom => serde_json::json!({
                "event": "meeting.ended",
                "payload": { "object": { "uuid": meeting_id, "end_time": at } },
            }),
        };
        body.to_string()
    }

    /// The adapter that reads this platform's deliveries.
    pub fn adapter(self) -> &'static dyn Platform {
        match self {
            PlatformKind::Webex => &webex::Webex,
            PlatformKind::Zoom => &zoom::Zoom,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown platform `{0}` (expected webex or zoom)")]
pub struct UnknownPlatform(String);

impl FromStr for PlatformKind {
    type Err = UnknownPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "webex" => Ok(PlatformKind::Webex),
            "zoom" => Ok(PlatformKind::Zoom),
            _ => Err(UnknownPlatform(s.to_owned())),
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a delivery tells about a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    Started {
        at: Option<DateTime<Utc>>,
        host_email: Option<String>,
        /// Zoom's meeting number (`object.id`), which scheduling returned: the session is keyed
        /// by the instance's uuid, but an order is bound to the number. None on Webex, whose
        /// session key already names the scheduled meeting.
        meeting_number: Option<String>,
    },
    Ended {
        at: Option<DateTime<Utc>>,
    },
    /// A device of a participant, keyed within the session by (participant, device).
    Connected {
        participant: String,
        device: String,
        connection: Connection,
    },
}

/// What one verified delivery is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Observations about one session. `digest` identifies what the event says, so that a
    /// redelivery of the same event is recognised even without a delivery id.
    Session { meeting_id: String, digest: String, observations: Vec<Observation> },
    /// An event tollbooth does not use; acknowledged and dropped.
    Ignored { what: String },
    /// Zoom's endpoint validation challenge.
    UrlValidation { plain_token: String },
}

/// Why a delivery's signature is not accepted. The messages are for logs; the sender only
/// ever sees 401.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("no secret configured for this platform")]
    NoSecret,
    #[error("header {0} is missing")]
    Missing(&'static str),
    #[error("header {0} is malformed")]
    Malformed(&'static str),
    #[error("timestamp is {0} seconds away from now")]
    OutsideWindow(i64),
    #[error("signature does not match")]
    Mismatch,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed delivery: {0}")]
pub struct Malformed(pub String);

/// A request as it arrived: the raw body and a case-insensitive header lookup.
pub struct SignedRequest<'a> {
    pub body: &'a [u8],
    pub header: &'a dyn Fn(&str) -> Option<String>,
}

pub trait Platform: Send + Sync {
    fn kind(&self) -> PlatformKind;

    /// Checks the delivery against any of `secrets` (several while they are rotated), in
    /// constant time.
    fn verify(
        &self,
        request: &SignedRequest<'_>,
        secrets: &[SecretString],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError>;

    /// Reads a verified delivery.
    fn parse(&self, body: &[u8]) -> Result<Inbound, Malformed>;
}

/// The MAC of `parts`, concatenated, under `key`.
fn keyed<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Hex HMAC of `parts` under `key`, as platforms send it.
fn hex_hmac<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(keyed::<M>(key, parts).finalize().into_bytes())
}

/// Accepts `tag` if any of `secrets` (several while they are rotated) signs `parts` with it;
/// each comparison is in constant time.
fn signed_by_any<M: Mac + KeyInit>(
    secrets: &[SecretString],
    tag: &[u8],
    parts: &[&[u8]],
) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let matches = secrets
        .iter()
        .any(|s| keyed::<M>(s.expose_secret().as_bytes(), parts).verify_slice(tag).is_ok());
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// SHA-256 of the canonical JSON of `value` (object keys sorted at every level), in hex.
///
/// Written straight into the hash, without a copy of the delivery: `serde_json::Value` keeps
/// an object's keys sorted (its map is a `BTreeMap`), and the structs hashed here declare
/// their fields in sorted order.
fn digest(value: &impl Serialize) -> String {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    serde_json::to_writer(&mut hashing, value).expect("JSON values and strings serialise");
    hex::encode(hashing.0.finalize())
}

/// The longest id kept (meeting, participant, device, meeting number), in bytes. Neither
/// platform documents a limit: Webex ids are about 60 characters and Zoom's uuids 24, so this
/// is far above real ids, and several together stay well under PostgreSQL's 2,704-byte limit
/// for one index entry (an id past it used to fail every batch it was in).
pub const MAX_ID_BYTES: usize = 256;
/// RFC 5321's limit on a forward path, less its angle brackets.
pub const MAX_EMAIL_BYTES: usize = 254;
/// The longest participant name kept (Zoom keys a participant without a uuid by id and name).
pub const MAX_NAME_BYTES: usize = 256;

/// How a refused value is quoted back: escaped, and cut short, since it came from outside.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 40;
    let mut shown: String = text.chars().take(SHOWN).collect::<String>().escape_debug().to_string();
    if text.chars().count() > SHOWN {
        shown.push('…');
    }
    format!("`{shown}`")
}

/// Text from a delivery that will be stored: PostgreSQL's `text` cannot hold a NUL, and
/// nothing longer than `max` bytes is kept. Refused here, alone, rather than failing the
/// batch it would be written in.
fn storable(field: &str, value: String, max: usize) -> Result<String, Malformed> {
    if value.contains('\0') {
        return Err(Malformed(format!("{field} contains a NUL character")));
    }
    if value.len() > max {
        return Err(Malformed(format!(
            "{field} is {} bytes long; at most {max} are accepted",
            value.len()
        )));
    }
    Ok(value)
}

/// An id: storable and not empty (a session with an empty id could never be looked up).
fn id(field: &str, value: String) -> Result<String, Malformed> {
    if value.trim().is_empty() {
        return Err(Malformed(format!("{field} is empty")));
    }
    storable(field, value, MAX_ID_BYTES)
}

/// Optional text that will be stored; empty reads as absent.
fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, Malformed> {
    value.filter(|v| !v.is_empty()).map(|v| storable(field, v, max)).transpose()
}

/// A platform time: RFC 3339, where an absent value or the Unix epoch means "not yet".
fn time(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, Malformed> {
    let Some(text) = value.filter(|s| !s.is_empty()) else { return Ok(None) };
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| Malformed(format!("{field} {} is not an RFC 3339 time", quoted(text))))?
        .to_utc();
    if at.timestamp() == 0 {
        return Ok(None);
    }
    // Anything far outside is a forgery or a bug, and would make connected time absurd.
    crate::metering::plausible(field, at).map(Some).map_err(|e| Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Digests are stored to recognise a retried delivery: one computed otherwise after an
    /// upgrade would take a retry of a delivery stored before it for a new one.
    #[test]
    fn digests_are_those_stored_by_earlier_versions() {
        let webex = br#"{"id":"h","resource":"meetingParticipants","event":"joined","data":{"meetingId":"M1","id":"P1","devices":[{"correlationId":"d1","deviceType":"webex","joinedTime":"2026-11-25T10:00:00Z","leftTime":null}],"z":{"b":1,"a":[2,"\u00e9\""]}}}"#;
        let zoom = br#"{"event":"meeting.participant_joined","event_ts":1,"payload":{"account_id":"a","object":{"uuid":"U1","participant":{"user_id":"u","participant_uuid":"P1","join_time":"2026-11-25T10:00:00Z"}}}}"#;
        // As computed by the digest that built a `serde_json::Value` and sorted its keys.
        let golden = [
            (
                PlatformKind::Webex,
                &webex[..],
                "d0c6c6ba42aa0285cba0848e86ad6ace6e119977cfad3add33beeb2c58b9fc31",
            ),
            (
                PlatformKind::Zoom,
                &zoom[..],
                "d61d1ca7bb1297897f676687a40efc82d86e70d2e6485c987fd4199ed441e104",
            ),
        ];
        for (platform, body, stored) in golden {
            match platform.adapter().parse(body).unwrap() {
                Inbound::Session { digest, .. } => assert_eq!(digest, stored, "{platform}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn digests_ignore_key_order() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"a":1,"b":{"x":[1,{"q":2,"p":3}]}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"b":{"x":[1,{"p":3,"q":2}]},"a":1}"#).unwrap();
        let c: serde_json::Value =
            serde_json::from_str(r#"{"b":{"x":[{"p":3,"q":2},1]},"a":1}"#).unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&c), "array order is meaningful");
    }

    #[test]
    fn epoch_and_absent_times_mean_not_yet() {
        assert_eq!(time("t", None), Ok(None));
        assert_eq!(time("t", Some("1970-01-01T00:00:00.000Z")), Ok(None));
        assert_eq!(time("t", Some("1970-01-01T00:00:00Z")), Ok(None));
        assert!(time("t", Some("2026-11-25T10:00:00.000Z")).unwrap().is_some());
        assert!(time("leftTime", Some("yesterday")).unwrap_err().0.contains("leftTime"));
    }

    #[test]
    fn impossible_times_are_refused_naming_the_field() {
        for text in ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1999-12-31T23:59:59Z"] {
            let refused = time("devices[].joinedTime", Some(text)).unwrap_err().0;
            assert!(
                refused.contains("devices[].joinedTime")
                    && refused.contains("not a plausible time"),
                "{refused}"
            );
        }
    }

    #[test]
    fn text_that_cannot_be_stored_is_refused_naming_the_field() {
        let nul = id("data.devices[].correlationId", "c\u{0}1".into()).unwrap_err().0;
        assert_eq!(nul, "data.devices[].correlationId contains a NUL character");
        let long = id("data.id", "x".repeat(MAX_ID_BYTES + 1)).unwrap_err().0;
        assert!(long.starts_with("data.id is 257 bytes long"), "{long}");
        assert_eq!(id("data.id", " ".into()).unwrap_err().0, "data.id is empty");
        assert_eq!(optional("data.hostEmail", Some(String::new()), MAX_EMAIL_BYTES), Ok(None));
        assert_eq!(id("data.id", "x".repeat(MAX_ID_BYTES)).map(|s| s.len()), Ok(MAX_ID_BYTES));
    }

    #[test]
    fn refused_values_are_quoted_escaped_and_short() {
        assert_eq!(quoted("a\u{0}b"), "`a\\0b`");
        assert_eq!(quoted(&"y".repeat(100)).chars().count(), 40 + 3);
    }
}
