//! Metering: connections to person-minutes and teleconference minutes (DESIGN.md's rules).
//!
//! Everything here is pure. A session's record and each of its connections are *merged* from
//! whatever the platform reports, in any order and any number of times, so that duplicates
//! change nothing and a later event may complete an earlier one.

pub mod service;
pub mod session;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// One device of one participant, as far as the platform has told us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Connection {
    pub joined_at: Option<DateTime<Utc>>,
    /// `None` while still connected (the platforms' absent or epoch leave time).
    pub left_at: Option<DateTime<Utc>>,
    /// A computer (anything that is not a telephone): counts in person time.
    pub computer: bool,
    /// Telephone audio: counts in teleconference time. A computer may have both.
    pub telephone_audio: bool,
}

impl Connection {
    /// Keeps the earliest join and the latest leave; a device seen once with telephone audio
    /// keeps it.
    pub fn merge(&mut self, other: &Connection) {
        self.joined_at = earliest(self.joined_at, other.joined_at);
        self.left_at = latest(self.left_at, other.left_at);
        self.computer |= other.computer;
        self.telephone_audio |= other.telephone_audio;
    }
}

/// When a session ran, as far as the platform has told us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SessionTimes {
    /// From the `started` event.
    pub started_at: Option<DateTime<Utc>>,
    /// From the `ended` event.
    pub ended_at: Option<DateTime<Utc>>,
    /// When we received an `ended` event, the fallback for a missing end time.
    pub ended_received_at: Option<DateTime<Utc>>,
}

impl SessionTimes {
    pub fn started(&mut self, at: Option<DateTime<Utc>>) {
        self.started_at = earliest(self.started_at, at);
    }

    /// Zoom reports `ended` each time the last person leaves a meeting that can be re-joined:
    /// the latest end wins.
    pub fn ended(&mut self, at: Option<DateTime<Utc>>, received_at: DateTime<Utc>) {
        self.ended_at = latest(self.ended_at, at);
        self.ended_received_at = latest(self.ended_received_at, Some(received_at));
    }

    pub fn has_ended(&self) -> bool {
        self.ended_received_at.is_some()
    }
}

/// The window [start, end] that connections are clipped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// Start: the `started` event, else the earliest join. End: the `ended` event, else when
    /// it was received; for a session still running, `now`.
    pub fn of<'a>(
        times: &SessionTimes,
        connections: impl IntoIterator<Item = &'a Connection>,
        now: DateTime<Utc>,
    ) -> Window {
        let start =
            times.started_at.or_else(|| connections.into_iter().filter_map(|c| c.joined_at).min());
        let end = times.ended_at.or(times.ended_received_at).unwrap_or(now);
        Window { start, end }
    }
}

/// Connected time of one session, per category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Usage {
    pub person_seconds: u64,
    pub person_minutes: u64,
    pub teleconference_seconds: u64,
    pub teleconference_minutes: u64,
    pub connections: u64,
}

/// Why a session's connected time cannot be summed.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum MeteringError {
    /// Only crafted times get here: u64 milliseconds hold 584 million years, so it takes tens
    /// of thousands of connections spanning millennia.
    #[error("connected time of this session overflows")]
    Overflow,
}

/// Sums the connections' clipped intervals. A connection whose join we never heard of counts
/// from the window's start; one still open counts to the window's end.
pub fn usage<'a>(
    window: Window,
    connections: impl IntoIterator<Item = &'a Connection>,
) -> Result<Usage, MeteringError> {
    let mut person_ms: u64 = 0;
    let mut teleconference_ms: u64 = 0;
    let mut count: u64 = 0;
    for c in connections {
        count += 1;
        let Some(from) = c.joined_at.into_iter().chain(window.start).max() else { continue };
        let to = c.left_at.map_or(window.end, |left| left.min(window.end));
        // A connection that left before it counts (or before the window) adds nothing.
        let ms = u64::try_from((to - from).num_milliseconds()).unwrap_or(0);
        if c.computer {
            person_ms = person_ms.checked_add(ms).ok_or(MeteringError::Overflow)?;
        }
        if c.telephone_audio {
            teleconference_ms = teleconference_ms.checked_add(ms).ok_or(MeteringError::Overflow)?;
        }
    }
    let (person_seconds, person_minutes) = rounded_up(person_ms);
    let (teleconference_seconds, teleconference_minutes) = rounded_up(teleconference_ms);
    Ok(Usage {
        person_seconds,
        person_minutes,
        teleconference_seconds,
        teleconference_minutes,
        connections: count,
    })
}

