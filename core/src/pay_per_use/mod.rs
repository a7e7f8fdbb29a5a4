//! Pay-per-use: a host pays before a session starts; a start that was not paid for is ended
//! (enforcement), an ended session is billed for the minutes really connected (billing),
//! spend is booked to the host's division against its budget (budget), and the decisions are
//! taken with the site's terms (terms).

pub mod billing;
pub mod budget;
pub mod enforcement;
pub mod service;
pub mod terms;
