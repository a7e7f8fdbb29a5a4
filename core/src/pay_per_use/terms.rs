//! The terms pay-per-use decisions are made on, taken from the configuration: the applier
//! decides starts and bills sessions with them.

use crate::payments::gateway::CaptureLimits;
use crate::payments::paylink::Links;

#[derive(Clone, Debug)]
pub struct Terms {
    /// Pay and receipt links for the messages a decision sends.
    pub links: Links,
    /// How much each gateway lets a capture take beyond its authorisation.
    pub captures: CaptureLimits,
    /// Added to an estimate when it is authorised (`pay_per_use.headroom_percent`).
    pub headroom_percent: u32,
    /// When ended sessions are settled against the platform's record (`settlement.*`).
    pub settlement: crate::settlement::Settings,
    /// The channels beyond Discord that hosts are told on (`smtp.*`, `webex.bot_token`).
    pub reach: crate::reach::Channels,
}
