//! Hosts who link themselves: `/link` hands a member a link to their platform's OAuth consent,
//! and the platform sends them back to `/oauth/{platform}/callback`, where the account's
//! e-mail links the member to that host (the administrator's `/admin link` stays for
//! exceptions).
//!
//! [`state`] is the pure part (the signed, expiring `state` bound to the member), [`oauth`]
//! the platforms' consent, code exchange and "who am I", and [`service`] ties them to the store.

pub mod oauth;
pub mod service;
pub mod state;

pub use service::{Callback, LinkError, Linked, Linking};
