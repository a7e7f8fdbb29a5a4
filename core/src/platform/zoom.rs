//! Zoom webhooks: `meeting.*` and `webinar.*` started, ended, participant_joined and
//! participant_left; `x-zm-signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with a
//! five-minute window on `x-zm-request-timestamp`; and the `endpoint.url_validation` challenge.

use chrono::{DateTime, Utc};
use hmac::Hmac;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

use super::records::Recorded;
use super::{
    Inbound, MAX_EMAIL_BYTES, MAX_ID_BYTES, MAX_NAME_BYTES, Malformed, Observation, Platform,
    PlatformKind, SignatureError, SignedRequest, digest, hex_hmac, id, optional, signed_by_any,
    time,
};
use crate::metering::Connection;

pub const SIGNATURE_HEADER: &str = "x-zm-signature";
pub const TIMESTAMP_HEADER: &str = "x-zm-request-timestamp";
/// How far a request's timestamp may be from now, either way, in seconds.
pub const WINDOW_SECONDS: i64 = 300;

pub struct Zoom;

#[derive(Deserialize)]
struct Envelope {
    event: String,
    #[serde(default)]
    payload: serde_json::Value,
}

/// What identifies a Zoom event (its `event_ts` is left out), its fields in sorted order (see
/// [`digest`]).
#[derive(serde::Serialize)]
struct Identity<'a> {
    event: &'a str,
    payload: &'a serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Challenge {
    plain_token: String,
}

#[derive(Deserialize)]
struct Payload {
    object: Object,
}

#[derive(Deserialize)]
struct Object {
    uuid: String,
    /// The meeting number: a JSON number in Zoom's schema, a string in some real deliveries.
    #[serde(default, deserialize_with = "meeting_number")]
    id: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    host_email: Option<String>,
    participant: Option<Participant>,
}

/// A participant as webhooks deliver it, and a row of the participant reports
/// (`/report/meetings/{uuid}/participants`, `/past_meetings/{uuid}/participants`), which
/// call the name `name` and carry no phone number.
#[derive(Deserialize)]
pub(super) struct Participant {
    participant_uuid: Option<String>,
    id: Option<String>,
    user_id: Option<String>,
    user_name: Option<String>,
    /// The reports' name for `user_name`.
    name: Option<String>,
    join_time: Option<String>,
    leave_time: Option<String>,
    phone_number: Option<String>,
}

impl Platform for Zoom {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Zoom
    }

    fn verify(
        &self,
        request: &SignedRequest<'_>,
        secrets: &[SecretString],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        let signature =
            (request.header)(SIGNATURE_HEADER).ok_or(SignatureError::Missing("x-zm-signature"))?;
        let timestamp = (request.header)(TIMESTAMP_HEADER)
            .ok_or(SignatureError::Missing("x-zm-request-timestamp"))?;
        let seconds = timestamp_seconds(&timestamp)?;
        let skew = now.timestamp() - seconds;
        if skew.abs() > WINDOW_SECONDS {
            return Err(SignatureError::OutsideWindow(skew));
        }
        let tag = signature
            .trim()
            .strip_prefix("v0=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or(SignatureError::Malformed("x-zm-signature"))?;
        signed_by_any::<Hmac<Sha256>>(
            secrets,
            &tag,
            &[b"v0:", timestamp.as_bytes(), b":", request.body],
        )
    }

    fn parse(&self, body: &[u8]) -> Result<Inbound, Malformed> {
        let envelope: Envelope =
            serde_json::from_slice(body).map_err(|e| Malformed(e.to_string()))?;
        if envelope.event == "endpoint.url_validation" {
            let c: Challenge = serde_json::from_value(envelope.payload)
                .map_err(|e| Malformed(format!("url_validation payload: {e}")))?;
            return Ok(Inbound::UrlValidation { plain_token: c.plain_token });
        }
        let Some(("meeting" | "webinar", action)) = envelope.event.split_once('.') else {
            return Ok(Inbound::Ignored { what: envelope.event });
        };
        if !matches!(action, "started" | "ended" | "participant_joined" | "participant_left") {
            return Ok(Inbound::Ignored { what: envelope.event });
        }
        // `event_ts` is left out: a retry of the same event must have the same digest.
        let digest = digest(&Identity { event: &envelope.event, payload: &envelope.payload });
        let payload: Payload = serde_json::from_value(envelope.payload)
            .map_err(|e| Malformed(format!("payload: {e}")))?;
        let o = payload.object;
        let observation = match action {
            "started" => Observation::Started {
                at: time("payload.object.start_time", o.start_time.as_deref())?,
                host_email: optional("payload.object.host_email", o.host_email, MAX_EMAIL_BYTES)?,
                meeting_number: optional("payload.object.id", o.id, MAX_ID_BYTES)?,
            },
            "ended" => {
                Observation::Ended { at: time("payload.object.end_time", o.end_time.as_deref())? }
            }
            _ => {
                let p = o
                    .participant
                    .ok_or_else(|| Malformed("payload.object.participant is missing".into()))?;
                connected(p)?
            }
        };
        let meeting_id = id("payload.object.uuid", o.uuid)?;
        Ok(Inbound::Session { meeting_id, digest, observations: vec![observation] })
    }
}

