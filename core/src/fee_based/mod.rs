//! Fee-based training: attendees register for a session with a fee, pay, and only then become
//! approved registrants on the platform.

pub mod codes;
pub mod group;
pub mod refunds;
pub mod registration;
pub mod service;
pub mod waiting;
