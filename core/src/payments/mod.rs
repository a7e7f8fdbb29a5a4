//! Payments: what is paid for (orders), each attempt at a gateway and its transition table
//! (payments), the cashier that reserves a step before calling a gateway, our signed pay
//! links, the methods a country allows, and one adapter per gateway.

pub mod cashier;
pub mod gateway;
pub mod method;
pub mod order;
pub mod paylink;
pub mod payment;
pub mod service;
