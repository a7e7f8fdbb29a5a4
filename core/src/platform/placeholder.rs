//! TEMPORARY (branch `fee` only): stands in for the platform branch's real calls until merged.
#![allow(unused_variables)]
use super::control::{Attendee, MeetingRequest, Registrant, Registration, ScheduledMeeting};
use super::webex_api::{WebexApi, WebexError};
use super::zoom_api::{ZoomApi, ZoomError};

macro_rules! pending {
    ($api:ty, $err:ty) => {
        impl $api {
            pub async fn schedule_meeting(
                &self,
                r: &MeetingRequest,
            ) -> Result<ScheduledMeeting, $err> {
                unimplemented!()
            }
            pub async fn require_registration(
                &self,
                m: &str,
                r: &Registration,
            ) -> Result<(), $err> {
                unimplemented!()
            }
            pub async fn admit(&self, m: &str, a: &Attendee) -> Result<Registrant, $err> {
                unimplemented!()
            }
            pub async fn cancel_registrant(
                &self,
                m: &str,
                r: &Registrant,
                e: &str,
            ) -> Result<(), $err> {
                unimplemented!()
            }
            pub async fn cancel_meeting(&self, m: &str) -> Result<(), $err> {
                unimplemented!()
            }
        }
    };
}
pending!(WebexApi, WebexError);
pending!(ZoomApi, ZoomError);
