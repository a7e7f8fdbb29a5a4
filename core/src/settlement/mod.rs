//! Settlement: a paid session is billed against the platform's own record of who was
//! connected, not against webhooks alone, which are a lossy channel (a lost leave, a lost
//! join, an `ended` sent again when a Zoom meeting is re-joined).
//!
//! A pay-per-use session is `open` while it runs, `waiting` once it ended (for the platform's
//! record, fetched after `settlement.delay_secs`), `settled` when its cost is captured (once),
//! and `final` after the last check against the platform's usage report. What arrives after
//! settlement is an adjustment (a partial refund or an amount owed), never a silent change.
//! The rules are pure ([`rule`]); the workflows live in [`service`].

pub mod reconciliation;
pub mod rule;
pub mod service;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where a paid session stands in its settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Running: the figures are live metering.
    Open,
    /// Ended, waiting for the platform's record.
    Waiting,
    /// Captured for the settled cost; late data becomes an adjustment.
    Settled,
    /// Checked against the platform's usage report; nothing changes any more.
    Final,
}

/// What a settled cost was computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The platform's record never came (or had nothing complete): webhooks alone.
    Webhooks,
    /// Every connection as the platform recorded it.
    Platform,
    /// The platform's record, and connections only webhooks saw.
    Both,
}

/// Which way an adjustment moves money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdjustmentKind {
    /// The session cost more than was billed: the host owes the difference.
    Charge,
    /// The session cost less: the difference is given back.
    Refund,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!("unknown {} `{other}`", stringify!($ty))),
                }
            }
        }
    };
}

text_enum!(Stage { Open => "open", Waiting => "waiting", Settled => "settled", Final => "final" });
text_enum!(Source { Webhooks => "webhooks", Platform => "platform", Both => "both" });
text_enum!(AdjustmentKind { Charge => "charge", Refund => "refund" });
text_enum!(AdjustmentReason { LateData => "late_data" });

/// Why a settled bill changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    /// Deliveries that came after settlement (a later `ended`, late joins or leaves) moved
    /// the cost.
    LateData,
}

impl AdjustmentReason {
    /// The reason in words, in `lang`.
    pub fn describe(self, lang: crate::lang::Lang) -> String {
        match self {
            AdjustmentReason::LateData => lang.text("adjustment-reason-late-data"),
        }
    }
}

/// The `settlement` settings: when the platform's record is asked for, how long it is waited
/// for, when the final check runs, and how far figures may differ before they count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// After the end, before the record is first asked for (Webex syncs its REST resources
    /// within 10 minutes for 99.5 % of meetings).
    pub delay: Duration,
    /// After the end, when a record that never came is given up on: the session settles on
    /// webhooks alone.
    pub give_up_after: Duration,
    /// After the end, when the usage report is checked (Webex's is ready within 24 hours).
    pub final_after: Duration,
    /// Minutes per category that a later figure may differ by without an adjustment or flag.
    pub tolerance_minutes: u64,
    /// An open session with no delivery for this long is looked up on the platform.
    pub stale_after: Duration,
    /// The platforms whose records can be asked for (those with an API token); a session on
    /// another settles on webhooks alone as soon as it ends, since nothing can come.
    pub asks: Asks,
}

/// Which platforms' records can be asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Asks {
    pub webex: bool,
    pub zoom: bool,
}

impl Asks {
    pub fn platform(self, platform: crate::platform::PlatformKind) -> bool {
        match platform {
            crate::platform::PlatformKind::Webex => self.webex,
            crate::platform::PlatformKind::Zoom => self.zoom,
        }
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            delay: Duration::from_secs(600),
            give_up_after: Duration::from_secs(21_600),
            final_after: Duration::from_secs(86_400),
            tolerance_minutes: 1,
            stale_after: Duration::from_secs(3600),
            asks: Asks::default(),
        }
    }
}

/// A paid session's settlement as stored, from its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub platform: crate::platform::PlatformKind,
    pub meeting_id: String,
    /// The order whose authorisation paid for the start; none for a free session, which is
    /// settled (its usage reconciled) and charged nothing.
    pub order: Option<crate::payments::order::OrderId>,
    pub stage: Stage,
    /// Set once settled.
    pub source: Option<Source>,
    /// When the session ended (received), which every clock here counts from.
    pub ended_at: chrono::DateTime<chrono::Utc>,
    /// When a worker next looks at it.
    pub due_at: chrono::DateTime<chrono::Utc>,
    /// Times the platform was asked in vain for this step.
    pub attempts: u32,
    /// Deliveries arrived after settlement and are not checked yet.
    pub late_data: bool,
    /// The usage the host is billed for (reconciled), once settled.
    pub billed: Option<crate::metering::Usage>,
    /// Usage from webhooks alone, as of the last look.
    pub metered: Option<crate::metering::Usage>,
    /// Usage from the platform's record alone, once fetched.
    pub platform_usage: Option<crate::metering::Usage>,
    /// The usage report's person and teleconference minutes (final check).
    pub reported: Option<(u64, u64)>,
    /// The final check found a difference past the tolerance.
    pub flagged: bool,
    /// What a person should know (settled on webhooks alone, and why).
    pub note: Option<String>,
}

/// A change to a settled bill, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdjustmentRecord {
    pub kind: AdjustmentKind,
    /// The difference between the old and the new total.
    pub amount: crate::money::Money,
    /// The part given back from the capture.
    #[serde(skip)]
    pub refund: crate::money::Money,
    pub reason: AdjustmentReason,
    pub at: chrono::DateTime<chrono::Utc>,
    /// tollbooth's own reference of the adjustment (`{order}-a{n}`).
    pub reference: String,
}

/// One settled session as `tollbooth reconcile` lists it: what was billed beside what the
/// platform recorded and reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciliation {
    pub settlement: Settlement,
    pub host_email: String,
    pub division: Option<crate::site::DivisionId>,
    pub billed_person_minutes: u64,
    pub billed_teleconference_minutes: u64,
    pub total: crate::money::Money,
}
