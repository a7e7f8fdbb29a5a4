//! A realistic session as a platform would report it: the deliveries in the order they
//! happened, and the usage they must add up to, worked out from the generated timeline itself
//! (not by the metering code it is meant to check). `tollbooth simulate` sends these; the
//! tests use them too.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use tollbooth_core::metering::Usage;
use tollbooth_core::platform::PlatformKind;

/// What to play.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub platform: PlatformKind,
    /// Computers besides the host's.
    pub computers: u32,
    pub phones: u32,
    pub minutes: u32,
    pub started_at: DateTime<Utc>,
    pub seed: u64,
}

/// One generated session.
#[derive(Clone, Debug)]
pub struct Simulated {
    pub meeting_id: String,
    pub host_email: String,
    /// Delivery bodies in the order the events happened, unsigned.
    pub deliveries: Vec<Vec<u8>>,
    pub expected: Usage,
}

/// One device's time in the session, as generated.
struct Stint {
    participant: usize,
    join: DateTime<Utc>,
    leave: Option<DateTime<Utc>>,
    phone: bool,
    telephone_audio: bool,
}

pub fn simulate(plan: &Plan) -> Simulated {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    // Whole seconds, as the platforms report them.
    let start = DateTime::from_timestamp(plan.started_at.timestamp(), 0).unwrap_or(plan.started_at);
    let length = Duration::minutes(i64::from(plan.minutes.max(1)));
    let end = start + length;
    let seconds = length.num_seconds();
    // Joins spread over the first minutes (at most a quarter of the session).
    let spread = (seconds / 4).clamp(1, 300);
    let mut stints = Vec::new();
    // The host: first in, never leaves (the end closes the connection).
    stints.push(Stint {
        participant: 0,
        join: start + Duration::seconds(rng.random_range(0..30.min(seconds))),
        leave: None,
        phone: false,
        telephone_audio: false,
    });
    let people = 1 + plan.computers as usize + plan.phones as usize;
    for participant in 1..people {
        let phone = participant > plan.computers as usize;
        // Only Webex reports a computer's audio going over the telephone.
        let telephone_audio =
            phone || (plan.platform == PlatformKind::Webex && rng.random_ratio(1, 8));
        let join = start + Duration::seconds(rng.random_range(0..spread));
        let leave_at = end - Duration::seconds(rng.random_range(0..spread));
        if !phone && rng.random_ratio(1, 5) && leave_at - join > Duration::seconds(120) {
            // Drops out for a while and rejoins.
            let gap_start = join + Duration::seconds((leave_at - join).num_seconds() / 3);
            let gap_end = gap_start + Duration::seconds(rng.random_range(10..60));
            stints.push(Stint {
                participant,
                join,
                leave: Some(gap_start),
                phone,
                telephone_audio,
            });
            stints.push(Stint {
                participant,
                join: gap_end,
                leave: Some(leave_at),
                phone,
                telephone_audio,
            });
        } else {
            // One in ten is still connected when the meeting ends.
            let leave = (!rng.random_ratio(1, 10)).then_some(leave_at);
            stints.push(Stint { participant, join, leave, phone, telephone_audio });
        }
    }
    let meeting_id = match plan.platform {
        PlatformKind::Webex => format!(
            "{:032x}_I_{}",
            rng.random::<u128>(),
            rng.random_range(10u64.pow(17)..10u64.pow(18))
        ),
        PlatformKind::Zoom => format!("{:016x}{:08x}==", rng.random::<u64>(), rng.random::<u32>()),
    };
    let host_email = format!("host{}@example.com", rng.random_range(1..10_000));
    let expected = expected_usage(plan.platform, &stints, end);
    let events = match plan.platform {
        PlatformKind::Webex => webex_events(&meeting_id, &host_email, &stints, start, end),
        PlatformKind::Zoom => zoom_events(&meeting_id, &host_email, &stints, start, end),
    };
    let mut timed: Vec<(DateTime<Utc>, usize, Value)> =
        events.into_iter().enumerate().map(|(i, (at, body))| (at, i, body)).collect();
    timed.sort_by_key(|(at, i, _)| (*at, *i));
    let deliveries = timed.into_iter().map(|(_, _, body)| body.to_string().into_bytes()).collect();
    Simulated { meeting_id, host_email, deliveries, expected }
}

