//! The requests the platform-control tests send to every platform's emulator.

use tollbooth_core::platform::control::{Attendee, HostedMeeting, MeetingRequest, Registration};

pub const HOST: &str = "host@example.com";

/// A 90-minute session on 1 December 2026 at 15:00 UTC, with registration when a
/// `registration` is given.
pub fn session(registration: Option<Registration>) -> MeetingRequest {
    MeetingRequest {
        title: "Pricing 101".into(),
        start: "2026-12-01T15:00:00Z".parse().unwrap(),
        minutes: 90,
        host_email: HOST.into(),
        registration,
    }
}

pub fn attendee(email: &str) -> Attendee {
    Attendee { first_name: "Ada".into(), last_name: "Lovelace".into(), email: email.into() }
}

/// Meeting `id`, hosted by [`HOST`].
pub fn hosted(id: &str) -> HostedMeeting<'_> {
    HostedMeeting { id, host_email: HOST }
}
