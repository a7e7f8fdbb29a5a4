//! What the platforms themselves recorded about a meeting instance, read back through their
//! REST APIs after the fact ([`super::MeetingControl::participants`], `standing`,
//! `usage_report`), so that a bill can be settled against the platform's own record instead
//! of webhooks alone (which arrive late, twice, or never: `reference/settlement.md` §1.3).

use chrono::{DateTime, Utc};

use crate::metering::Connection;

/// One connection as the platform's own record has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The same identity webhooks give the participant (`Observation::Connected.participant`):
    /// Webex the participant `id`; Zoom `participant_uuid` when the row has one, else
    /// `{id}/{name}` exactly as `zoom.rs` keys webhook participants.
    pub participant: String,
    /// Webex the device's `correlationId` ("" for a participant listed without devices); ""
    /// on Zoom, whose rows are join segments matched by overlap.
    pub device: String,
    /// Times and kind; `left_at`/`joined_at` None when absent or the 1970 sentinel (an
    /// incomplete row, which Webex fills in later).
    pub connection: Connection,
    /// Whether the record says what kind of device it is (Webex `deviceType`/`audioType`:
    /// yes; Zoom report rows: no, so `connection` reads as a computer without telephone audio).
    pub kind_known: bool,
}

/// How the platform says a meeting instance stands (gap fill).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeetingStanding {
    Running,
    /// Ended, at the time the platform gives (None when it gives none).
    Ended {
        at: Option<DateTime<Utc>>,
    },
    /// The platform names a state that is neither (Webex `ready`, `lobby`, `missed`, …).
    Unknown,
}

/// A meeting's totals in the platform's usage report (Webex `meetingReports/usage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedUsage {
    /// `totalPeopleMinutes`.
    pub person_minutes: u64,
    /// `totalCallInMinutes + totalCallInTollFreeMinutes + totalCallOutDomestic +
    /// totalCallOutInternational`.
    pub teleconference_minutes: u64,
    /// `trackingCodes[]` as (name, value), in the report's order.
    pub tracking_codes: Vec<(String, String)>,
}
