//! Reaching people outside Discord: who is told what on which channel. A notice (a subject,
//! its text, a link) goes to a person's linked Discord member as before, by e-mail when SMTP
//! is configured, and to a Webex host in Webex when a Webex bot token is (the one channel
//! every Webex host has). Each channel is an outbox effect of its own, under the notice's key
//! with the channel added, so that each is sent once and a failing one does not hold up the
//! others.

pub mod mail;
mod render;

use serde::{Deserialize, Serialize};

use crate::email::Email;
use crate::lang::Lang;
use crate::outbox::{ChatMessage, Effect, Link};
use crate::platform::PlatformKind;
use crate::store::{StoreError, Tx};

/// The channels configured beyond Discord; a channel that is off gets nothing queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Channels {
    /// `smtp.url` and `smtp.from` are set.
    pub email: bool,
    /// `webex.bot_token` is set.
    pub webex: bool,
}

/// Someone to tell, and where they can be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Their address, when it is one (attendees typed theirs in).
    pub email: Option<Email>,
    /// Their linked Discord member, if any.
    pub discord_user_id: Option<u64>,
    /// Their Discord language when linked, else the site's default (English).
    pub lang: Lang,
    /// A Webex host: a Webex bot can message their address.
    pub on_webex: bool,
}

/// What a person is told, written in their language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub text: String,
    pub link: Option<Link>,
}

/// An e-mail with a plain-text and an HTML part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A direct message in Webex to a person by address (`POST /messages` with `toPersonEmail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebexMessage {
    pub to_person_email: Email,
    pub markdown: String,
}

/// A host as a person: their linked Discord member and its language, if any. A host nobody
/// can reach (no link, no e-mail, not on Webex with a bot) is logged, since they are not told.
pub async fn host(
    tx: &mut dyn Tx,
    channels: Channels,
    host: &Email,
    platform: PlatformKind,
) -> Result<Person, StoreError> {
    let linked = tx.host_recipient(host).await?;
    let on_webex = platform == PlatformKind::Webex;
    if linked.is_none() && !channels.email && !(channels.webex && on_webex) {
        tracing::warn!(%host, "host has no linked Discord member and no other channel is set up, so is not told; link with /admin link or set smtp.url");
    }
    Ok(Person {
        email: Some(host.clone()),
        discord_user_id: linked.map(|r| r.discord_user_id),
        lang: linked.map(|r| r.lang).unwrap_or_default(),
        on_webex,
    })
}

/// The effects that tell `person` the `notice` on every channel they can be reached on, each
/// under `key` (which names the decision) with its channel: the Discord message keeps `key`
/// itself, as before there were other channels.
pub fn tell(
    channels: Channels,
    key: &str,
    person: &Person,
    notice: &Notice,
) -> Vec<(String, Effect)> {
    let mut effects = Vec::new();
    if let Some(discord_user_id) = person.discord_user_id {
        let message =
            ChatMessage { discord_user_id, text: notice.text.clone(), link: notice.link.clone() };
        effects.push((key.to_owned(), Effect::ChatMessage(message)));
    }
    if let Some(to) = person.email.clone().filter(|_| channels.email) {
        let mail = Mail {
            to,
            subject: notice.subject.clone(),
            text: render::text(notice),
            html: render::html(notice, person.lang),
        };
        effects.push((format!("email:{key}"), Effect::Email(mail)));
    }
    if let Some(to_person_email) =
        person.email.clone().filter(|_| channels.webex && person.on_webex)
    {
        let message = WebexMessage { to_person_email, markdown: render::markdown(notice) };
        effects.push((format!("webex:{key}"), Effect::WebexMessage(message)));
    }
    effects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(discord_user_id: Option<u64>, on_webex: bool) -> Person {
        let email = "host@example.com".parse().ok();
        Person { email, discord_user_id, lang: Lang::En, on_webex }
    }

    fn notice() -> Notice {
        let link = Link { label: "Pay now".into(), url: "https://t.example/pay/x?a=1&b=2".into() };
        Notice { subject: "Blocked".into(), text: "Ended <b>**it**</b>.".into(), link: Some(link) }
    }

    fn keys(effects: &[(String, Effect)]) -> Vec<&str> {
        effects.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn each_channel_gets_its_own_key_and_only_channels_that_are_on_are_used() {
        let all = Channels { email: true, webex: true };
        let effects = tell(all, "blocked:webex:m1", &host(Some(7), true), &notice());
        assert_eq!(
            keys(&effects),
            ["blocked:webex:m1", "email:blocked:webex:m1", "webex:blocked:webex:m1"]
        );
        let effects = tell(Channels::default(), "k", &host(None, true), &notice());
        assert!(effects.is_empty(), "{effects:?}");
        // A Zoom host has no Webex address to be messaged at.
        assert_eq!(keys(&tell(all, "k", &host(None, false), &notice())), ["email:k"]);
    }

    #[test]
    fn an_e_mail_has_a_text_and_an_escaped_html_part_with_the_link() {
        let effects =
            tell(Channels { email: true, webex: false }, "k", &host(None, true), &notice());
        let [(_, Effect::Email(mail))] = effects.as_slice() else { panic!("{effects:?}") };
        assert!(mail.text.contains("Pay now: https://t.example/pay/x?a=1&b=2"), "{}", mail.text);
        assert!(mail.text.starts_with("Ended <b>it</b>."), "{}", mail.text);
        let escaped = "Ended &#60;b&#62;<strong>it</strong>&#60;/b&#62;.";
        assert!(mail.html.contains(escaped), "{}", mail.html);
        assert!(
            mail.html.contains(r#"href="https://t.example/pay/x?a=1&#38;b=2""#),
            "{}",
            mail.html
        );
    }

    #[test]
    fn a_webex_message_links_in_markdown() {
        let effects =
            tell(Channels { email: false, webex: true }, "k", &host(None, true), &notice());
        let [(_, Effect::WebexMessage(m))] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(m.to_person_email.as_str(), "host@example.com");
        assert!(
            m.markdown.ends_with("[Pay now](https://t.example/pay/x?a=1&b=2)"),
            "{}",
            m.markdown
        );
    }
}
