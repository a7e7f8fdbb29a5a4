//! `/register session` and `/registrations`: an attendee's registrations for sessions with a
//! fee. Registrations, fees and approval on the platform are the fee-based work (#7); until
//! it lands these commands say so rather than pretend.

use crate::Caller;
use crate::reply::Message;

pub fn run(caller: Caller) -> Message {
    crate::session::not_yet(caller.lang)
}
