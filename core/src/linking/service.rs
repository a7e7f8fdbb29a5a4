//! Linking oneself: the consent link `/link` hands out, and what the callback does with the
//! platform's answer. Every refusal happens before the one write that links, so a refused
//! callback changes nothing (a spent state only stays spent).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use url::Url;

use super::oauth::{OAuthClient, OAuthError};
use super::state::{StateError, States};
use crate::email::Email;
use crate::platform::PlatformKind;
use crate::site::DivisionId;
use crate::store::{SelfLink, Store, StoreError};

/// What the platform sent the member back with (`/oauth/{platform}/callback?…`).
#[derive(Clone, Debug, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set instead of `code` when the member did not consent (`access_denied`) or the
    /// platform refused the request.
    pub error: Option<String>,
}

/// A member linked to a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linked {
    pub member: u64,
    pub email: Email,
    /// The host's division now: theirs, else the site's default one.
    pub division: Option<DivisionId>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0} sign-in is not configured")]
    NotConfigured(PlatformKind),
    #[error("the member did not consent ({0})")]
    Denied(String),
    /// A state that is forged, altered, for another platform, or missing, or no code.
    #[error("the callback is not one of ours")]
    BadCallback,
    #[error("the link state expired")]
    Expired,
    #[error("the link state was used before")]
    Replayed,
    #[error(transparent)]
    Platform(#[from] OAuthError),
    #[error("another member is already linked to {0}")]
    Taken(Email),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The platforms' OAuth clients (those configured) and where states are signed and spent.
#[derive(Clone)]
pub struct Linking {
    store: Arc<dyn Store>,
    states: States,
    webex: Option<OAuthClient>,
    zoom: Option<OAuthClient>,
}

impl Linking {
    pub fn new(
        store: Arc<dyn Store>,
        states: States,
        webex: Option<OAuthClient>,
        zoom: Option<OAuthClient>,
    ) -> Linking {
        Linking { store, states, webex, zoom }
    }

    fn client(&self, platform: PlatformKind) -> Result<&OAuthClient, LinkError> {
        let client = match platform {
            PlatformKind::Webex => self.webex.as_ref(),
            PlatformKind::Zoom => self.zoom.as_ref(),
        };
        client.ok_or(LinkError::NotConfigured(platform))
    }

    /// Where `member` consents on `platform`, with a fresh state valid for 10 minutes; none
    /// when the platform's OAuth client is not configured.
    pub fn consent_url(
        &self,
        platform: PlatformKind,
        member: u64,
        now: DateTime<Utc>,
    ) -> Option<Url> {
        let client = self.client(platform).ok()?;
        Some(client.consent_url(&self.states.sign(platform, member, now)))
    }

    /// Checks the callback, reads the consenting account's e-mail (dropping the token), and
    /// links the member who ran `/link` to that host.
    pub async fn complete(
        &self,
        platform: PlatformKind,
        callback: Callback,
        now: DateTime<Utc>,
    ) -> Result<Linked, LinkError> {
        if let Some(error) = callback.error {
            return Err(LinkError::Denied(error));
        }
        let state = callback.state.ok_or(LinkError::BadCallback)?;
        let state = self.states.verify(&state, now).map_err(|e| match e {
            StateError::Invalid => LinkError::BadCallback,
            StateError::Expired(_) => LinkError::Expired,
        })?;
        if state.platform != platform {
            return Err(LinkError::BadCallback);
        }
        let code = callback.code.ok_or(LinkError::BadCallback)?;
        let client = self.client(platform)?;
        // Spent before the code is used: two callbacks with one state (a reload, a replay on
        // another instance) cannot both go on.
        if !self.store.spend_oauth_state(state.nonce.as_str(), now).await? {
            return Err(LinkError::Replayed);
        }
        let email = client.email(&code).await?;
        match self.store.link_self(state.member, &email).await? {
            SelfLink::Linked { division } => {
                tracing::info!(member = state.member, %platform, "member linked themselves to a host");
                Ok(Linked { member: state.member, email, division })
            }
            SelfLink::TakenBy(_) => Err(LinkError::Taken(email)),
        }
    }
}
