//! Property tests of the platform adapters' parsers: no body, however malformed, makes
//! `parse` panic. A delivery is parsed only after its signature verified, but a leaked or
//! rotated-out secret, or a bug on the platform's side, must still end in `Malformed` (a 400),
//! never in a crashed handler. Bodies are arbitrary bytes, and JSON shaped like Webex and Zoom
//! envelopes with fields missing, of the wrong type, or holding absurd times.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tollbooth_core::platform::{Inbound, PlatformKind};

const PLATFORMS: [PlatformKind; 2] = [PlatformKind::Webex, PlatformKind::Zoom];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// Parses with both adapters; a panic fails the test. Parsing twice gives the same answer.
fn parse_both(body: &[u8]) -> Result<(), TestCaseError> {
    for platform in PLATFORMS {
        let first = platform.adapter().parse(body);
        prop_assert_eq!(
            &first,
            &platform.adapter().parse(body),
            "{} is not deterministic",
            platform
        );
        if let Ok(Inbound::Session { observations, .. }) = &first {
            let _ = format!("{observations:?}");
        }
    }
    Ok(())
}

/// Any JSON scalar, for a field of the wrong type.
fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
    ]
    .boxed()
}

/// Timestamps as platforms write them, and as an attacker might: the epoch, the years 0 and
/// 9999, chrono's limits and past them, offsets, leap seconds, and garbage.
fn time() -> BoxedStrategy<Value> {
    let well_formed =
        (0u32..=9999, 1u32..=12, 1u32..=28, 0u32..=23, 0u32..60, 0u32..60, 0u32..1000).prop_map(
            |(y, mo, d, h, mi, s, ms)| {
                Value::from(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"))
            },
        );
    prop_oneof![
        12 => well_formed,
        1 => Just(Value::from("1970-01-01T00:00:00.000Z")),
        1 => Just(Value::from("0000-01-01T00:00:00Z")),
        1 => Just(Value::from("9999-12-31T23:59:59.999Z")),
        1 => Just(Value::from("+262143-12-31T23:59:59Z")),
        1 => Just(Value::from("-262144-01-01T00:00:00Z")),
        1 => Just(Value::from("2026-11-25T10:00:00+14:00")),
        1 => Just(Value::from("2026-11-25T10:00:00-23:59")),
        1 => Just(Value::from("2026-12-31T23:59:60Z")),
        1 => "[0-9T:Z.+-]{0,30}".prop_map(Value::from),
        1 => scalar(),
    ]
    .boxed()
}

/// Short identifiers, sometimes empty or odd (`field` adds the wrong types).
fn id() -> BoxedStrategy<Value> {
    prop_oneof![
        12 => "[a-zA-Z0-9_=+/]{1,24}".prop_map(Value::from),
        1 => Just(Value::from("")),
        1 => ".{0,40}".prop_map(Value::from),
    ]
    .boxed()
}

/// A field that is usually there with a plausible value, sometimes missing, sometimes of
/// another type.
fn field(value: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![14 => value.prop_map(Some), 1 => Just(None), 1 => scalar().prop_map(Some)].boxed()
}

fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    let map: Map<String, Value> =
        fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))).collect();
    Value::Object(map)
}

fn one_of(words: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![14 => proptest::sample::select(words).prop_map(Value::from), 1 => scalar()].boxed()
}

fn webex_device() -> BoxedStrategy<Value> {
    (
        field(id()),
        field(one_of(&["mac", "windows", "phone", "pstn", "sip", "tp"])),
        field(one_of(&["voip", "pstn", "none"])),
        field(time()),
        field(time()),
    )
        .prop_map(|(correlation, device, audio, joined, left)| {
            object(vec![
                ("correlationId", correlation),
                ("deviceType", device),
                ("audioType", audio),
                ("joinedTime", joined),
                ("leftTime", left),
            ])
        })
        .boxed()
}