/// The earliest time a platform report may carry: neither Webex nor Zoom ran before it.
pub const EARLIEST_PLAUSIBLE: DateTime<Utc> = match DateTime::from_timestamp(946_684_800, 0) {
    Some(t) => t, // 2000-01-01T00:00:00Z
    None => panic!("2000-01-01 is a valid time"),
};

/// The latest time a platform report may carry; anything later is crafted or corrupt.
pub const LATEST_PLAUSIBLE: DateTime<Utc> = match DateTime::from_timestamp(4_102_444_800, 0) {
    Some(t) => t, // 2100-01-01T00:00:00Z
    None => panic!("2100-01-01 is a valid time"),
};

/// A time from a platform report outside [`EARLIEST_PLAUSIBLE`, `LATEST_PLAUSIBLE`].
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{field} is {}, which is not a plausible time (expected from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z)",
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
)]
pub struct ImpossibleTime {
    /// The report's field, as the platform names it (`data.devices[].joinedTime`).
    pub field: String,
    pub at: DateTime<Utc>,
}

/// Refuses a reported time that no real session can have, so that a crafted delivery cannot
/// bill centuries. Parsers call it after mapping the platforms' "still connected" epoch leave
/// time (1970-01-01T00:00:00Z) to `None`, which this would refuse.
pub fn plausible(field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, ImpossibleTime> {
    if (EARLIEST_PLAUSIBLE..=LATEST_PLAUSIBLE).contains(&at) {
        Ok(at)
    } else {
        Err(ImpossibleTime { field: field.to_owned(), at })
    }
}

/// Whole seconds and billable minutes, each rounded up: a started minute is a billed minute.
fn rounded_up(ms: u64) -> (u64, u64) {
    let seconds = ms.div_ceil(1000);
    (seconds, seconds.div_ceil(60))
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    a.max(b) // `None` sorts first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64, second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60 + second, 0).unwrap()
    }

    fn computer(join: Option<DateTime<Utc>>, left: Option<DateTime<Utc>>) -> Connection {
        Connection { joined_at: join, left_at: left, computer: true, telephone_audio: false }
    }

    fn window(start: i64, end: i64) -> Window {
        Window { start: Some(t(start, 0)), end: t(end, 0) }
    }

    #[test]
    fn merging_keeps_earliest_join_and_latest_leave_in_any_order() {
        let join = computer(Some(t(1, 0)), None);
        let leave = computer(Some(t(1, 0)), Some(t(9, 0)));
        let rejoin_seen_late = computer(Some(t(0, 30)), Some(t(5, 0)));
        let mut a = join;
        for c in [&leave, &rejoin_seen_late, &join, &leave] {
            a.merge(c);
        }
        let mut b = rejoin_seen_late;
        for c in [&leave, &join] {
            b.merge(c);
        }
        assert_eq!(a, b);
        assert_eq!(a.joined_at, Some(t(0, 30)));
        assert_eq!(a.left_at, Some(t(9, 0)));
    }

    #[test]
    fn open_connections_close_at_the_session_end_and_intervals_are_clipped() {
        let cs = [
            computer(Some(t(-5, 0)), Some(t(10, 0))), // joined before the start: 10 min
            computer(Some(t(50, 0)), None),           // still open at the end: 10 min
            computer(Some(t(55, 0)), Some(t(70, 0))), // left after the end: 5 min
        ];
        let u = usage(window(0, 60), &cs).unwrap();
        assert_eq!(u.person_seconds, 25 * 60);
        assert_eq!(u.person_minutes, 25);
        assert_eq!(u.connections, 3);
    }

    #[test]
    fn minutes_round_up_per_category() {
        let cs = [computer(Some(t(0, 0)), Some(t(1, 1)))];
        let u = usage(window(0, 60), &cs).unwrap();
        assert_eq!((u.person_seconds, u.person_minutes), (61, 2));
        let u = usage(window(0, 60), &[computer(Some(t(0, 0)), Some(t(0, 0)))]).unwrap();
        assert_eq!((u.person_seconds, u.person_minutes), (0, 0));
    }

    #[test]
    fn telephones_and_computers_with_telephone_audio() {
        let phone = Connection {
            joined_at: Some(t(0, 0)),
            left_at: Some(t(30, 0)),
            computer: false,
            telephone_audio: true,
        };
        let laptop_on_phone_audio = Connection { computer: true, ..phone };
        let u = usage(window(0, 60), &[phone, laptop_on_phone_audio]).unwrap();
        assert_eq!(u.teleconference_minutes, 60);
        assert_eq!(u.person_minutes, 30);
    }

    #[test]
    fn a_leave_without_a_join_counts_from_the_start() {
        let u = usage(window(0, 60), &[computer(None, Some(t(15, 0)))]).unwrap();
        assert_eq!(u.person_minutes, 15);
    }

    #[test]
    fn the_window_falls_back_to_the_earliest_join_and_the_received_end() {
        let mut times = SessionTimes::default();
        times.ended(None, t(60, 0));
        let cs = [computer(Some(t(10, 0)), None), computer(Some(t(5, 0)), Some(t(6, 0)))];
        let w = Window::of(&times, &cs, t(999, 0));
        assert_eq!(w, Window { start: Some(t(5, 0)), end: t(60, 0) });
        assert_eq!(usage(w, &cs).unwrap().person_minutes, 51);
    }

    #[test]
    fn repeated_ends_keep_the_latest() {
        let mut times = SessionTimes::default();
        times.ended(Some(t(30, 0)), t(31, 0));
        times.ended(Some(t(20, 0)), t(32, 0));
        times.started(Some(t(1, 0)));
        times.started(Some(t(0, 0)));
        assert_eq!(times.ended_at, Some(t(30, 0)));
        assert_eq!(times.started_at, Some(t(0, 0)));
        assert!(times.has_ended());
    }

    fn year(y: i32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc()
    }

    #[test]
    fn crafted_connections_spanning_millennia_are_refused_rather_than_wrapped() {
        let ten_millennia = computer(Some(year(0)), Some(year(9999)));
        let window = Window { start: Some(year(0)), end: year(9999) };
        // One fits easily; 60 000 of them are more milliseconds than a u64 holds.
        let one = usage(window, &[ten_millennia]).unwrap();
        assert_eq!(one.person_seconds, (year(9999) - year(0)).num_seconds() as u64);
        let many = vec![ten_millennia; 60_000];
        assert_eq!(usage(window, &many), Err(MeteringError::Overflow));
        assert_eq!(MeteringError::Overflow.to_string(), "connected time of this session overflows");
    }

    #[test]
    fn telephone_time_overflows_on_its_own() {
        let phone = Connection {
            joined_at: Some(year(0)),
            left_at: Some(year(9999)),
            computer: false,
            telephone_audio: true,
        };
        let window = Window { start: None, end: year(9999) };
        assert_eq!(usage(window, &vec![phone; 60_000]), Err(MeteringError::Overflow));
    }

    #[test]
    fn plausible_times_run_from_2000_to_2100_inclusive() {
        assert_eq!(plausible("start", year(2000)), Ok(year(2000)));
        assert_eq!(plausible("start", year(2100)), Ok(year(2100)));
        assert_eq!(plausible("start", t(0, 0)), Ok(t(0, 0)));
        let late = year(2100) + chrono::Duration::seconds(1);
        assert!(plausible("end", late).is_err());
        assert!(plausible("end", year(2000) - chrono::Duration::milliseconds(1)).is_err());
    }

    #[test]
    fn an_implausible_time_names_the_field_and_the_value() {
        let err = plausible("data.devices[].joinedTime", year(0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data.devices[].joinedTime is 0000-01-01T00:00:00Z, which is not a plausible time (expected from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z)"
        );
        let epoch = DateTime::from_timestamp(0, 0).unwrap();
        let err = plausible("payload.object.participant.leave_time", epoch).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("payload.object.participant.leave_time is 1970-01-01T00:00:00Z"),
            "{err}"
        );
        assert_eq!(EARLIEST_PLAUSIBLE, year(2000));
        assert_eq!(LATEST_PLAUSIBLE, year(2100));
    }
}