/// Any other shape reads as no number: the delivery still counts for usage, and the start is
/// then paid only by an order not bound to a meeting.
fn meeting_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(t) if !t.is_empty() => Some(t),
        _ => None,
    })
}

/// Zoom documents no unit; its senders use seconds. Milliseconds are accepted too.
fn timestamp_seconds(text: &str) -> Result<i64, SignatureError> {
    let value: i64 =
        text.trim().parse().map_err(|_| SignatureError::Malformed("x-zm-request-timestamp"))?;
    if value < 0 {
        return Err(SignatureError::Malformed("x-zm-request-timestamp"));
    }
    Ok(if value > 100_000_000_000 { value / 1000 } else { value })
}

fn connected(p: Participant) -> Result<Observation, Malformed> {
    let (participant, connection) = keyed(p, "payload.object.participant", "participant")?;
    Ok(Observation::Connected { participant, device: String::new(), connection })
}

/// One row of a participant report: one join segment, keyed as webhooks key its participant.
/// The reports say nothing of telephones, so every row reads as a computer.
pub(super) fn recorded(row: Participant) -> Result<Recorded, Malformed> {
    let (participant, connection) = keyed(row, "participants[]", "participants[]")?;
    Ok(Recorded { participant, device: String::new(), connection, kind_known: false })
}

/// The participant's key and connection; `at` and `times_at` name where its fields were in
/// errors.
fn keyed(p: Participant, at: &str, times_at: &str) -> Result<(String, Connection), Malformed> {
    // DESIGN.md: keyed by participant_uuid, else participant id with user_name.
    let field = |name: &str| format!("{at}.{name}");
    let name = match p.user_name {
        Some(name) => optional(&field("user_name"), Some(name), MAX_NAME_BYTES)?,
        None => optional(&field("name"), p.name, MAX_NAME_BYTES)?,
    }
    .unwrap_or_default();
    let participant = match (p.participant_uuid, p.id, p.user_id) {
        (Some(uuid), _, _) if !uuid.is_empty() => id(&field("participant_uuid"), uuid)?,
        (_, Some(pid), _) if !pid.is_empty() => format!("{}/{name}", id(&field("id"), pid)?),
        (_, _, Some(user)) if !user.is_empty() => {
            format!("user:{}/{name}", id(&field("user_id"), user)?)
        }
        _ => return Err(Malformed("participant has no participant_uuid, id or user_id".into())),
    };
    let telephone = p.phone_number.is_some_and(|n| !n.is_empty());
    let connection = Connection {
        joined_at: time(&format!("{times_at}.join_time"), p.join_time.as_deref())?,
        left_at: time(&format!("{times_at}.leave_time"), p.leave_time.as_deref())?,
        computer: !telephone,
        telephone_audio: telephone,
    };
    Ok((participant, connection))
}

/// The answer to `endpoint.url_validation`: hex HMAC-SHA256 of the plain token.
pub fn encrypted_token(secret: &SecretString, plain_token: &str) -> String {
    hex_hmac::<Hmac<Sha256>>(secret.expose_secret().as_bytes(), &[plain_token.as_bytes()])
}

