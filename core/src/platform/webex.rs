//! Webex webhooks: `meetings` started/ended and `meetingParticipants` joined/left, signed with
//! `X-Spark-Signature` = lowercase hex HMAC-SHA1 of the raw body keyed with the hook's secret.

use chrono::{DateTime, Utc};
use hmac::Hmac;
use secrecy::SecretString;
use serde::Deserialize;
use sha1::Sha1;

use super::records::Recorded;
use super::{
    Inbound, MAX_EMAIL_BYTES, Malformed, Observation, Platform, PlatformKind, SignatureError,
    SignedRequest, digest, hex_hmac, id, optional, signed_by_any, time,
};
use crate::metering::Connection;

pub const SIGNATURE_HEADER: &str = "x-spark-signature";

pub struct Webex;

#[derive(Deserialize)]
struct Envelope {
    resource: String,
    event: String,
    data: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meeting {
    id: String,
    start: Option<String>,
    end: Option<String>,
    host_email: Option<String>,
}

/// A participant as webhooks deliver it and as `GET /meetingParticipants` lists it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Participant {
    id: String,
    meeting_id: String,
    /// The participant's own times, read only when the record lists no devices.
    joined_time: Option<String>,
    left_time: Option<String>,
    #[serde(default)]
    devices: Vec<Device>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Device {
    correlation_id: String,
    device_type: Option<String>,
    audio_type: Option<String>,
    joined_time: Option<String>,
    left_time: Option<String>,
}

impl Platform for Webex {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Webex
    }

    fn verify(
        &self,
        request: &SignedRequest<'_>,
        secrets: &[SecretString],
        _now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        let header = (request.header)(SIGNATURE_HEADER)
            .ok_or(SignatureError::Missing("X-Spark-Signature"))?;
        let tag = hex::decode(header.trim())
            .map_err(|_| SignatureError::Malformed("X-Spark-Signature"))?;
        signed_by_any::<Hmac<Sha1>>(secrets, &tag, &[request.body])
    }

    fn parse(&self, body: &[u8]) -> Result<Inbound, Malformed> {
        let envelope: Envelope =
            serde_json::from_slice(body).map_err(|e| Malformed(e.to_string()))?;
        let what = format!("{}:{}", envelope.resource, envelope.event);
        // Webex deliveries carry no event id: what the event says identifies it.
        let digest = digest(&Identity {
            data: &envelope.data,
            event: &envelope.event,
            resource: &envelope.resource,
        });
        let data = envelope.data;
        match (envelope.resource.as_str(), envelope.event.as_str()) {
            ("meetings", "started") => {
                let m: Meeting = read("meeting", data)?;
                let observation = Observation::Started {
                    at: time("data.start", m.start.as_deref())?,
                    host_email: optional("data.hostEmail", m.host_email, MAX_EMAIL_BYTES)?,
                    meeting_number: None,
                };
                let meeting_id = id("data.id", m.id)?;
                Ok(Inbound::Session { meeting_id, digest, observations: vec![observation] })
            }
            ("meetings", "ended") => {
                let m: Meeting = read("meeting", data)?;
                let observation = Observation::Ended { at: time("data.end", m.end.as_deref())? };
                let meeting_id = id("data.id", m.id)?;
                Ok(Inbound::Session { meeting_id, digest, observations: vec![observation] })
            }
            ("meetingParticipants", "joined" | "left") => {
                let p: Participant = read("participant", data)?;
                let participant = id("data.id", p.id)?;
                let meeting_id = id("data.meetingId", p.meeting_id)?;
                let observations = p
                    .devices
                    .into_iter()
                    .map(|d| connected(&participant, d))
                    .collect::<Result<_, _>>()?;
                Ok(Inbound::Session { meeting_id, digest, observations })
            }
            _ => Ok(Inbound::Ignored { what }),
        }
    }
}

/// What identifies a Webex event, its fields in sorted order (see [`digest`]).
#[derive(serde::Serialize)]
struct Identity<'a> {
    data: &'a serde_json::Value,
    event: &'a str,
    resource: &'a str,
}

fn read<T: serde::de::DeserializeOwned>(
    what: &str,
    data: serde_json::Value,
) -> Result<T, Malformed> {
    serde_json::from_value(data).map_err(|e| Malformed(format!("{what} data: {e}")))
}

fn connected(participant: &str, d: Device) -> Result<Observation, Malformed> {
    let connection = connection(&d)?;
    Ok(Observation::Connected {
        participant: participant.to_owned(),
        device: id("data.devices[].correlationId", d.correlation_id)?,
        connection,
    })
}

