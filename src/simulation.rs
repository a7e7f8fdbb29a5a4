//! A realistic session as a platform would report it: the deliveries in the order they
//! happened, what the platform itself recorded ([`Record`]), and the usage they must add up
//! to, worked out from the generated timeline itself (not by the metering code it is meant to
//! check). `tollbooth simulate` sends these and serves the records ([`records`]); the tests
//! use them too.

pub mod records;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::seq::index;
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
    /// The usage webhooks alone add up to.
    pub expected: Usage,
    /// The usage once settled against [`Simulated::record`]: every join counted on its own,
    /// since both platforms record one row per join (Zoom's webhooks stretch a rejoin into
    /// one connection, its record does not).
    pub expected_recorded: Usage,
    /// What the platform recorded: every connection, whatever deliveries are lost.
    pub record: Record,
    /// Per delivery, whether [`Simulated::lose`] may drop it.
    losable: Vec<bool>,
}

/// A session as the platform's REST API reports it once it ended, in the platform's shapes.
#[derive(Clone, Debug)]
pub struct Record {
    /// Webex `GET /meetings/{id}` (`state: ended`); Zoom `GET /past_meetings/{uuid}`.
    pub meeting: Value,
    /// Webex `GET /meetingParticipants` items (one per participant, one device per join);
    /// Zoom participant report rows (one per join segment).
    pub participants: Vec<Value>,
}

impl Simulated {
    /// Drops `share` of the deliveries (rounded down, so one is always left), picked by `rng`
    /// among those the server can do without; returns how many were dropped.
    pub fn lose(&mut self, share: f64, rng: &mut StdRng) -> usize {
        let losable: Vec<usize> = (0..self.deliveries.len()).filter(|&i| self.losable[i]).collect();
        let count = ((self.deliveries.len() as f64 * share).floor() as usize).min(losable.len());
        let mut dropped = vec![false; self.deliveries.len()];
        for i in index::sample(rng, losable.len(), count) {
            dropped[losable[i]] = true;
        }
        let deliveries = std::mem::take(&mut self.deliveries).into_iter();
        (self.deliveries, self.losable) = deliveries
            .zip(std::mem::take(&mut self.losable))
            .zip(dropped)
            .filter(|(_, dropped)| !dropped)
            .map(|(kept, _)| kept)
            .unzip();
        count
    }
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
    let expected = expected_usage(&stints, end, plan.platform == PlatformKind::Zoom);
    let expected_recorded = expected_usage(&stints, end, false);
    let (events, record) = match plan.platform {
        PlatformKind::Webex => (
            webex_events(&meeting_id, &host_email, &stints, start, end),
            webex_record(&meeting_id, &host_email, &stints, start, end),
        ),
        PlatformKind::Zoom => (
            zoom_events(&meeting_id, &host_email, &stints, start, end),
            zoom_record(&meeting_id, &host_email, &stints, start, end),
        ),
    };
    let mut timed: Vec<(usize, Event)> = events.into_iter().enumerate().collect();
    timed.sort_by_key(|(i, e)| (e.at, *i));
    let (deliveries, losable) =
        timed.into_iter().map(|(_, e)| (e.body.to_string().into_bytes(), e.losable)).unzip();
    Simulated { meeting_id, host_email, deliveries, expected, expected_recorded, record, losable }
}

/// One delivery, when it happened, and whether the server can do without it.
///
/// Joins and leaves can go: the platform's record has every connection, keyed as webhooks key
/// them. So can `started` (the session's window then opens at the earliest join, which is no
/// later than any connection) and `ended` (gap fill looks a quiet session up on the platform
/// and ends it at the platform's end time). On Zoom a participant's first join stays: Zoom's
/// rows say nothing of the device (a telephone with no webhook left would count as a
/// computer) and are matched to webhooks by overlapping times, which only the first join
/// keeps from turning inside out (a second join heard with only the first leave).
struct Event {
    at: DateTime<Utc>,
    losable: bool,
    body: Value,
}

impl Event {
    fn new(at: DateTime<Utc>, body: Value) -> Event {
        Event { at, losable: true, body }
    }
}

