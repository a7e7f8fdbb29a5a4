//! Clients of the conferencing platforms' REST APIs, one module per platform.

pub mod webex_api;
