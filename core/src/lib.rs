//! The domain of tollbooth: money, pricing, metering, billing, orders and payments as pure
//! rules, the configuration, and the `Store` interface with its SQLite and PostgreSQL
//! implementation. Nothing here knows about HTTP or Discord.

pub mod cashier;
pub mod config;
pub mod gateway;
pub mod method;
pub mod money;
pub mod order;
pub mod paylink;
pub mod payment;
pub mod pricing;
pub mod site;
pub mod store;
