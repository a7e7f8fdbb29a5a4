//! The platforms' OAuth authorization-code flow, as far as linking needs it: the consent URL,
//! exchanging the code for an access token, and reading the account's e-mail with it. The
//! token is dropped as soon as the e-mail is read: tollbooth acts on nobody's behalf.
//!
//! Webex (integration): `GET {oauth_base}/authorize`, `POST {oauth_base}/access_token` with
//! the client's id and secret in the form, `GET {api_base}/people/me` → `emails[0]`.
//! Zoom (OAuth app): `GET {oauth_base}/oauth/authorize`, `POST {oauth_base}/oauth/token` with
//! HTTP Basic client authentication, `GET {api_base}/users/me` → `email`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::config::OAuthApp;
use crate::email::Email;
use crate::platform::PlatformKind;

/// A member waits on the callback page for these calls: they fail rather than hang.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The platform refused the code: used before, expired, or for another redirect.
    #[error("{platform} refused the authorization code: {reason}")]
    CodeRefused { platform: PlatformKind, reason: String },
    /// The platform answered something else than the documented answer, or not at all.
    #[error("{platform} OAuth call failed: {reason}")]
    Failed { platform: PlatformKind, reason: String },
}

/// One platform's OAuth client.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    platform: PlatformKind,
    app: OAuthApp,
    /// Where the "who am I" call goes (the platform's REST base).
    api_base: Url,
    /// `{public_url}/oauth/{platform}/callback`, registered with the platform.
    redirect_uri: Url,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
}

#[derive(Deserialize)]
struct OAuthRefusal {
    #[serde(default)]
    error: String,
    #[serde(default, alias = "reason", alias = "message")]
    error_description: String,
}

#[derive(Deserialize)]
struct WebexPerson {
    #[serde(default)]
    emails: Vec<String>,
}

#[derive(Deserialize)]
struct ZoomUser {
    email: Option<String>,
}

impl OAuthClient {
    pub fn new(platform: PlatformKind, app: OAuthApp, api_base: Url, public_url: &Url) -> Self {
        let redirect_uri = public_url
            .join(&format!("oauth/{platform}/callback"))
            .expect("a relative path joins any base URL");
        let http = reqwest::Client::builder()
            .user_agent(concat!("tollbooth/", env!("CARGO_PKG_VERSION")))
            .timeout(TIMEOUT)
            .build()
            .expect("a client with no custom TLS or proxy settings builds");
        OAuthClient { platform, app, api_base, redirect_uri, http }
    }

    /// Where the member consents; the platform sends them back with `code` and `state`.
    pub fn consent_url(&self, state: &str) -> Url {
        let (path, scope) = match self.platform {
            PlatformKind::Webex => ("authorize", "spark:people_read"),
            PlatformKind::Zoom => ("oauth/authorize", "user:read"),
        };
        let mut url = self.under(&self.app.oauth_base, path);
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.app.client_id)
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("scope", scope)
            .append_pair("state", state);
        url
    }

    /// The e-mail of the account that consented and got `code`.
    pub async fn email(&self, code: &str) -> Result<Email, OAuthError> {
        let token = self.exchange(code).await?;
        let me = match self.platform {
            PlatformKind::Webex => "people/me",
            PlatformKind::Zoom => "users/me",
        };
        let response = self
            .http
            .get(self.under(&self.api_base, me))
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| self.failed(format!("GET {me}: {e}")))?;
        if !response.status().is_success() {
            return Err(self.failed(format!("GET {me} answered {}", response.status())));
        }
        let email = match self.platform {
            PlatformKind::Webex => response
                .json::<WebexPerson>()
                .await
                .map(|p| p.emails.into_iter().next())
                .map_err(|e| self.failed(format!("GET {me}: {e}")))?,
            PlatformKind::Zoom => response
                .json::<ZoomUser>()
                .await
                .map(|u| u.email)
                .map_err(|e| self.failed(format!("GET {me}: {e}")))?,
        };
        let email = email.ok_or_else(|| self.failed(format!("GET {me} named no e-mail")))?;
        email.parse().map_err(|e| self.failed(format!("GET {me}: {e}")))
    }

    async fn exchange(&self, code: &str) -> Result<SecretString, OAuthError> {
        let redirect = self.redirect_uri.as_str();
        let mut form =
            vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect)];
        let request = match self.platform {
            PlatformKind::Webex => {
                form.push(("client_id", &self.app.client_id));
                form.push(("client_secret", self.app.client_secret.expose_secret()));
                self.http.post(self.under(&self.app.oauth_base, "access_token"))
            }
            PlatformKind::Zoom => self
                .http
                .post(self.under(&self.app.oauth_base, "oauth/token"))
                .basic_auth(&self.app.client_id, Some(self.app.client_secret.expose_secret())),
        };
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| self.failed(format!("token exchange: {e}")))?;
        let status = response.status();
        if status.is_success() {
            let answer: TokenAnswer =
                response.json().await.map_err(|e| self.failed(format!("token exchange: {e}")))?;
            return Ok(answer.access_token);
        }
        let refusal = response.json::<OAuthRefusal>().await.ok();
        match refusal {
            // RFC 6749 §5.2: a code that is used, expired or not ours.
            Some(r) if status == reqwest::StatusCode::BAD_REQUEST && r.error == "invalid_grant" => {
                Err(OAuthError::CodeRefused {
                    platform: self.platform,
                    reason: r.error_description,
                })
            }
            _ => Err(self.failed(format!("token exchange answered {status}"))),
        }
    }

    /// `path` under `base`, whether or not `base` ends in a slash.
    fn under(&self, base: &Url, path: &str) -> Url {
        let mut url = base.clone();
        let joined = format!("{}/{path}", base.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    fn failed(&self, reason: String) -> OAuthError {
        OAuthError::Failed { platform: self.platform, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(platform: PlatformKind, base: &str) -> OAuthClient {
        let app = OAuthApp {
            client_id: "cid".into(),
            client_secret: SecretString::from("hunter2"),
            oauth_base: base.parse().unwrap(),
        };
        let public: Url = "https://bill.example.com/".parse().unwrap();
        OAuthClient::new(platform, app, "https://api.example.com/v2".parse().unwrap(), &public)
    }

    #[test]
    fn consent_urls_follow_each_platforms_documented_shape() {
        let webex = client(PlatformKind::Webex, "https://webexapis.com/v1").consent_url("s.1");
        assert_eq!(
            webex.as_str(),
            "https://webexapis.com/v1/authorize?response_type=code&client_id=cid&redirect_uri=https%3A%2F%2Fbill.example.com%2Foauth%2Fwebex%2Fcallback&scope=spark%3Apeople_read&state=s.1"
        );
        let zoom = client(PlatformKind::Zoom, "https://zoom.us").consent_url("s.2");
        assert_eq!(
            zoom.as_str(),
            "https://zoom.us/oauth/authorize?response_type=code&client_id=cid&redirect_uri=https%3A%2F%2Fbill.example.com%2Foauth%2Fzoom%2Fcallback&scope=user%3Aread&state=s.2"
        );
        assert!(
            !format!("{:?}", client(PlatformKind::Zoom, "https://zoom.us")).contains("hunter2")
        );
    }
}
