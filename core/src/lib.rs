//! The domain of tollbooth: money, pricing, metering, billing, orders and payments as pure
//! rules, the configuration, and the `Store` interface with its SQLite and PostgreSQL
//! implementation. Nothing here knows about HTTP or Discord.

pub mod billing;
pub mod budget;
pub mod cashier;
pub mod config;
pub mod enforcement;
pub mod gateway;
pub mod lang;
pub mod manifest;
pub mod messages;
pub mod metering;
pub mod method;
pub mod money;
pub mod order;
pub mod outbox;
pub mod paylink;
pub mod payment;
pub mod platform;
pub mod pricing;
pub mod registration;
pub mod session;
pub mod simulation;
pub mod site;
pub mod store;
pub mod terms;
