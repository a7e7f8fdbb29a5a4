//! The domain of tollbooth: money, pricing, metering, billing, orders and payments as pure
//! rules, the configuration, and the `Store` interface with its SQLite and PostgreSQL
//! implementation. Nothing here knows about HTTP or Discord.

pub mod config;
pub mod manifest;
pub mod metering;
pub mod money;
pub mod platform;
pub mod pricing;
pub mod session;
pub mod simulation;
pub mod site;
pub mod store;
