//! A session on a platform: what it is, how it stands, and its usage and cost.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::metering::{self, Connection, MeteringError, SessionTimes, Usage, Window};
use crate::money::MoneyError;
use crate::platform::{Observation, PlatformKind};
use crate::pricing::{Cost, Prices};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Running,
    Ended,
    /// Started unpaid and ended by tollbooth.
    Blocked,
}

/// One running instance of a meeting, keyed by (platform, meeting instance id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub platform: PlatformKind,
    pub meeting_id: String,
    pub host_email: Option<String>,
    /// Zoom's meeting number, which orders for a scheduled meeting are bound to.
    pub meeting_number: Option<String>,
    pub times: SessionTimes,
    pub blocked: bool,
    /// Why tollbooth ended it, when it did.
    pub blocked_reason: Option<String>,
}

impl Session {
    pub fn new(platform: PlatformKind, meeting_id: String) -> Session {
        Session {
            platform,
            meeting_id,
            host_email: None,
            meeting_number: None,
            times: SessionTimes::default(),
            blocked: false,
            blocked_reason: None,
        }
    }

    /// Takes in what a `started` or `ended` event says; connections are merged on their own.
    pub fn observe(&mut self, observation: &Observation, received_at: DateTime<Utc>) {
        match observation {
            Observation::Started { at, host_email, meeting_number } => {
                self.times.started(*at);
                if self.host_email.is_none() {
                    self.host_email.clone_from(host_email);
                }
                if self.meeting_number.is_none() {
                    self.meeting_number.clone_from(meeting_number);
                }
            }
            Observation::Ended { at } => self.times.ended(*at, received_at),
            Observation::Connected { .. } => {}
        }
    }

    pub fn state(&self) -> SessionState {
        if self.blocked {
            SessionState::Blocked
        } else if self.times.has_ended() {
            SessionState::Ended
        } else {
            SessionState::Running
        }
    }

    /// The window its connections count in, as of `now` (a running session counts its open
    /// connections up to now).
    pub fn window<'a>(
        &self,
        connections: impl IntoIterator<Item = &'a Connection>,
        now: DateTime<Utc>,
    ) -> Window {
        Window::of(&self.times, connections, now)
    }
}

/// Why a session cannot be billed: its connected time or its cost does not fit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BillError {
    #[error(transparent)]
    Metering(#[from] MeteringError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// What a session used and what it costs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bill {
    pub usage: Usage,
    pub cost: Cost,
}

impl Bill {
    /// `prices` must be those in force when the session started.
    pub fn new<'a>(
        window: Window,
        connections: impl IntoIterator<Item = &'a Connection>,
        prices: &Prices,
    ) -> Result<Bill, BillError> {
        let usage = metering::usage(window, connections)?;
        let cost = prices.cost(usage.person_minutes, usage.teleconference_minutes)?;
        Ok(Bill { usage, cost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_follows_the_events() {
        let mut s = Session::new(PlatformKind::Webex, "m".into());
        assert_eq!(s.state(), SessionState::Running);
        let started = |host: &str, number: &str| Observation::Started {
            at: None,
            host_email: Some(host.into()),
            meeting_number: Some(number.into()),
        };
        s.observe(&started("h@x.io", "857"), Utc::now());
        // A redelivery or a later `started` of the same instance changes neither.
        s.observe(&started("other@x.io", "858"), Utc::now());
        assert_eq!(s.host_email.as_deref(), Some("h@x.io"));
        assert_eq!(s.meeting_number.as_deref(), Some("857"));
        s.observe(&Observation::Ended { at: None }, Utc::now());
        assert_eq!(s.state(), SessionState::Ended);
        s.blocked = true;
        assert_eq!(s.state(), SessionState::Blocked);
    }

    #[test]
    fn a_bill_of_overflowing_time_is_an_error_not_a_wrapped_total() {
        let year = |y| {
            chrono::NaiveDate::from_ymd_opt(y, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        let c = Connection {
            joined_at: Some(year(0)),
            left_at: Some(year(9999)),
            computer: true,
            telephone_audio: false,
        };
        let prices = Prices {
            currency: crate::money::Currency::USD,
            person_minute: "0.12".parse().unwrap(),
            teleconference_minute: "0.05".parse().unwrap(),
        };
        let window = Window { start: None, end: year(9999) };
        let err = Bill::new(window, &vec![c; 60_000], &prices).unwrap_err();
        assert_eq!(err, BillError::Metering(MeteringError::Overflow));
        assert_eq!(err.to_string(), "connected time of this session overflows");
        // One such connection fits in the sum, but its price does not fit in a Decimal.
        let dear = Prices { person_minute: rust_decimal::Decimal::MAX, ..prices };
        let err = Bill::new(window, &[c], &dear).unwrap_err();
        assert_eq!(err, BillError::Money(MoneyError::Overflow));
    }
}
