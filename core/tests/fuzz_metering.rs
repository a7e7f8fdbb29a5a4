//! Property tests of metering and money: whatever the platforms send, in whatever order and
//! however often, merging and summing give one answer, and nothing panics (absurd times end in
//! `MeteringError::Overflow`, absurd amounts in `MoneyError::Overflow`). Case counts are kept
//! small so that the whole file runs in a few seconds in CI.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tollbooth_core::metering::session::{Bill, BillError};
use tollbooth_core::metering::{Connection, MeteringError, Usage, Window, usage};
use tollbooth_core::money::{Currency, Money, MoneyError};
use tollbooth_core::pricing::{Estimate, Prices, SessionPlan};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// Any time chrono can hold, with the extremes and the platforms' epoch "still connected"
/// leave time drawn often.
fn any_time() -> impl Strategy<Value = DateTime<Utc>> + Clone {
    let (min, max) = (DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
    prop_oneof![
        1 => Just(DateTime::<Utc>::MIN_UTC),
        1 => Just(DateTime::<Utc>::MAX_UTC),
        1 => Just(DateTime::UNIX_EPOCH),
        3 => (min..=max, 0u32..1_000_000_000)
            .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap_or(DateTime::UNIX_EPOCH)),
        4 => realistic_time(),
    ]
}

