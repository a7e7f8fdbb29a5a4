//! Effects that must happen exactly once outside our database (direct messages, e-mail, ending a
//! meeting on its platform, capturing a pay-per-use authorisation), and when a failed attempt
//! is tried again.
//!
//! An effect is stored (in the same transaction as the decision that caused it, where the
//! caller has one) under a key that names the decision, so a retried or duplicated decision
//! enqueues it once; a worker then delivers it, and marks it sent.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::money::Currency;
use crate::payments::payment::RefundPart;
use crate::platform::PlatformKind;
use crate::reach::{Mail, WebexMessage};

/// A direct message to a Discord user, with an optional link button.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub discord_user_id: u64,
    pub text: String,
    pub link: Option<Link>,
}

/// A Discord user to message, and the language to write in (the one their Discord client
/// last used with us).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub discord_user_id: u64,
    pub lang: Lang,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// Ends a running meeting through its platform's API (a start that was not paid for).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndMeeting {
    pub platform: PlatformKind,
    pub meeting_id: String,
}

/// Takes a session's cost from its authorisation (the gateway releases the rest); an amount of
/// zero releases the whole hold instead. The cashier's idempotency keys make a retry harmless.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub payment: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
}

/// Adds a paid attendee to a session's meeting as an approved registrant; the worker then
/// records the registrant and sends the join link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admit {
    pub registration: String,
    pub platform: PlatformKind,
    pub meeting_id: String,
    /// The session's host, whom the platform call acts for. Empty in effects queued before
    /// it was stored.
    #[serde(default)]
    pub host_email: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// A group's guest seat (2 and on) this admits; none for the registration's own attendee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<u32>,
}

/// Gives back everything a payment took that is not refunded yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub payment: String,
}

/// Gives back part of a captured payment: a settled session's adjustment, or a refund someone
/// asked for; `part` names the gateway step so that a retry never refunds twice. Stored as
/// `"adjustment": n` or `"request": "…"` beside the amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialRefund {
    pub payment: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
    #[serde(flatten)]
    pub part: RefundPart,
}

/// Deletes a cancelled session's meeting on its platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelMeeting {
    pub platform: PlatformKind,
    pub meeting_id: String,
    /// As in [`Admit::host_email`].
    #[serde(default)]
    pub host_email: String,
}

/// Something to do once; the stored `kind` column says which one a row holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    ChatMessage(ChatMessage),
    EndMeeting(EndMeeting),
    Capture(Capture),
    Admit(Admit),
    Refund(Refund),
    PartialRefund(PartialRefund),
    CancelMeeting(CancelMeeting),
    Email(Mail),
    WebexMessage(WebexMessage),
}

impl Effect {
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::ChatMessage(_) => "chat_message",
            Effect::EndMeeting(_) => "end_meeting",
            Effect::Capture(_) => "capture",
            Effect::Admit(_) => "admit",
            Effect::Refund(_) => "refund",
            Effect::PartialRefund(_) => "partial_refund",
            Effect::CancelMeeting(_) => "cancel_meeting",
            Effect::Email(_) => "email",
            Effect::WebexMessage(_) => "webex_message",
        }
    }
}

/// An effect as a worker claimed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    /// Unique per effect; adapters pass it on as their own idempotency key (Discord's message
    /// nonce), so that an attempt whose answer was lost does not act twice.
    pub key: String,
    pub effect: Effect,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// When to try again after `attempts` failed attempts: 5 s, doubling, at most an hour, so a
/// service that is down is not hammered and one that recovers is soon used again.
pub fn next_attempt(attempts: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = 5i64.saturating_mul(1 << attempts.saturating_sub(1).min(10));
    now + Duration::seconds(seconds.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let now = Utc::now();
        let wait = |n| (next_attempt(n, now) - now).num_seconds();
        assert_eq!([wait(1), wait(2), wait(3), wait(4)], [5, 10, 20, 40]);
        assert_eq!(wait(30), 3600);
    }

    #[test]
    fn effects_are_tagged_by_kind() {
        let e =
            Effect::ChatMessage(ChatMessage { discord_user_id: 42, text: "hi".into(), link: None });
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], e.kind());
        assert_eq!(serde_json::from_value::<Effect>(json).unwrap(), e);
    }

    #[test]
    fn partial_refunds_name_their_adjustment_or_request() {
        let old = r#"{"kind":"partial_refund","payment":"p","amount":"1.50","currency":"USD","adjustment":2}"#;
        let Effect::PartialRefund(r) = serde_json::from_str(old).unwrap() else { panic!() };
        assert_eq!(r.part, RefundPart::Adjustment(2));
        let asked = Effect::PartialRefund(PartialRefund {
            part: RefundPart::Request("r-1".parse().unwrap()),
            ..r
        });
        let json = serde_json::to_value(&asked).unwrap();
        assert_eq!(json["request"], "r-1");
        assert_eq!(serde_json::from_value::<Effect>(json).unwrap(), asked);
    }

    #[test]
    fn platform_effects_queued_before_hosts_were_stored_still_read() {
        let old = r#"{"kind":"cancel_meeting","platform":"webex","meeting_id":"m1"}"#;
        let Effect::CancelMeeting(c) = serde_json::from_str(old).unwrap() else { panic!() };
        assert_eq!((c.meeting_id.as_str(), c.host_email.as_str()), ("m1", ""));
    }
}
