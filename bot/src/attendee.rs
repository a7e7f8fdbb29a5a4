//! `/register session first_name last_name email` and `/registrations`: an attendee's
//! registrations for sessions with a fee. Everything is ephemeral: an attendee never sees
//! another attendee's data or pay link.

use chrono::{Duration, Utc};
use serenity::all::CreateButton;
use tollbooth_core::fee_based::registration::{
    self, Registration, RegistrationState, ScheduledSession,
};
use tollbooth_core::payments::order::Order;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{Registered, StoreError};

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
        0 => Err(Message::private(match lang {
            Lang::En => format!("No session with a fee has the id `{named}`."),
            Lang::No => format!("Ingen økt med avgift har id-en `{named}`."),
        })),
        _ => Err(Message::private(match lang {
            Lang::En => {
                format!("`{named}` is on both platforms: write webex/{meeting} or zoom/{meeting}.")
            }
            Lang::No => format!(
                "`{named}` finnes på begge plattformene: skriv webex/{meeting} eller zoom/{meeting}."
            ),
        })),
    }
}

fn closed_text(lang: Lang, session: &ScheduledSession, closed: registration::Closed) -> Message {
    let why = closed.said(lang);
    Message::private(match lang {
        Lang::En => format!("You cannot register for **{}**: {why}.", session.title),
        Lang::No => format!("Du kan ikke melde deg på **{}**: {why}.", session.title),
    })
}

/// The platform knows registrants by e-mail, so an address someone else registered with would
/// make their seat and join link this attendee's.
fn email_taken(lang: Lang, session: &ScheduledSession, email: &str) -> Message {
    Message::private(match lang {
        Lang::En => format!(
            "Someone else has already registered for **{}** with the e-mail address {email}. Register with your own e-mail address.",
            session.title
        ),
        Lang::No => format!(
            "Noen andre er allerede påmeldt **{}** med e-postadressen {email}. Meld deg på med din egen e-postadresse.",
            session.title
        ),
    })
}

async fn run_register(bot: &Bot, caller: Caller, args: &Args) -> Result<Message, Message> {
    let lang = caller.lang;
    let site = bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?;
    if !(site.ecommerce_enabled && site.fee_based_enabled) {
        return Err(Message::private(lang.pick(
            "Registration with a fee is turned off on this site.",
            "Påmelding med avgift er slått av på dette nettstedet.",
        )));
    }
    let named = args.str("session").map_err(|b| bad(lang, b))?;
    let attendee = registration::attendee(
        args.str("first_name").map_err(|b| bad(lang, b))?,
        args.str("last_name").map_err(|b| bad(lang, b))?,
        args.str("email").map_err(|b| bad(lang, b))?,
    )
    .map_err(|why| bad(lang, BadOption::invalid("email", why)))?;
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
        return Ok(Message::private(match lang {
            Lang::En => {
                format!("You are registered for **{}** already; see /registrations.", session.title)
            }
            Lang::No => format!("Du er allerede påmeldt **{}**; se /registrations.", session.title),
        }));
    }
    let token = bot
        .pay_links
        .sign(&registration.order_id, Utc::now() + Duration::hours(bot.pay_link_hours));
    let url = bot.url(&format!("pay/{token}"));
    let cur = fee.amount.currency();
    Ok(Message::private(match lang {
        Lang::En => format!(
            "Pay the fee of {} {cur} for **{}** ({} UTC). Once it is paid you are registered and get the join link here.",
            fee.amount,
            session.title,
            session.starts_at.format("%Y-%m-%d %H:%M")
        ),
        Lang::No => format!(
            "Betal avgiften på {} {cur} for **{}** ({} UTC). Når den er betalt er du påmeldt og får lenken her.",
            fee.amount,
            session.title,
            session.starts_at.format("%Y-%m-%d %H:%M")
        ),
    })
    .buttons(vec![CreateButton::new_link(url.as_str()).label(lang.pick("Pay now", "Betal nå"))]))
}

fn state_text(lang: Lang, state: RegistrationState) -> &'static str {
    match state {
        RegistrationState::AwaitingPayment => {
            lang.pick("waiting for payment", "venter på betaling")
        }
        RegistrationState::Paid => lang.pick("paid, being registered", "betalt, meldes på"),
        RegistrationState::Approved => lang.pick("registered", "påmeldt"),
        RegistrationState::Refunded => lang.pick("refunded", "refundert"),
        RegistrationState::Cancelled => lang.pick("cancelled", "avlyst"),
    }
}

async fn list(bot: &Bot, caller: Caller) -> Message {
    let lang = caller.lang;
    let found = match bot.store.registrations_of(caller.user_id).await {
        Ok(found) => found,
        Err(e) => return store_failed(lang, &e),
    };
    if found.is_empty() {
        return Message::private(lang.pick(
            "You have no registrations. Register with /register.",
            "Du har ingen påmeldinger. Meld deg på med /register.",
        ));
    }
    let lines: Vec<String> = found
        .iter()
        .map(|(r, s)| {
            let mut line = format!(
                "• **{}** ({}, {} UTC): {}",
                s.title,
                s.key(),
                s.starts_at.format("%Y-%m-%d %H:%M"),
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
