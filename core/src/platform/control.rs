//! What tollbooth asks of a platform's REST API at run time, whichever platform it is.

use async_trait::async_trait;

use super::webex_api::{WebexApi, WebexError};
use super::zoom_api::{ZoomApi, ZoomError};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Webex(#[from] WebexError),
    #[error(transparent)]
    Zoom(#[from] ZoomError),
}

#[async_trait]
pub trait MeetingControl: Send + Sync {
    /// Ends a running meeting for everyone in it.
    async fn end_meeting(&self, meeting_id: &str) -> Result<(), ControlError>;
}

#[async_trait]
impl MeetingControl for WebexApi {
    async fn end_meeting(&self, meeting_id: &str) -> Result<(), ControlError> {
        Ok(WebexApi::end_meeting(self, meeting_id).await?)
    }
}

#[async_trait]
impl MeetingControl for ZoomApi {
    async fn end_meeting(&self, meeting_id: &str) -> Result<(), ControlError> {
        Ok(ZoomApi::end_meeting(self, meeting_id).await?)
    }
}
