//! The settlement rules, pure: how webhook connections and the platform's record become the
//! connections a session is billed for, when a later figure differs enough to count, how an
//! adjustment moves money, and how long to wait before asking the platform again.
//!
//! Per connection, complete platform times win; a connection only webhooks saw keeps its
//! webhook times; one only the platform reports is added; an incomplete platform row (no leave
//! time, or the 1970 sentinel) never overrides and adds nothing. A platform row stands for the
//! webhook connections it *covers*: on Webex the same participant and device
//! (`correlationId`); where the platform gives no device (Zoom's rows are join segments) the
//! same participant and an overlapping interval. A covered webhook connection is replaced, so
//! nothing is counted twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{AdjustmentKind, Source};
use crate::metering::{Connection, Usage};
use crate::money::{Money, MoneyError};
use crate::platform::records::Recorded;

/// A connection as webhooks told it, with the key the platform's record is matched on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metered {
    pub participant: String,
    pub device: String,
    pub connection: Connection,
}

/// The connections a session is billed for, and what they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciled {
    pub connections: Vec<Connection>,
    pub source: Source,
}

/// Webhook connections and the platform's record, per the rule above.
pub fn reconcile(metered: &[Metered], recorded: &[Recorded]) -> Reconciled {
    let complete: Vec<&Recorded> = recorded.iter().filter(|r| is_complete(r)).collect();
    let mut covered = vec![false; metered.len()];
    let mut connections = Vec::with_capacity(complete.len() + metered.len());
    for record in &complete {
        let mut kind: Option<(bool, bool)> = None;
        for (i, m) in metered.iter().enumerate() {
            if covers(record, m) {
                covered[i] = true;
                let (computer, phone) = kind.unwrap_or((false, false));
                kind =
                    Some((computer | m.connection.computer, phone | m.connection.telephone_audio));
            }
        }
        let mut connection = record.connection;
        // A record that does not say what the device is (Zoom's report rows) takes the kind
        // webhooks told of the connections it covers; uncovered, it is a computer.
        if !record.kind_known {
            (connection.computer, connection.telephone_audio) = kind.unwrap_or((true, false));
        }
        connections.push(connection);
    }
    let from_platform = connections.len();
    connections.extend(
        metered.iter().zip(&covered).filter(|(_, covered)| !**covered).map(|(m, _)| m.connection),
    );
    let source = match (from_platform, connections.len() - from_platform) {
        (0, _) => Source::Webhooks,
        (_, 0) => Source::Platform,
        _ => Source::Both,
    };
    Reconciled { connections, source }
}

/// A row with both times: the platform fills `leftTime` in only after the meeting ended.
pub fn is_complete(record: &Recorded) -> bool {
    record.connection.joined_at.is_some() && record.connection.left_at.is_some()
}

fn covers(record: &Recorded, m: &Metered) -> bool {
    if record.participant != m.participant {
        return false;
    }
    if !record.device.is_empty() {
        return record.device == m.device;
    }
    // Unknown ends reach as far as they might: a lost join may have been at any time before.
    let (Some(r_from), Some(r_to)) = (record.connection.joined_at, record.connection.left_at)
    else {
        return false;
    };
    let joined = m.connection.joined_at.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let left = m.connection.left_at.unwrap_or(DateTime::<Utc>::MAX_UTC);
    // Webhooks merge a re-joined participant's earliest join and latest leave; with the first
    // join lost, that may be a later join than the leave: the connection spans both.
    let (m_from, m_to) = (joined.min(left), joined.max(left));
    m_from <= r_to && r_from <= m_to
}

/// Whether two figures of one session differ by more than `tolerance` minutes in a category.
pub fn beyond_tolerance(billed: &Usage, now: &Usage, tolerance: u64) -> bool {
    billed.person_minutes.abs_diff(now.person_minutes) > tolerance
        || billed.teleconference_minutes.abs_diff(now.teleconference_minutes) > tolerance
}

