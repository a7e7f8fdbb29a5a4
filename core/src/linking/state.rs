//! The OAuth `state` of one `/link`: which member asked, for which platform, until when, and
//! a nonce that the callback spends once. Signed, so that nobody can send a platform's
//! callback on behalf of another member.
//!
//! A state is `{platform}.{member}.{expiry, Unix seconds}.{nonce}.{hex HMAC-SHA256}`, keyed
//! with a key derived from the pay-link secret (so a pay link can never pass as a state).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{KeyInit, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::platform::PlatformKind;

type HmacSha256 = hmac::Hmac<Sha256>;

/// How long a member has to consent once they ran `/link`.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);

/// What the callback learns from a state it verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    pub platform: PlatformKind,
    /// The Discord member who ran `/link`.
    pub member: u64,
    pub nonce: Nonce,
}

/// 128 random bits, hex: what makes each state single-use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    fn random() -> Nonce {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Nonce(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Nonce {
    type Err = StateError;
    fn from_str(s: &str) -> Result<Nonce, StateError> {
        let hex32 = s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
        hex32.then(|| Nonce(s.to_ascii_lowercase())).ok_or(StateError::Invalid)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    /// Forged, altered, truncated, or not a state at all.
    #[error("not a valid link state")]
    Invalid,
    /// Genuine, but older than [`STATE_LIFETIME`]: the member runs `/link` again.
    #[error("link state expired at {0}")]
    Expired(DateTime<Utc>),
}

/// Signs and verifies states.
#[derive(Clone)]
pub struct States {
    key: SecretString,
}

impl fmt::Debug for States {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("States([REDACTED])")
    }
}

impl States {
    /// Keyed with HMAC(`secret`, "oauth-state"): the pay-link secret serves, and what either
    /// signs cannot pass for the other.
    pub fn new(secret: &SecretString) -> States {
        let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"oauth-state");
        States { key: SecretString::from(hex::encode(mac.finalize().into_bytes())) }
    }

    /// A fresh state for `member` on `platform`, valid for [`STATE_LIFETIME`] from `now`.
    pub fn sign(&self, platform: PlatformKind, member: u64, now: DateTime<Utc>) -> String {
        let expires = (now + STATE_LIFETIME).timestamp();
        let payload = format!("{platform}.{member}.{expires}.{}", Nonce::random().as_str());
        let signature = hex::encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    pub fn verify(&self, state: &str, now: DateTime<Utc>) -> Result<LinkState, StateError> {
        let (payload, signature) = state.rsplit_once('.').ok_or(StateError::Invalid)?;
        let signature = hex::decode(signature).map_err(|_| StateError::Invalid)?;
        // `verify_slice` compares in constant time.
        self.mac(payload).verify_slice(&signature).map_err(|_| StateError::Invalid)?;
        let mut parts = payload.split('.');
        let mut next = || parts.next().ok_or(StateError::Invalid);
        let platform: PlatformKind = next()?.parse().map_err(|_| StateError::Invalid)?;
        let member: u64 = next()?.parse().map_err(|_| StateError::Invalid)?;
        let expires = next()?
            .parse::<i64>()
            .ok()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or(StateError::Invalid)?;
        let nonce: Nonce = next()?.parse()?;
        if now >= expires {
            return Err(StateError::Expired(expires));
        }
        Ok(LinkState { platform, member, nonce })
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(secret: &str) -> States {
        States::new(&SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_state_names_its_member_and_platform_for_ten_minutes() {
        let now = Utc::now();
        let state = states("s3cret").sign(PlatformKind::Zoom, 4242, now);
        let read = states("s3cret").verify(&state, now + Duration::minutes(9)).unwrap();
        assert_eq!((read.platform, read.member), (PlatformKind::Zoom, 4242));
        assert!(matches!(
            states("s3cret").verify(&state, now + Duration::minutes(10)),
            Err(StateError::Expired(_))
        ));
    }

    #[test]
    fn each_state_has_its_own_nonce() {
        let now = Utc::now();
        let s = states("s3cret");
        let (a, b) = (s.sign(PlatformKind::Webex, 1, now), s.sign(PlatformKind::Webex, 1, now));
        assert_ne!(s.verify(&a, now).unwrap().nonce, s.verify(&b, now).unwrap().nonce);
    }

    #[test]
    fn forged_or_altered_states_are_invalid() {
        let now = Utc::now();
        let state = states("s3cret").sign(PlatformKind::Webex, 4242, now);
        assert_eq!(states("other").verify(&state, now), Err(StateError::Invalid));
        let for_someone_else = state.replacen("4242", "4243", 1);
        assert_eq!(states("s3cret").verify(&for_someone_else, now), Err(StateError::Invalid));
        for junk in ["", "abc", "a.b.c.d.e", &format!("{state}0")] {
            assert_eq!(states("s3cret").verify(junk, now), Err(StateError::Invalid), "{junk}");
        }
    }

    #[test]
    fn a_pay_link_signed_with_the_same_secret_is_no_state() {
        let secret = SecretString::from("s3cret".to_owned());
        let pay = crate::payments::paylink::PayLinks::new(secret.clone());
        let order = crate::payments::order::OrderId::random();
        let token = pay.sign(&order, Utc::now() + Duration::hours(1));
        assert_eq!(States::new(&secret).verify(&token, Utc::now()), Err(StateError::Invalid));
    }
}
