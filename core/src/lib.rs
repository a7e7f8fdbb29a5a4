//! The domain of tollbooth, one folder per feature, with its rules as pure functions:
//!
//! - `metering/`: connections to billable minutes, and sessions with their usage and cost.
//! - `payments/`: orders, payments and their transition table, the cashier, pay links, payment
//!   methods per country, and the gateway adapters (`payments/gateway/`).
//! - `pay_per_use/`: hosts pay before they start: enforcement of starts, billing of ended
//!   sessions, division budgets, and the terms the decisions are taken with.
//! - `fee_based/`: attendees register and pay a session's fee.
//! - `invoicing/`: invoices and credit notes for every payment and refund, numbered gap-free.
//! - `platform/`: what Webex and Zoom deliveries say, and their REST clients.
//! - `reach/`: who is told what on which channel (Discord, e-mail, Webex), and the mailer.
//! - `store/`: the `Store` interface with its SQLite and PostgreSQL implementation.
//!
//! Shared kernels stay at the top: money, pricing, languages, configuration, the manifest,
//! site settings and the outbox of effects. Nothing here knows about HTTP or Discord.

pub mod config;
pub mod email;
pub mod fee_based;
pub mod invoicing;
pub mod lang;
pub mod linking;
pub mod manifest;
pub mod messages;
pub mod metering;
pub mod money;
pub mod outbox;
pub mod pay_per_use;
pub mod payments;
pub mod platform;
pub mod pricing;
pub mod reach;
pub mod settlement;
pub mod site;
pub mod store;
pub mod time;

use std::sync::Arc;

/// What each feature does when a payment becomes paid, in the order they decide: a
/// registration takes its seat or is refunded; a pay-per-use payment not owed is given back;
/// and, on every transition, money taken or given back is invoiced.
/// The one place that knows the features and payments, so that none depends on another.
/// `reach`: the channels beyond Discord that the people concerned are told on; `invoicing`:
/// what the site invoices with.
pub fn when_paid(
    reach: reach::Channels,
    invoicing: invoicing::service::Terms,
) -> Vec<Arc<dyn payments::service::WhenPaid>> {
    vec![
        Arc::new(fee_based::service::SeatOnPayment { reach }),
        Arc::new(pay_per_use::service::GiveBackWhatIsNotOwed),
        Arc::new(invoicing::service::IssueOnMovement { terms: invoicing }),
    ]
}