/// How a session's bill moves from what was billed to a new total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adjustment {
    pub kind: AdjustmentKind,
    /// The difference between the totals.
    pub amount: Money,
    /// Given back from what was captured (a refund beyond what is still owed).
    pub refund: Money,
    /// What the host owes on this session afterwards.
    pub outstanding: Money,
}

/// The adjustment from `billed` to `total`, for a charge that still holds `captured` (less
/// what was refunded) and leaves `outstanding` owed; `None` when the totals are equal. More
/// is owed, since an authorisation is captured once; less first lowers what is owed, and only
/// the rest is refunded.
pub fn adjustment(
    billed: Money,
    total: Money,
    captured: Money,
    outstanding: Money,
) -> Result<Option<Adjustment>, MoneyError> {
    let zero = Money::round(Decimal::ZERO, billed.currency());
    let difference = total.amount() - billed.amount();
    if difference.is_zero() {
        return Ok(None);
    }
    let amount = Money::round(difference.abs(), billed.currency());
    if difference > Decimal::ZERO {
        let outstanding = outstanding.checked_add(amount)?;
        return Ok(Some(Adjustment {
            kind: AdjustmentKind::Charge,
            amount,
            refund: zero,
            outstanding,
        }));
    }
    let from_owed = amount.amount().min(outstanding.amount());
    let refund = (amount.amount() - from_owed).min(captured.amount());
    Ok(Some(Adjustment {
        kind: AdjustmentKind::Refund,
        amount,
        refund: Money::round(refund, billed.currency()),
        outstanding: Money::round(outstanding.amount() - from_owed, billed.currency()),
    }))
}

/// How long to wait before asking the platform again after `attempts` tries: from 30 seconds,
/// doubling, at most an hour (a record that is syncing comes within minutes; an outage passes).
pub fn backoff(attempts: u32) -> Duration {
    let seconds = 30u64.saturating_mul(1u64 << attempts.min(7));
    Duration::from_secs(seconds.min(3600))
}