/// A device's times and kind, the same whether a webhook or the record tells them.
fn connection(d: &Device) -> Result<Connection, Malformed> {
    // A `deviceType` of phone or pstn is a telephone; everything else is a computer.
    let telephone = matches!(d.device_type.as_deref(), Some("phone" | "pstn"));
    Ok(Connection {
        joined_at: time("devices[].joinedTime", d.joined_time.as_deref())?,
        left_at: time("devices[].leftTime", d.left_time.as_deref())?,
        computer: !telephone,
        telephone_audio: telephone || d.audio_type.as_deref() == Some("pstn"),
    })
}

/// One participant of `GET /meetingParticipants`, as the connections Webex recorded: one per
/// device, each keyed as its webhooks key it.
pub(super) fn recorded(p: Participant) -> Result<Vec<Recorded>, Malformed> {
    let participant = id("items[].id", p.id)?;
    if p.devices.is_empty() {
        // A participant listed without devices (Webex leaves `devices` out for some kinds of
        // join) still joined and left: its own times are the only record of that connection.
        // Its kind is not said, so it counts as a computer, as an unknown device does.
        if p.joined_time.is_none() && p.left_time.is_none() {
            return Ok(Vec::new());
        }
        let connection = Connection {
            joined_at: time("items[].joinedTime", p.joined_time.as_deref())?,
            left_at: time("items[].leftTime", p.left_time.as_deref())?,
            computer: true,
            telephone_audio: false,
        };
        return Ok(vec![Recorded {
            participant,
            device: String::new(),
            connection,
            kind_known: false,
        }]);
    }
    p.devices
        .into_iter()
        .map(|d| {
            Ok(Recorded {
                participant: participant.clone(),
                connection: connection(&d)?,
                device: id("items[].devices[].correlationId", d.correlation_id)?,
                kind_known: d.device_type.is_some() || d.audio_type.is_some(),
            })
        })
        .collect()
}

