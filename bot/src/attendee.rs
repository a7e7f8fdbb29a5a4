//! `/register session first_name last_name email` and `/registrations`: an attendee's
//! registrations for sessions with a fee. Everything is ephemeral: an attendee never sees
//! another attendee's data or pay link.

use chrono::{Duration, Utc};
use serenity::all::CreateButton;
use tollbooth_core::fee_based::registration::{
    self, Registration, RegistrationState, ScheduledSession,
};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::payments::order::Order;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{Registered, StoreError};
use tollbooth_core::time;

use crate::command::{Args, BadOption};
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

pub fn register(bot: &Bot, caller: Caller, args: &Args) -> Reply {
    let (bot, args) = (bot.clone(), args.clone());
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            run_register(&bot, caller, &args).await.unwrap_or_else(|message| message)
        }),
    }
}

pub fn registrations(bot: &Bot, caller: Caller) -> Reply {
    let bot = bot.clone();
    Reply::Later { ephemeral: true, work: Box::pin(async move { list(&bot, caller).await }) }
}

fn bad(lang: Lang, bad: BadOption) -> Message {
    Message::private(bad.describe(lang))
}

/// The session an attendee names: `webex/…`, `zoom/…`, or a meeting id that only one
/// platform has.
async fn find(bot: &Bot, lang: Lang, named: &str) -> Result<ScheduledSession, Message> {
    let (platform, meeting) = match named.split_once('/') {
        Some((p, m)) if p.parse::<PlatformKind>().is_ok() => (p.parse().ok(), m),
        _ => (None, named),
    };
    let mut found =
        bot.store.scheduled_by_meeting(meeting).await.map_err(|e| store_failed(lang, &e))?;
    found.retain(|s| platform.is_none_or(|p| s.platform == p) && s.fee.is_some());
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let args = TextArgs::new().str("named", named);
            Err(Message::private(lang.text_with("no-fee-session", &args)))
        }
        _ => {
            let args = TextArgs::new().str("named", named).str("meeting", meeting);
            Err(Message::private(lang.text_with("ambiguous-session", &args)))
        }
    }
}

fn closed_text(lang: Lang, session: &ScheduledSession, closed: registration::Closed) -> Message {
    let args = TextArgs::new().str("title", &session.title).str("why", closed.said(lang));
    Message::private(lang.text_with("cannot-register", &args))
}

/// The platform knows registrants by e-mail, so an address someone else registered with would
/// make their seat and join link this attendee's.
fn email_taken(lang: Lang, session: &ScheduledSession, email: &str) -> Message {
    let args = TextArgs::new().str("title", &session.title).str("email", email);
    Message::private(lang.text_with("email-taken", &args))
}

async fn run_register(bot: &Bot, caller: Caller, args: &Args) -> Result<Message, Message> {
    let lang = caller.lang;
    let site = bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?;
    if !(site.ecommerce_enabled && site.fee_based_enabled) {
        return Err(Message::private(lang.text("registration-off")));
    }
    let named = args.str("session").map_err(|b| bad(lang, b))?;
    let attendee = registration::attendee(
        args.str("first_name").map_err(|b| bad(lang, b))?,
        args.str("last_name").map_err(|b| bad(lang, b))?,
        args.str("email").map_err(|b| bad(lang, b))?,
    )
    .map_err(|why| bad(lang, BadOption::invalid("email", why.said(lang))))?;
    let session = find(bot, lang, named).await?;
    let taken = bot
        .store
        .seats_taken(session.platform, &session.meeting_id)
        .await
        .map_err(|e| store_failed(lang, &e))?;
    let fee = session.open_for(taken, Utc::now()).map_err(|c| closed_text(lang, &session, c))?;
    let order = Order::for_registration(session.key(), attendee.email.clone(), fee.amount);
    let new =
        Registration::new(&session, caller.user_id, attendee, order.id.clone()).in_language(lang);
    let registration = match bot.store.register(&new, &order).await {
        Ok(Registered::New(r) | Registered::Existing(r)) => r,
        Err(StoreError::EmailTaken { email, .. }) => {
            return Err(email_taken(lang, &session, &email));
        }
        Err(e) => return Err(store_failed(lang, &e)),
    };
    if registration.state != RegistrationState::AwaitingPayment {
        let args = TextArgs::new().str("title", &session.title);
        return Ok(Message::private(lang.text_with("already-registered", &args)));
    }
    let token = bot
        .pay_links
        .sign(&registration.order_id, Utc::now() + Duration::hours(bot.pay_link_hours));
    let url = bot.pay_url(&token, lang);
    let args = TextArgs::new()
        .str("amount", fee.amount)
        .str("currency", fee.amount.currency())
        .str("title", &session.title)
        .str("at", time::markup(session.starts_at));
    Ok(Message::private(lang.text_with("pay-fee", &args))
        .buttons(vec![CreateButton::new_link(url.as_str()).label(lang.text("pay-now"))]))
}

fn state_text(lang: Lang, state: RegistrationState) -> String {
    match state {
        RegistrationState::AwaitingPayment => lang.text("registration-awaiting-payment"),
        RegistrationState::Paid => lang.text("registration-paid"),
        RegistrationState::Approved => lang.text("registration-approved"),
        RegistrationState::Refunded => lang.text("registration-refunded"),
        RegistrationState::Cancelled => lang.text("registration-cancelled-state"),
    }
}

async fn list(bot: &Bot, caller: Caller) -> Message {
    let lang = caller.lang;
    let found = match bot.store.registrations_of(caller.user_id).await {
        Ok(found) => found,
        Err(e) => return store_failed(lang, &e),
    };
    if found.is_empty() {
        return Message::private(lang.text("no-registrations"));
    }
    let lines: Vec<String> = found
        .iter()
        .map(|(r, s)| {
            let mut line = format!(
                "• **{}** ({}, {}): {}",
                s.title,
                s.key(),
                time::markup(s.starts_at),
                state_text(lang, r.state)
            );
            if r.state == RegistrationState::Approved {
                line.push_str(&format!(" — {}", r.join_url.as_deref().unwrap_or(&s.join_url)));
            }
            if let Some(reason) =
                r.reason.as_deref().filter(|_| r.state == RegistrationState::Refunded)
            {
                line.push_str(&format!(" ({reason})"));
            }
            line
        })
        .collect();
    Message::private(lines.join("\n"))
}