/// Within one day of 2027, where real sessions are.
fn realistic_time() -> impl Strategy<Value = DateTime<Utc>> + Clone {
    (1_800_000_000i64..1_800_086_400).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

fn connection(
    time: impl Strategy<Value = DateTime<Utc>> + Clone,
) -> impl Strategy<Value = Connection> {
    (proptest::option::of(time.clone()), proptest::option::of(time), any::<bool>(), any::<bool>())
        .prop_map(|(joined_at, left_at, computer, telephone_audio)| Connection {
            joined_at,
            left_at,
            computer,
            telephone_audio,
        })
}

fn window() -> impl Strategy<Value = Window> {
    (proptest::option::of(any_time()), any_time()).prop_map(|(start, end)| Window { start, end })
}

/// Each connection's reports in a random order, each repeated up to three times (redeliveries).
fn redelivered(reports: Vec<Connection>) -> impl Strategy<Value = Vec<Connection>> {
    let n = reports.len();
    proptest::collection::vec(1usize..=3, n)
        .prop_map(move |repeats| {
            reports
                .iter()
                .zip(repeats)
                .flat_map(|(c, r)| std::iter::repeat_n(*c, r))
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

fn merged(reports: &[Connection]) -> Connection {
    let mut c = reports[0];
    for r in &reports[1..] {
        c.merge(r);
    }
    c
}

/// Any Decimal, with its extremes drawn often.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        1 => Just(Decimal::MAX),
        1 => Just(Decimal::MIN),
        1 => Just(Decimal::ZERO),
        6 => (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
            .prop_map(|(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)),
        3 => (0i64..10_000_000, 0u32..=6).prop_map(|(n, scale)| Decimal::new(n, scale)),
    ]
}

/// Currencies with 0, 2, 3 and 4 minor digits.
fn any_currency() -> impl Strategy<Value = Currency> {
    prop_oneof![Just("USD"), Just("JPY"), Just("KWD"), Just("NOK"), Just("CLF")]
        .prop_map(|code| code.parse().unwrap())
}

/// What `usage` must give, summed in u128 so that it cannot overflow itself.
fn expected(window: Window, connections: &[Connection]) -> Result<Usage, MeteringError> {
    let (mut person, mut tele) = (0u128, 0u128);
    for c in connections {
        let Some(from) = c.joined_at.into_iter().chain(window.start).max() else { continue };
        let to = c.left_at.map_or(window.end, |left| left.min(window.end));
        let ms = u128::try_from((to - from).num_milliseconds()).unwrap_or(0);
        person += if c.computer { ms } else { 0 };
        tele += if c.telephone_audio { ms } else { 0 };
    }
    let fit = |ms: u128| u64::try_from(ms).map_err(|_| MeteringError::Overflow);
    let (person, tele) = (fit(person)?, fit(tele)?);
    Ok(Usage {
        person_seconds: person.div_ceil(1000),
        person_minutes: person.div_ceil(1000).div_ceil(60),
        teleconference_seconds: tele.div_ceil(1000),
        teleconference_minutes: tele.div_ceil(1000).div_ceil(60),
        connections: connections.len() as u64,
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn merging_reports_in_any_order_and_any_number_of_times_gives_one_connection(
        (reports, shuffled) in proptest::collection::vec(connection(realistic_time()), 1..6)
            .prop_flat_map(|reports| (Just(reports.clone()), redelivered(reports)))
    ) {
        let once = merged(&reports);
        prop_assert_eq!(merged(&shuffled), once);
        // Earliest join, latest leave, and any flag seen once.
        prop_assert_eq!(once.joined_at, reports.iter().filter_map(|c| c.joined_at).min());
        prop_assert_eq!(once.left_at, reports.iter().filter_map(|c| c.left_at).max());
        prop_assert_eq!(once.computer, reports.iter().any(|c| c.computer));
    }

    #[test]
    fn usage_of_any_times_is_the_exact_sum_or_the_overflow_error(
        window in window(),
        connections in proptest::collection::vec(connection(any_time()), 0..40),
    ) {
        prop_assert_eq!(usage(window, &connections), expected(window, &connections));
    }

    #[test]
    fn usage_does_not_depend_on_the_order_of_connections(
        window in window(),
        (connections, shuffled) in proptest::collection::vec(connection(any_time()), 0..20)
            .prop_flat_map(|cs| (Just(cs.clone()), Just(cs).prop_shuffle()))
    ) {
        prop_assert_eq!(usage(window, &connections), usage(window, &shuffled));
    }

    #[test]
    fn one_more_connection_never_lowers_usage(
        window in window(),
        connections in proptest::collection::vec(connection(any_time()), 0..20),
        extra in connection(any_time()),
    ) {
        let before = usage(window, &connections);
        let mut more = connections.clone();
        more.push(extra);
        match (before, usage(window, &more)) {
            (Ok(a), Ok(b)) => {
                prop_assert!(b.person_seconds >= a.person_seconds);
                prop_assert!(b.teleconference_seconds >= a.teleconference_seconds);
                prop_assert_eq!(b.connections, a.connections + 1);
            }
            // Once too large, it stays too large.
            (Err(_), after) => prop_assert_eq!(after, Err(MeteringError::Overflow)),
            (Ok(_), Err(e)) => prop_assert_eq!(e, MeteringError::Overflow),
        }
    }

    #[test]
    fn money_rounds_any_decimal_half_up_without_panicking(
        amount in any_decimal(),
        currency in any_currency(),
    ) {
        let money = Money::round(amount, currency);
        // Rounding to the minor unit moves the amount by at most half a minor unit...
        let half = Decimal::new(5, currency.minor_units() + 1);
        prop_assert!((money.amount() - amount).abs() <= half, "{amount} → {money}");
        // ...and rounding again changes nothing.
        prop_assert_eq!(Money::round(money.amount(), currency), money);
        match money.minor() {
            Ok(minor) => prop_assert_eq!(Money::from_minor(minor, currency), money),
            Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
        }
        let _ = money.to_string();
    }

    #[test]
    fn adding_money_is_exact_or_an_overflow(
        a in any_decimal(),
        b in any_decimal(),
        currency in any_currency(),
    ) {
        let (a, b) = (Money::round(a, currency), Money::round(b, currency));
        match a.checked_add(b) {
            Ok(sum) => prop_assert_eq!(Some(sum.amount()), a.amount().checked_add(b.amount())),
            Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
        }
    }

    #[test]
    fn any_minutes_at_any_prices_cost_a_sum_of_lines_or_an_overflow(
        person_minutes in prop_oneof![Just(u64::MAX), any::<u64>(), 0u64..1_000_000],
        teleconference_minutes in prop_oneof![Just(u64::MAX), any::<u64>(), 0u64..1_000_000],
        person_minute in any_decimal().prop_map(|d| d.abs()),
        teleconference_minute in any_decimal().prop_map(|d| d.abs()),
        currency in any_currency(),
    ) {
        let prices = Prices { currency, person_minute, teleconference_minute };
        match prices.cost(person_minutes, teleconference_minutes) {
            Ok(cost) => {
                let sum = cost.person.amount.checked_add(cost.teleconference.amount);
                prop_assert_eq!(sum, Ok(cost.total));
                prop_assert_eq!(cost.person.minutes, person_minutes);
            }
            Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
        }
    }

    #[test]
    fn any_plan_built_by_hand_estimates_or_overflows(
        minutes in any::<u64>(),
        computers in prop_oneof![any::<u64>(), 0u64..100_000],
        phones in prop_oneof![any::<u64>(), 0u64..100_000],
    ) {
        let plan = SessionPlan { minutes, computers, phones };
        let product = u128::from(minutes) * u128::from(computers);
        prop_assert_eq!(plan.person_minutes().ok(), u64::try_from(product).ok());
        let prices = Prices {
            currency: Currency::USD,
            person_minute: Decimal::new(12, 2),
            teleconference_minute: Decimal::new(5, 2),
        };
        match Estimate::new(plan, &prices) {
            Ok(e) => prop_assert_eq!(e.cost.person.minutes, product as u64),
            Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
        }
    }
}

proptest! {
    // Each case sums thousands of connections: fewer cases.
    #![proptest_config(config(24))]

    #[test]
    fn many_connections_spanning_the_whole_calendar_overflow_exactly_when_u64_would(
        copies in 1usize..3000,
        telephone in any::<bool>(),
    ) {
        let widest = Connection {
            joined_at: Some(DateTime::<Utc>::MIN_UTC),
            left_at: None,
            computer: !telephone,
            telephone_audio: telephone,
        };
        let window = Window { start: None, end: DateTime::<Utc>::MAX_UTC };
        let connections = vec![widest; copies];
        let result = usage(window, &connections);
        prop_assert_eq!(result, expected(window, &connections));
        let prices = Prices {
            currency: Currency::USD,
            person_minute: Decimal::new(12, 2),
            teleconference_minute: Decimal::new(5, 2),
        };
        match Bill::new(window, &connections, &prices) {
            Ok(bill) => prop_assert_eq!(Ok(bill.usage), result),
            Err(BillError::Metering(e)) => prop_assert_eq!(Err(e), result),
            Err(BillError::Money(e)) => prop_assert_eq!(e, MoneyError::Overflow),
        }
    }
}