/// Each join on its own (Webex webhooks, and both platforms' records), or `by_participant`
/// (Zoom webhooks key a participant by its uuid, so a rejoin stretches one connection from
/// the first join to the last leave).
fn expected_usage(stints: &[Stint], end: DateTime<Utc>, by_participant: bool) -> Usage {
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
        let same_participant = if by_participant {
            spans.iter_mut().find(|span| span.participant == s.participant)
        } else {
            None
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
) -> Vec<Event> {
    let envelope = |resource: &str, event: &str, data: Value| {
        json!({
            "id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svdG9sbGJvb3Ro",
            "name": format!("tollbooth: {resource} {event}"),
            "resource": resource, "event": event, "orgId": "T1JHL3RvbGxib290aA",
            "createdBy": "UEVPUExFL2FkbWlu", "appId": "QVBQTElDQVRJT04vdG9sbGJvb3Ro",
            "ownedBy": "org", "status": "active", "actorId": "UEVPUExFL2FkbWlu", "data": data,
        })
    };
    let meeting = |state: &str| webex_meeting(id, host, state, start, end);
    let mut events =
        vec![Event::new(start, envelope("meetings", "started", meeting("inProgress")))];
    for (n, s) in stints.iter().enumerate() {
        let data = |state: &str, left: Option<DateTime<Utc>>| {
            webex_participant(id, host, s.participant, state, vec![webex_device(n, s, left)])
        };
        events.push(Event::new(
            s.join,
            envelope("meetingParticipants", "joined", data("joined", None)),
        ));
        if let Some(left) = s.leave {
            events.push(Event::new(
                left,
                envelope("meetingParticipants", "left", data("end", Some(left))),
            ));
        }
    }
    events.push(Event::new(end, envelope("meetings", "ended", meeting("ended"))));
    events
}

/// The meeting instance as Webex describes it, in deliveries and in `GET /meetings/{id}`.
fn webex_meeting(
    id: &str,
    host: &str,
    state: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Value {
    json!({
        "id": id, "meetingSeriesId": id.split('_').next().unwrap_or(id), "meetingType": "meeting",
        "state": state, "title": "Training", "start": ts(start), "end": ts(end),
        "hostEmail": host, "siteUrl": "example.webex.com",
    })
}

/// Participant `participant` as Webex describes it, in deliveries and in
/// `GET /meetingParticipants`.
fn webex_participant(
    id: &str,
    host: &str,
    participant: usize,
    state: &str,
    devices: Vec<Value>,
) -> Value {
    json!({
        "id": format!("{id}_{participant:08x}-0000-4000-8000-{participant:012x}"),
        "orgId": "T1JHL3RvbGxib290aA", "host": participant == 0, "coHost": false,
        "email": format!("p{participant}@example.com"),
        "displayName": format!("Participant {participant}"), "state": state,
        "meetingId": id, "hostEmail": host, "siteUrl": "example.webex.com", "devices": devices,
    })
}

/// The device of the `n`th stint, one per join: its `correlationId` is what webhooks and the
/// record both key the connection by.
fn webex_device(n: usize, s: &Stint, left: Option<DateTime<Utc>>) -> Value {
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
}

/// Every participant with every device, each closed (Webex fills `leftTime` in once the
/// meeting ended; one still connected at the end left then).
fn webex_record(
    id: &str,
    host: &str,
    stints: &[Stint],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Record {
    let mut by_participant: BTreeMap<usize, Vec<(usize, &Stint)>> = BTreeMap::new();
    for (n, s) in stints.iter().enumerate() {
        by_participant.entry(s.participant).or_default().push((n, s));
    }
    let participants = by_participant
        .into_iter()
        .map(|(participant, joins)| {
            let devices = joins
                .iter()
                .map(|(n, s)| {
                    let left = s.leave.unwrap_or(end);
                    let mut d = webex_device(*n, s, Some(left));
                    d["durationSecond"] = json!((left - s.join).num_seconds());
                    d
                })
                .collect();
            let mut p = webex_participant(id, host, participant, "end", devices);
            let joined = joins.iter().map(|(_, s)| s.join).min().unwrap_or(start);
            let left = joins.iter().map(|(_, s)| s.leave.unwrap_or(end)).max().unwrap_or(end);
            p["joinedTime"] = json!(ts(joined));
            p["leftTime"] = json!(ts(left));
            p["invitee"] = json!(false);
            p
        })
        .collect();
    Record { meeting: webex_meeting(id, host, "ended", start, end), participants }
}

/// The meeting number and host id of every generated Zoom meeting.
const ZOOM_MEETING_NUMBER: u64 = 84_207_762_412;
const ZOOM_HOST_ID: &str = "z8yCxjabcdEFGHfp8uQ";

/// How Zoom names a generated participant, in webhooks and in its reports alike.
struct ZoomParticipant {
    id: String,
    user_id: String,
    name: String,
    /// What both key the participant by.
    uuid: String,
    email: String,
}

impl ZoomParticipant {
    fn of(s: &Stint) -> ZoomParticipant {
        let p = s.participant;
        ZoomParticipant {
            id: format!("p{p:06}"),
            user_id: format!("{}", 16_778_240 + p),
            name: format!("Participant {p}"),
            uuid: format!("{p:08X}-0000-4000-8000-{p:012X}"),
            email: if s.phone { String::new() } else { format!("p{p}@example.com") },
        }
    }
}

fn zoom_events(
    uuid: &str,
    host: &str,
    stints: &[Stint],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<Event> {
    let object = |extra: Value| {
        let mut o = json!({
            "id": ZOOM_MEETING_NUMBER.to_string(), "uuid": uuid, "host_id": ZOOM_HOST_ID,
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
    let mut events = vec![Event::new(start, envelope("meeting.started", start, object(json!({}))))];
    let mut joined_before = BTreeSet::new();
    for s in stints {
        let who = ZoomParticipant::of(s);
        let mut participant = json!({
            "user_id": who.user_id, "user_name": who.name, "id": who.id,
            "participant_uuid": who.uuid, "email": who.email,
        });
        if s.phone {
            participant["phone_number"] = json!(format!("+4722{:06}", s.participant));
        }
        let mut joined = participant.clone();
        joined["join_time"] = json!(ts(s.join));
        events.push(Event {
            at: s.join,
            losable: !joined_before.insert(s.participant),
            body: envelope(
                "meeting.participant_joined",
                s.join,
                object(json!({ "participant": joined })),
            ),
        });
        if let Some(left) = s.leave {
            let mut gone = participant.clone();
            gone["leave_time"] = json!(ts(left));
            gone["leave_reason"] = json!("left the meeting");
            events.push(Event::new(
                left,
                envelope("meeting.participant_left", left, object(json!({ "participant": gone }))),
            ));
        }
    }
    events.push(Event::new(
        end,
        envelope("meeting.ended", end, object(json!({ "end_time": ts(end) }))),
    ));
    events
}

/// The past meeting, and one report row per join segment (one still connected at the end
/// left then), keyed by the same `participant_uuid` as webhooks.
fn zoom_record(
    uuid: &str,
    host: &str,
    stints: &[Stint],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Record {
    let people: BTreeSet<usize> = stints.iter().map(|s| s.participant).collect();
    let meeting = json!({
        "uuid": uuid, "id": ZOOM_MEETING_NUMBER, "host_id": ZOOM_HOST_ID, "type": 2,
        "topic": "Training", "user_name": "Participant 0", "user_email": host,
        "start_time": ts(start), "end_time": ts(end), "duration": (end - start).num_minutes(),
        "participants_count": people.len(),
    });
    let participants = stints
        .iter()
        .map(|s| {
            let who = ZoomParticipant::of(s);
            let left = s.leave.unwrap_or(end);
            json!({
                "id": who.id, "user_id": who.user_id, "name": who.name,
                "user_email": who.email, "participant_uuid": who.uuid,
                "join_time": ts(s.join), "leave_time": ts(left),
                "duration": (left - s.join).num_seconds(), "failover": false,
                "status": "in_meeting", "registrant_id": "", "customer_key": "",
            })
        })
        .collect();
    Record { meeting, participants }
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

    #[test]
    fn the_record_has_every_join_closed_and_counted_once() {
        let webex = simulate(&plan(PlatformKind::Webex));
        let devices: Vec<&Value> = webex
            .record
            .participants
            .iter()
            .flat_map(|p| p["devices"].as_array().unwrap())
            .collect();
        assert_eq!(devices.len() as u64, webex.expected_recorded.connections);
        assert!(devices.iter().all(|d| d["leftTime"].is_string()));
        assert_eq!(webex.record.meeting["state"], "ended");
        let zoom = simulate(&plan(PlatformKind::Zoom));
        assert_eq!(zoom.record.participants.len() as u64, zoom.expected_recorded.connections);
        assert!(zoom.record.participants.iter().all(|r| r["leave_time"].is_string()));
        // Zoom's webhooks stretch a rejoin into one connection; its record lists each join.
        assert!(zoom.expected.connections < zoom.expected_recorded.connections);
    }

    #[test]
    fn losing_drops_the_share_rounded_down_and_the_same_each_time_with_the_same_seed() {
        let lost = |seed: u64| {
            let mut s = simulate(&plan(PlatformKind::Webex));
            let all = s.deliveries.len();
            let count = s.lose(0.3, &mut StdRng::seed_from_u64(seed));
            assert_eq!(count, all * 3 / 10);
            assert_eq!(s.deliveries.len(), all - count);
            s.deliveries
        };
        assert_eq!(lost(1), lost(1));
        assert_ne!(lost(1), lost(2));
    }

    #[test]
    fn on_zoom_every_participant_keeps_its_first_join() {
        let mut s = simulate(&plan(PlatformKind::Zoom));
        let everyone = s.record.participants.iter().map(|r| r["participant_uuid"].clone());
        let everyone: BTreeSet<String> = everyone.map(|u| u.as_str().unwrap().to_owned()).collect();
        s.lose(0.9, &mut StdRng::seed_from_u64(3));
        let joined: BTreeSet<String> = s
            .deliveries
            .iter()
            .map(|d| serde_json::from_slice::<Value>(d).unwrap())
            .filter(|d| d["event"] == "meeting.participant_joined")
            .map(|d| {
                d["payload"]["object"]["participant"]["participant_uuid"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(joined, everyone);
    }
}
