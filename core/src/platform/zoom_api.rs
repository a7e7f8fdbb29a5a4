//! A client of the Zoom REST API (`zoom.api_base`, default `https://api.zoom.us/v2`): ending
//! meetings. The bearer token travels only in the `Authorization` header, which reqwest marks
//! sensitive, so it is neither logged nor printed.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ZoomError {
    /// Zoom answered with an error status; `message` is Zoom's own explanation.
    #[error("Zoom answered {status} to PUT {path}: {message}")]
    Api { status: StatusCode, path: String, message: String },
    #[error("cannot reach Zoom for PUT {path}")]
    Transport {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "zoom.api_base (TOLLBOOTH_ZOOM__API_BASE) `{0}` is not a base URL that can carry paths"
    )]
    BadBase(Url),
}

/// Zoom asks for a uuid that begins with `/` or contains `//` to be encoded twice (its router
/// decodes once before routing); `extend` then encodes the result once more.
fn path_id(meeting_id: &str) -> String {
    if meeting_id.starts_with('/') || meeting_id.contains("//") {
        url::form_urlencoded::byte_serialize(meeting_id.as_bytes()).collect()
    } else {
        meeting_id.to_owned()
    }
}

/// Zoom's error body: `{"code": 3001, "message": "..."}`.
#[derive(Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

pub struct ZoomApi {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
}

impl ZoomApi {
    pub fn new(base: Url, token: SecretString) -> Result<ZoomApi, ZoomError> {
        if base.cannot_be_a_base() {
            return Err(ZoomError::BadBase(base));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("tollbooth/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client with no custom TLS or proxy settings builds");
        Ok(ZoomApi { http, base, token })
    }

    /// `PUT /meetings/{meetingId}/status` with `{"action": "end"}` (Zoom answers 204).
    /// `meeting_id` may be a meeting instance's uuid.
    pub async fn end_meeting(&self, meeting_id: &str) -> Result<(), ZoomError> {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("checked in new").pop_if_empty().extend([
            "meetings",
            &path_id(meeting_id),
            "status",
        ]);
        let path = url.path().to_owned();
        let response = self
            .http
            .put(url)
            .bearer_auth(self.token.expose_secret())
            .json(&json!({"action": "end"}))
            .send()
            .await
            .map_err(|source| ZoomError::Transport { path: path.clone(), source })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let parsed: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
        let message = if parsed.message.is_empty() {
            text.chars().take(200).collect::<String>().trim().to_owned()
        } else {
            parsed.message
        };
        Err(ZoomError::Api { status, path, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_with_slashes_are_encoded_twice() {
        assert_eq!(path_id("4444AAAiAAAAAiAiAiiAii=="), "4444AAAiAAAAAiAiAiiAii==");
        assert_eq!(path_id("/ajXp112QmuoKj4854875=="), "%2FajXp112QmuoKj4854875%3D%3D");
        assert_eq!(path_id("ab//cd"), "ab%2F%2Fcd");
    }
}