/// How long `attempts` backoffs waited in all.
pub fn waited(attempts: u32) -> Duration {
    (0..attempts).map(backoff).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    fn conn(join: Option<i64>, left: Option<i64>) -> Connection {
        Connection {
            joined_at: join.map(t),
            left_at: left.map(t),
            computer: true,
            telephone_audio: false,
        }
    }

    fn metered(participant: &str, device: &str, join: Option<i64>, left: Option<i64>) -> Metered {
        Metered {
            participant: participant.into(),
            device: device.into(),
            connection: conn(join, left),
        }
    }

    fn recorded(participant: &str, device: &str, join: Option<i64>, left: Option<i64>) -> Recorded {
        Recorded {
            participant: participant.into(),
            device: device.into(),
            connection: conn(join, left),
            kind_known: !device.is_empty(),
        }
    }

    #[test]
    fn complete_platform_times_win_over_a_lost_leave() {
        let r = reconcile(
            &[metered("p", "c1", Some(0), None)],
            &[recorded("p", "c1", Some(0), Some(10))],
        );
        assert_eq!(r.connections, vec![conn(Some(0), Some(10))]);
        assert_eq!(r.source, Source::Platform);
    }

    #[test]
    fn a_connection_only_webhooks_saw_keeps_its_times_and_one_only_the_platform_saw_is_added() {
        let r = reconcile(
            &[metered("a", "c1", Some(0), Some(5))],
            &[recorded("b", "c2", Some(1), Some(4))],
        );
        assert_eq!(r.connections, vec![conn(Some(1), Some(4)), conn(Some(0), Some(5))]);
        assert_eq!(r.source, Source::Both);
    }

    #[test]
    fn an_incomplete_platform_row_never_overrides_and_adds_nothing() {
        let r = reconcile(
            &[metered("p", "c1", Some(0), Some(30))],
            &[recorded("p", "c1", Some(0), None), recorded("q", "c9", None, None)],
        );
        assert_eq!(r.connections, vec![conn(Some(0), Some(30))]);
        assert_eq!(r.source, Source::Webhooks);
    }

    #[test]
    fn zoom_segments_replace_the_overlapping_webhook_connection_once() {
        // Webhooks merged two joins of one participant into 0..40; the report has the two
        // segments, and a third participant's row matches nobody.
        let r = reconcile(
            &[metered("u1", "", Some(0), Some(40)), metered("u2", "", Some(50), Some(55))],
            &[recorded("u1", "", Some(0), Some(10)), recorded("u1", "", Some(30), Some(40))],
        );
        assert_eq!(
            r.connections,
            vec![conn(Some(0), Some(10)), conn(Some(30), Some(40)), conn(Some(50), Some(55))]
        );
        assert_eq!(r.source, Source::Both);
    }

    #[test]
    fn a_lost_join_is_filled_from_the_record() {
        let r = reconcile(
            &[metered("u1", "", None, Some(20))],
            &[recorded("u1", "", Some(12), Some(20))],
        );
        assert_eq!(r.connections, vec![conn(Some(12), Some(20))]);
    }

    #[test]
    fn a_webhook_connection_whose_first_join_was_lost_is_still_covered() {
        // Ann left at 10 and re-joined at 30; the join at 0 was lost, so webhooks know a join
        // at 30 and a leave at 10.
        let r = reconcile(
            &[metered("u1", "", Some(30), Some(10))],
            &[recorded("u1", "", Some(0), Some(10)), recorded("u1", "", Some(30), Some(40))],
        );
        assert_eq!(r.connections, vec![conn(Some(0), Some(10)), conn(Some(30), Some(40))]);
        assert_eq!(r.source, Source::Platform);
    }

    #[test]
    fn a_record_without_a_kind_takes_the_kind_webhooks_told() {
        let mut phone = metered("u1", "", Some(0), Some(10));
        phone.connection.computer = false;
        phone.connection.telephone_audio = true;
        let r = reconcile(&[phone], &[recorded("u1", "", Some(0), Some(8))]);
        assert!(!r.connections[0].computer && r.connections[0].telephone_audio);
    }

    #[test]
    fn figures_count_as_different_past_the_tolerance_only() {
        let usage =
            |p, t| Usage { person_minutes: p, teleconference_minutes: t, ..Usage::default() };
        assert!(!beyond_tolerance(&usage(10, 3), &usage(11, 2), 1));
        assert!(beyond_tolerance(&usage(10, 3), &usage(12, 3), 1));
        assert!(beyond_tolerance(&usage(10, 3), &usage(10, 0), 1));
    }

    fn usd(s: &str) -> Money {
        Money::parse_exact(s, Currency::USD).unwrap()
    }

    #[test]
    fn more_is_owed_and_less_lowers_what_is_owed_before_anything_is_refunded() {
        let more = adjustment(usd("3.48"), usd("4.68"), usd("3.48"), usd("0.00")).unwrap().unwrap();
        assert_eq!(
            (more.kind, more.amount, more.refund, more.outstanding),
            (AdjustmentKind::Charge, usd("1.20"), usd("0.00"), usd("1.20"))
        );
        let less = adjustment(usd("5.00"), usd("3.00"), usd("4.00"), usd("1.00")).unwrap().unwrap();
        assert_eq!(
            (less.kind, less.amount, less.refund, less.outstanding),
            (AdjustmentKind::Refund, usd("2.00"), usd("1.00"), usd("0.00"))
        );
        assert_eq!(adjustment(usd("1.00"), usd("1.00"), usd("1.00"), usd("0.00")).unwrap(), None);
    }

    #[test]
    fn the_wait_doubles_from_thirty_seconds_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(30));
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(20), Duration::from_secs(3600));
        assert_eq!(waited(3), Duration::from_secs(30 + 60 + 120));
    }
}