/// The `x-zm-signature` Zoom would send (for senders such as `simulate`).
pub fn sign(secret: &SecretString, timestamp: &str, body: &[u8]) -> String {
    let key = secret.expose_secret().as_bytes();
    format!("v0={}", hex_hmac::<Hmac<Sha256>>(key, &[b"v0:", timestamp.as_bytes(), b":", body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn verify(body: &[u8], ts: &str, sig: &str, now: i64) -> Result<(), SignatureError> {
        let (ts, sig) = (ts.to_owned(), sig.to_owned());
        let header = move |name: &str| match name {
            SIGNATURE_HEADER => Some(sig.clone()),
            TIMESTAMP_HEADER => Some(ts.clone()),
            _ => None,
        };
        let request = SignedRequest { body, header: &header };
        Zoom.verify(&request, &[secret("s3cret")], DateTime::from_timestamp(now, 0).unwrap())
    }

    #[test]
    fn signature_and_window() {
        let body = br#"{"event":"meeting.started"}"#;
        let sig = sign(&secret("s3cret"), "1800000000", body);
        assert_eq!(verify(body, "1800000000", &sig, 1_800_000_000), Ok(()));
        assert_eq!(verify(body, "1800000000", &sig, 1_800_000_300), Ok(()));
        assert_eq!(
            verify(body, "1800000000", &sig, 1_800_000_301),
            Err(SignatureError::OutsideWindow(301))
        );
        assert_eq!(
            verify(body, "1800000000", &sig, 1_799_999_000),
            Err(SignatureError::OutsideWindow(-1000))
        );
        assert_eq!(verify(b"{}", "1800000000", &sig, 1_800_000_000), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(body, "1800000001", &sig, 1_800_000_000),
            Err(SignatureError::Mismatch),
            "the timestamp is part of what is signed"
        );
        assert_eq!(
            verify(body, "soon", &sig, 1_800_000_000),
            Err(SignatureError::Malformed("x-zm-request-timestamp"))
        );
        assert_eq!(
            verify(body, "1800000000", "abc", 1_800_000_000),
            Err(SignatureError::Malformed("x-zm-signature"))
        );
    }

    #[test]
    fn url_validation_answer() {
        let body = br#"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680}"#;
        assert_eq!(
            Zoom.parse(body),
            Ok(Inbound::UrlValidation { plain_token: "qgg8vlvZRS6UYooatFL8Aw".into() })
        );
        let token = encrypted_token(&secret("s3cret"), "qgg8vlvZRS6UYooatFL8Aw");
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn text_a_database_cannot_hold_is_refused_naming_the_field() {
        let joined = |uuid: &str, participant: serde_json::Value| {
            serde_json::json!({"event":"meeting.participant_joined","payload":{"object":{
                "uuid": uuid, "participant": participant}}})
            .to_string()
        };
        let refused = |body: String| Zoom.parse(body.as_bytes()).unwrap_err().0;
        let someone =
            serde_json::json!({"participant_uuid":"P1","join_time":"2026-11-25T10:00:00Z"});
        assert_eq!(
            refused(joined("u\0", someone.clone())),
            "payload.object.uuid contains a NUL character"
        );
        assert_eq!(refused(joined("", someone)), "payload.object.uuid is empty");
        assert_eq!(
            refused(joined("u", serde_json::json!({"id":"1","user_name":"Ann\0"}))),
            "payload.object.participant.user_name contains a NUL character"
        );
        assert_eq!(
            refused(joined("u", serde_json::json!({"participant_uuid":"P\0"}))),
            "payload.object.participant.participant_uuid contains a NUL character"
        );
        let long = refused(joined("u", serde_json::json!({"id": "9".repeat(3000)})));
        assert!(long.starts_with("payload.object.participant.id is 3000 bytes"), "{long}");
        let year_zero =
            serde_json::json!({"participant_uuid":"P","join_time":"0000-01-01T00:00:00Z"});
        assert!(refused(joined("u", year_zero)).contains("participant.join_time"));
    }

    #[test]
    fn participants_are_keyed_by_uuid_else_id_and_name() {
        let joined = br#"{"event":"webinar.participant_joined","event_ts":1,"payload":{"account_id":"a","object":{
            "uuid":"tubFEWg9SAaVamwu6V0+kw==","id":"842077624","host_id":"h","type":5,
            "participant":{"id":"0suX","user_id":"16780288","user_name":"Host","join_time":"2019-11-02T19:43:16Z"}}}}"#;
        let Ok(Inbound::Session { meeting_id, observations, .. }) = Zoom.parse(joined) else {
            panic!()
        };
        assert_eq!(meeting_id, "tubFEWg9SAaVamwu6V0+kw==");
        let Observation::Connected { participant, connection, .. } = &observations[0] else {
            panic!()
        };
        assert_eq!(participant, "0suX/Host");
        assert!(connection.computer && !connection.telephone_audio);

        let phone = br#"{"event":"meeting.participant_left","payload":{"object":{"uuid":"u",
            "participant":{"participant_uuid":"P1","user_name":"+47","phone_number":"+4712345678",
            "leave_time":"2019-11-02T19:50:00Z"}}}}"#;
        let Ok(Inbound::Session { observations, .. }) = Zoom.parse(phone) else { panic!() };
        let Observation::Connected { participant, connection, .. } = &observations[0] else {
            panic!()
        };
        assert_eq!(participant, "P1");
        assert!(!connection.computer && connection.telephone_audio);
    }

    #[test]
    fn report_rows_are_keyed_as_webhooks_key_their_participant() {
        let row = |json: &str| recorded(serde_json::from_str(json).unwrap());
        let by_id = row(r#"{"id":"30R7kT7bTIKSNUFEuH_Qlg","user_id":"16778240","name":"Ann",
            "user_email":"ann@example.com","join_time":"2026-11-25T10:00:00Z",
            "leave_time":"2026-11-25T10:20:00Z","duration":1200,"failover":false,
            "status":"in_meeting"}"#)
        .unwrap();
        assert_eq!(by_id.participant, "30R7kT7bTIKSNUFEuH_Qlg/Ann");
        assert_eq!((by_id.device.as_str(), by_id.kind_known), ("", false));
        assert!(by_id.connection.computer && !by_id.connection.telephone_audio);
        let by_uuid = row(
            r#"{"participant_uuid":"u-1","id":"x","name":"Ann","join_time":"2026-11-25T10:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(by_uuid.participant, "u-1");
        assert_eq!(by_uuid.connection.left_at, None);
        // Guests' ids are hidden since 2023; the user id still tells segments apart.
        let guest = row(r#"{"id":"","user_id":"16779264","name":"Guest"}"#).unwrap();
        assert_eq!(guest.participant, "user:16779264/Guest");
        let refused = row(r#"{"id":"1","name":"Ann","join_time":"1999-01-01T00:00:00Z"}"#);
        assert!(refused.unwrap_err().0.contains("participants[].join_time"));
    }

    #[test]
    fn a_start_carries_the_meeting_number_whether_a_number_or_a_string() {
        let number = |body: &[u8]| match Zoom.parse(body) {
            Ok(Inbound::Session { observations, .. }) => match &observations[0] {
                Observation::Started { meeting_number, .. } => meeting_number.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        let started = |id: &str| {
            format!(r#"{{"event":"meeting.started","payload":{{"object":{{"uuid":"u"{id}}}}}}}"#)
        };
        assert_eq!(
            number(started(r#","id":85746065432"#).as_bytes()).as_deref(),
            Some("85746065432")
        );
        assert_eq!(
            number(started(r#","id":"85746065432""#).as_bytes()).as_deref(),
            Some("85746065432")
        );
        assert_eq!(number(started("").as_bytes()), None);
        assert_eq!(number(started(r#","id":null"#).as_bytes()), None);
        assert_eq!(number(started(r#","id":{"x":1}"#).as_bytes()), None);
    }

    #[test]
    fn retries_share_a_digest_whatever_their_event_ts() {
        let a = br#"{"event":"meeting.ended","event_ts":1,"payload":{"object":{"uuid":"u","end_time":"2019-11-02T19:50:00Z"}}}"#;
        let b = br#"{"event":"meeting.ended","event_ts":2,"payload":{"object":{"uuid":"u","end_time":"2019-11-02T19:50:00Z"}}}"#;
        let d = |body: &[u8]| match Zoom.parse(body).unwrap() {
            Inbound::Session { digest, .. } => digest,
            other => panic!("{other:?}"),
        };
        assert_eq!(d(a), d(b));
        assert!(matches!(
            Zoom.parse(br#"{"event":"recording.completed","payload":{}}"#),
            Ok(Inbound::Ignored { .. })
        ));
        assert!(matches!(
            Zoom.parse(br#"{"event":"meeting.sharing_started","payload":{}}"#),
            Ok(Inbound::Ignored { .. })
        ));
    }
}