/// The signature Webex would send for `body` under `secret` (for senders such as `simulate`).
pub fn sign(secret: &str, body: &[u8]) -> String {
    hex_hmac::<Hmac<Sha1>>(secret.as_bytes(), &[body])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        body: &'a [u8],
        header: &'a dyn Fn(&str) -> Option<String>,
    ) -> SignedRequest<'a> {
        SignedRequest { body, header }
    }

    fn secrets(s: &[&str]) -> Vec<SecretString> {
        s.iter().map(|s| SecretString::from(s.to_string())).collect()
    }

    #[test]
    fn known_answer_signature() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), RFC 2104 test vector.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
    }

    #[test]
    fn any_rotated_secret_verifies_and_others_do_not() {
        let body = br#"{"resource":"meetings"}"#;
        let sig = sign("new", body);
        let header = move |name: &str| (name == SIGNATURE_HEADER).then(|| sig.clone());
        let now = Utc::now();
        assert_eq!(Webex.verify(&request(body, &header), &secrets(&["old", "new"]), now), Ok(()));
        assert_eq!(
            Webex.verify(&request(body, &header), &secrets(&["old"]), now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            Webex.verify(&request(b"{}", &header), &secrets(&["new"]), now),
            Err(SignatureError::Mismatch)
        );
        let none = |_: &str| None;
        assert_eq!(
            Webex.verify(&request(body, &none), &secrets(&["new"]), now),
            Err(SignatureError::Missing("X-Spark-Signature"))
        );
    }

    #[test]
    fn participant_devices_become_connections() {
        let body = br#"{"id":"hook","resource":"meetingParticipants","event":"left","data":{
            "id":"m_I_1_p","meetingId":"m_I_1","devices":[
              {"correlationId":"c1","deviceType":"mac","audioType":"pstn",
               "joinedTime":"2026-11-25T10:00:00.000Z","leftTime":"2026-11-25T10:30:00.000Z"},
              {"correlationId":"c2","deviceType":"pstn","audioType":"pstn",
               "joinedTime":"2026-11-25T10:01:00.000Z","leftTime":"1970-01-01T00:00:00.000Z"}]}}"#;
        let Inbound::Session { meeting_id, observations, .. } = Webex.parse(body).unwrap() else {
            panic!("expected a session delivery")
        };
        assert_eq!(meeting_id, "m_I_1");
        let Observation::Connected { participant, device, connection } = &observations[0] else {
            panic!()
        };
        assert_eq!((participant.as_str(), device.as_str()), ("m_I_1_p", "c1"));
        assert!(connection.computer && connection.telephone_audio);
        let Observation::Connected { connection, .. } = &observations[1] else { panic!() };
        assert!(!connection.computer && connection.telephone_audio);
        assert_eq!(connection.left_at, None, "the epoch means still connected");
    }

    fn listed(json: &str) -> Result<Vec<Recorded>, Malformed> {
        recorded(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn a_listed_participant_is_one_record_per_device_keyed_as_its_webhooks() {
        let rows = listed(
            r#"{"id":"m_I_1_p","meetingId":"m_I_1","state":"end",
            "joinedTime":"2026-11-25T10:00:00Z","leftTime":"2026-11-25T10:30:00Z","devices":[
              {"correlationId":"c1","deviceType":"mac","audioType":"voip",
               "joinedTime":"2026-11-25T10:00:00.000Z","leftTime":"2026-11-25T10:30:00.000Z",
               "durationSecond":1800},
              {"correlationId":"c2","deviceType":"pstn","audioType":"pstn","callType":"callIn",
               "joinedTime":"2026-11-25T10:01:00.000Z","leftTime":"1970-01-01T00:00:00.000Z"}]}"#,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].participant.as_str(), rows[0].device.as_str()), ("m_I_1_p", "c1"));
        assert!(rows[0].kind_known && rows[0].connection.computer);
        assert!(!rows[0].connection.telephone_audio);
        assert_eq!(rows[0].connection.left_at, Some("2026-11-25T10:30:00Z".parse().unwrap()));
        assert!(!rows[1].connection.computer && rows[1].connection.telephone_audio);
        assert_eq!(rows[1].connection.left_at, None, "the epoch: not filled in yet");
    }

    #[test]
    fn a_listed_participant_without_devices_is_one_record_of_its_own_times() {
        let rows = listed(r#"{"id":"p","meetingId":"m_I_1","joinedTime":"2026-11-25T10:00:00Z"}"#)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].device.as_str(), rows[0].kind_known), ("", false));
        assert!(rows[0].connection.joined_at.is_some() && rows[0].connection.left_at.is_none());
        assert_eq!(listed(r#"{"id":"p","meetingId":"m_I_1"}"#).unwrap(), []);
    }

    #[test]
    fn a_listed_participant_with_impossible_times_is_refused_naming_the_field() {
        let refused = listed(
            r#"{"id":"p","meetingId":"m","devices":[{"correlationId":"c",
                "joinedTime":"1999-01-01T00:00:00Z"}]}"#,
        )
        .unwrap_err()
        .0;
        assert!(refused.contains("devices[].joinedTime"), "{refused}");
        let refused = listed(r#"{"id":"","meetingId":"m","joinedTime":"2026-11-25T10:00:00Z"}"#);
        assert_eq!(refused.unwrap_err().0, "items[].id is empty");
    }

    #[test]
    fn redeliveries_share_a_digest_and_other_events_do_not() {
        let a = br#"{"id":"h1","resource":"meetings","event":"started","data":{"id":"m","start":"2026-11-25T10:00:00Z"}}"#;
        let b = br#"{"data":{"start":"2026-11-25T10:00:00Z","id":"m"},"event":"started","resource":"meetings","id":"h2"}"#;
        let c = br#"{"id":"h1","resource":"meetings","event":"ended","data":{"id":"m","start":"2026-11-25T10:00:00Z"}}"#;
        let d = |body: &[u8]| match Webex.parse(body).unwrap() {
            Inbound::Session { digest, .. } => digest,
            other => panic!("{other:?}"),
        };
        assert_eq!(d(a), d(b));
        assert_ne!(d(a), d(c));
    }

    #[test]
    fn text_a_database_cannot_hold_is_refused_naming_the_field() {
        let participant = |id: &str, correlation: &str, meeting: &str| {
            serde_json::json!({"resource":"meetingParticipants","event":"joined","data":{
                "id": id, "meetingId": meeting, "devices":[{"correlationId": correlation,
                "joinedTime":"2026-11-25T10:00:00Z"}]}})
            .to_string()
        };
        let refused = |body: String| Webex.parse(body.as_bytes()).unwrap_err().0;
        assert_eq!(refused(participant("p\0", "c", "m")), "data.id contains a NUL character");
        assert_eq!(
            refused(participant("p", "c\0", "m")),
            "data.devices[].correlationId contains a NUL character"
        );
        assert_eq!(refused(participant("p", "c", "")), "data.meetingId is empty");
        assert!(
            refused(participant(&"p".repeat(3000), "c", "m")).starts_with("data.id is 3000 bytes")
        );
        let started = |id: &str, host: &str| {
            serde_json::json!({"resource":"meetings","event":"started","data":{"id": id, "hostEmail": host}})
                .to_string()
        };
        assert_eq!(refused(started("m\0", "h@example.com")), "data.id contains a NUL character");
        assert_eq!(
            refused(started("m", "h\0@example.com")),
            "data.hostEmail contains a NUL character"
        );
        assert_eq!(refused(started("", "h@example.com")), "data.id is empty");
    }

    #[test]
    fn unknown_events_are_ignored_and_bad_ones_are_malformed() {
        let other = br#"{"resource":"messages","event":"created","data":{}}"#;
        assert!(matches!(Webex.parse(other), Ok(Inbound::Ignored { .. })));
        assert!(Webex.parse(b"{not json").is_err());
        let no_id = br#"{"resource":"meetings","event":"started","data":{}}"#;
        assert!(Webex.parse(no_id).unwrap_err().0.contains("id"));
    }
}