fn webex_envelope() -> BoxedStrategy<Value> {
    let data = (
        field(id()),
        field(id()),
        field(time()),
        field(time()),
        field(id()),
        field(prop_oneof![
            4 => proptest::collection::vec(webex_device(), 0..4).prop_map(Value::from),
            1 => scalar(),
        ]),
    )
        .prop_map(|(id, meeting_id, start, end, host, devices)| {
            object(vec![
                ("id", id),
                ("meetingId", meeting_id),
                ("start", start),
                ("end", end),
                ("hostEmail", host),
                ("devices", devices),
            ])
        });
    (
        field(id()),
        // Mostly pairs that the parser reads on, so that the data is read too.
        prop_oneof![
            6 => proptest::sample::select(&[
                ("meetings", "started"),
                ("meetings", "ended"),
                ("meetingParticipants", "joined"),
                ("meetingParticipants", "left"),
            ][..])
            .prop_map(|(r, e)| (Some(Value::from(r)), Some(Value::from(e)))),
            1 => (
                field(one_of(&["meetings", "meetingParticipants", "messages", "rooms"])),
                field(one_of(&["started", "ended", "joined", "left", "created", "deleted"])),
            ),
        ],
        field(prop_oneof![8 => data, 1 => scalar()]),
    )
        .prop_map(|(id, (resource, event), data)| {
            object(vec![("id", id), ("resource", resource), ("event", event), ("data", data)])
        })
        .boxed()
}

fn zoom_participant() -> BoxedStrategy<Value> {
    (
        field(id()),
        field(id()),
        field(id()),
        field(id()),
        field(time()),
        field(time()),
        field(prop_oneof![Just(Value::from("+4712345678")), scalar()]),
    )
        .prop_map(|(uuid, id, user_id, name, join, leave, phone)| {
            object(vec![
                ("participant_uuid", uuid),
                ("id", id),
                ("user_id", user_id),
                ("user_name", name),
                ("join_time", join),
                ("leave_time", leave),
                ("phone_number", phone),
            ])
        })
        .boxed()
}

fn zoom_envelope() -> BoxedStrategy<Value> {
    let object_ = (
        field(id()),
        field(prop_oneof![any::<u64>().prop_map(Value::from), id()]),
        field(time()),
        field(time()),
        field(id()),
        field(zoom_participant()),
    )
        .prop_map(|(uuid, number, start, end, host, participant)| {
            object(vec![
                ("uuid", uuid),
                ("id", number),
                ("start_time", start),
                ("end_time", end),
                ("host_email", host),
                ("participant", participant),
            ])
        });
    let payload = (field(id()), field(id()), field(prop_oneof![8 => object_, 1 => scalar()]))
        .prop_map(|(plain_token, account, object_)| {
            object(vec![("plainToken", plain_token), ("account_id", account), ("object", object_)])
        });
    (
        field(one_of(&[
            "meeting.started",
            "meeting.ended",
            "meeting.participant_joined",
            "meeting.participant_left",
            "webinar.started",
            "webinar.ended",
            "webinar.participant_joined",
            "webinar.participant_left",
            "endpoint.url_validation",
            "recording.completed",
            "meeting.",
            ".",
        ])),
        field(any::<i64>().prop_map(Value::from)),
        field(prop_oneof![8 => payload, 1 => scalar()]),
    )
        .prop_map(|(event, ts, payload)| {
            object(vec![("event", event), ("event_ts", ts), ("payload", payload)])
        })
        .boxed()
}

fn envelope() -> impl Strategy<Value = Value> {
    prop_oneof![webex_envelope(), zoom_envelope()]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_make_a_parser_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        parse_both(&body)?;
    }
}

proptest! {
    // Cheap cases, and only about one in four gets past every field check to the times.
    #![proptest_config(config(1024))]

    #[test]
    fn envelopes_with_missing_mistyped_or_absurd_fields_never_make_a_parser_panic(
        body in envelope()
    ) {
        parse_both(body.to_string().as_bytes())?;
    }

    #[test]
    fn truncated_or_corrupted_envelopes_never_make_a_parser_panic(
        body in envelope(),
        cut in any::<proptest::sample::Index>(),
        flip in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let bytes = body.to_string().into_bytes();
        parse_both(&bytes[..cut.index(bytes.len() + 1)])?;
        let mut corrupted = bytes.clone();
        let at = flip.index(corrupted.len());
        corrupted[at] = byte;
        parse_both(&corrupted)?;
    }
}

#[test]
fn deeply_nested_json_is_refused_not_a_stack_overflow() {
    // serde_json stops at 128 levels; a parser that walked the raw value itself might not.
    let nested = |depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    for platform in PLATFORMS {
        assert!(platform.adapter().parse(nested(100_000).as_bytes()).is_err(), "{platform}");
    }
    let webex = format!(r#"{{"resource":"meetings","event":"started","data":{}}}"#, nested(10_000));
    assert!(PlatformKind::Webex.adapter().parse(webex.as_bytes()).is_err());
    let zoom =
        format!(r#"{{"event":"meeting.started","payload":{{"object":{}}}}}"#, nested(10_000));
    assert!(PlatformKind::Zoom.adapter().parse(zoom.as_bytes()).is_err());
}