/// Webex counts each device join on its own; Zoom keys a participant by its uuid, so a rejoin
/// stretches one connection from the first join to the last leave.
fn expected_usage(platform: PlatformKind, stints: &[Stint], end: DateTime<Utc>) -> Usage {
    struct Span {
        participant: usize,
        join: DateTime<Utc>,
        leave: DateTime<Utc>,
        computer: bool,
        telephone_audio: bool,
    }
    let mut spans: Vec<Span> = Vec::new();
    for s in stints {
        let leave = s.leave.unwrap_or(end);
        let same_participant = match platform {
            PlatformKind::Zoom => spans.iter_mut().find(|span| span.participant == s.participant),
            PlatformKind::Webex => None,
        };
        match same_participant {
            Some(span) => {
                span.join = span.join.min(s.join);
                span.leave = span.leave.max(leave);
            }
            None => spans.push(Span {
                participant: s.participant,
                join: s.join,
                leave,
                computer: !s.phone,
                telephone_audio: s.telephone_audio,
            }),
        }
    }
    let mut person = 0;
    let mut teleconference = 0;
    for span in &spans {
        let seconds = (span.leave - span.join).num_seconds() as u64;
        if span.computer {
            person += seconds;
        }
        if span.telephone_audio {
            teleconference += seconds;
        }
    }
    Usage {
        person_seconds: person,
        person_minutes: person.div_ceil(60),
        teleconference_seconds: teleconference,
        teleconference_minutes: teleconference.div_ceil(60),
        connections: spans.len() as u64,
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn webex_events(
    id: &str,
    host: &str,
    stints: &[Stint],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Value)> {
    let envelope = |resource: &str, event: &str, data: Value| {
        json!({
            "id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svdG9sbGJvb3Ro",
            "name": format!("tollbooth: {resource} {event}"),
            "resource": resource, "event": event, "orgId": "T1JHL3RvbGxib290aA",
            "createdBy": "UEVPUExFL2FkbWlu", "appId": "QVBQTElDQVRJT04vdG9sbGJvb3Ro",
            "ownedBy": "org", "status": "active", "actorId": "UEVPUExFL2FkbWlu", "data": data,
        })
    };
    let meeting = |state: &str| {
        json!({
            "id": id, "meetingSeriesId": id.split('_').next().unwrap_or(id), "meetingType": "meeting",
            "state": state, "title": "Training", "start": ts(start), "end": ts(end),
            "hostEmail": host, "siteUrl": "example.webex.com",
        })
    };
    let mut events = vec![(start, envelope("meetings", "started", meeting("inProgress")))];
    for (n, s) in stints.iter().enumerate() {
        let participant =
            format!("{id}_{:08x}-0000-4000-8000-{:012x}", s.participant, s.participant);
        let device = |left: Option<DateTime<Utc>>| {
            let mut d = json!({
                "correlationId": format!("{:08x}-c0de-4000-8000-{:012x}", n, s.participant),
                "deviceType": if s.phone { "pstn" } else { "mac" },
                "audioType": if s.telephone_audio { "pstn" } else { "voip" },
                "joinedTime": ts(s.join),
            });
            if let Some(left) = left {
                d["leftTime"] = json!(ts(left));
            }
            d
        };
        let data = |state: &str, left: Option<DateTime<Utc>>| {
            json!({
                "id": participant, "orgId": "T1JHL3RvbGxib290aA", "host": s.participant == 0,
                "coHost": false, "email": format!("p{}@example.com", s.participant),
                "displayName": format!("Participant {}", s.participant), "state": state,
                "meetingId": id, "hostEmail": host, "siteUrl": "example.webex.com",
                "devices": [device(left)],
            })
        };
        events.push((s.join, envelope("meetingParticipants", "joined", data("joined", None))));
        if let Some(left) = s.leave {
            events.push((left, envelope("meetingParticipants", "left", data("end", Some(left)))));
        }
    }
    events.push((end, envelope("meetings", "ended", meeting("ended"))));
    events
}

fn zoom_events(
    uuid: &str,
    host: &str,
    stints: &[Stint],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Value)> {
    let object = |extra: Value| {
        let mut o = json!({
            "id": "84207762412", "uuid": uuid, "host_id": "z8yCxjabcdEFGHfp8uQ",
            "topic": "Training", "type": 2, "start_time": ts(start), "timezone": "UTC",
            "duration": (end - start).num_minutes(), "host_email": host,
        });
        if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
            o.extend(extra);
        }
        o
    };
    let envelope = |event: &str, at: DateTime<Utc>, object: Value| {
        json!({ "event": event, "event_ts": at.timestamp_millis(),
                "payload": { "account_id": "AAAAAAAAAAAAAAAAAAAAAA", "object": object } })
    };
    let mut events = vec![(start, envelope("meeting.started", start, object(json!({}))))];
    for s in stints {
        let mut participant = json!({
            "user_id": format!("{}", 16_778_240 + s.participant), "user_name": format!("Participant {}", s.participant),
            "id": format!("p{:06}", s.participant), "participant_uuid": format!("{:08X}-0000-4000-8000-{:012X}", s.participant, s.participant),
            "email": if s.phone { String::new() } else { format!("p{}@example.com", s.participant) },
        });
        if s.phone {
            participant["phone_number"] = json!(format!("+4722{:06}", s.participant));
        }
        let mut joined = participant.clone();
        joined["join_time"] = json!(ts(s.join));
        events.push((
            s.join,
            envelope(
                "meeting.participant_joined",
                s.join,
                object(json!({ "participant": joined })),
            ),
        ));
        if let Some(left) = s.leave {
            let mut gone = participant.clone();
            gone["leave_time"] = json!(ts(left));
            gone["leave_reason"] = json!("left the meeting");
            events.push((
                left,
                envelope("meeting.participant_left", left, object(json!({ "participant": gone }))),
            ));
        }
    }
    events.push((end, envelope("meeting.ended", end, object(json!({ "end_time": ts(end) })))));
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollbooth_core::platform::{Inbound, Observation};

    fn plan(platform: PlatformKind) -> Plan {
        Plan {
            platform,
            computers: 12,
            phones: 3,
            minutes: 45,
            started_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            seed: 7,
        }
    }

    #[test]
    fn every_delivery_parses_for_the_same_session() {
        for platform in [PlatformKind::Webex, PlatformKind::Zoom] {
            let s = simulate(&plan(platform));
            for body in &s.deliveries {
                match platform.adapter().parse(body).unwrap() {
                    Inbound::Session { meeting_id, observations, .. } => {
                        assert_eq!(meeting_id, s.meeting_id);
                        assert!(!observations.is_empty());
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert!(s.expected.person_minutes > 0 && s.expected.teleconference_minutes > 0);
        }
    }

    #[test]
    fn same_seed_same_session() {
        let a = simulate(&plan(PlatformKind::Webex));
        let b = simulate(&plan(PlatformKind::Webex));
        assert_eq!(a.deliveries, b.deliveries);
        assert_eq!(a.expected, b.expected);
    }

    #[test]
    fn starts_and_ends_frame_the_deliveries() {
        let s = simulate(&plan(PlatformKind::Zoom));
        let first = PlatformKind::Zoom.adapter().parse(&s.deliveries[0]).unwrap();
        let last = PlatformKind::Zoom.adapter().parse(s.deliveries.last().unwrap()).unwrap();
        assert!(
            matches!(first, Inbound::Session { ref observations, .. } if matches!(observations[0], Observation::Started { .. }))
        );
        assert!(
            matches!(last, Inbound::Session { ref observations, .. } if matches!(observations[0], Observation::Ended { .. }))
        );
    }
}
