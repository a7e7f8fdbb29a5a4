//! Sending e-mail through SMTP (lettre, over rustls). SMTP has no idempotency key: each
//! message carries a `Message-ID` derived from its outbox key, so that a copy sent again after
//! a lost answer is recognisable as the same message (and dropped by servers and clients that
//! deduplicate on it), but nothing stops a server from delivering it twice.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::Mail;

/// One SMTP conversation may take this long, within the outbox's lease on the effect.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the URL's credentials.
        f.debug_struct("Mailer").field("from", &self.from).finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `url` (`smtp://…`, `smtps://…`); nothing connects until a message is sent.
    pub fn new(
        url: &SecretString,
        from: Mailbox,
    ) -> Result<Mailer, lettre::transport::smtp::Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Mailer { transport, from })
    }

    /// Sends `mail` as the outbox effect `key`; the error says what went wrong.
    pub async fn send(&self, mail: &Mail, key: &str) -> Result<(), String> {
        let to: Mailbox = mail.to.as_str().parse().map_err(|e| format!("to {}: {e}", mail.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .message_id(Some(self.message_id(key)))
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| format!("e-mail to {}: {e}", mail.to))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("e-mail to {}: {e}", mail.to))
    }

    /// The same for every attempt at one effect, and different for every effect.
    fn message_id(&self, key: &str) -> String {
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        format!("<{}@{}>", &digest[..32], self.from.email.domain())
    }
}
