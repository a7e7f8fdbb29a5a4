//! `/session schedule | fee | start | cancel`: a host's sessions scheduled through tollbooth.
//! Each needs a platform call, so each is answered "thinking…" first. The caller is always
//! re-checked: a host acts only on their own sessions (administrators on any), and someone
//! else's session looks exactly like an unknown one.

use chrono::{DateTime, Utc};
use serenity::all::CreateButton;
use tollbooth_core::email::Email;
use tollbooth_core::fee_based;
use tollbooth_core::fee_based::registration::{self, Fee, ScheduledSession};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::money::Money;
use tollbooth_core::pay_per_use;
use tollbooth_core::payments::order::Binding;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::platform::control::{HostedMeeting, MeetingRequest, Registration};
use tollbooth_core::time;

use crate::command::{Args, BadOption};
use crate::lang::Lang;
use crate::reply::Message;
use crate::{Bot, Caller, store_failed};

/// What stopped a command: the message the member sees.
type Answer = Result<Message, Message>;

pub(crate) fn bad(lang: Lang, bad: BadOption) -> Message {
    Message::private(bad.describe(lang))
}

fn platform_failed(lang: Lang, platform: PlatformKind, error: impl std::fmt::Display) -> Message {
    tracing::warn!(%platform, error = %error, "platform call from chat failed");
    let args = TextArgs::new().str("platform", platform).str("error", error);
    Message::private(lang.text_with("platform-refused", &args))
}

/// This server has no client for the platform: the administrator's to fix, not the host's.
fn not_set_up(lang: Lang, platform: PlatformKind, why: &str) -> Message {
    tracing::warn!(%platform, why, "platform call from chat impossible");
    let args = TextArgs::new().str("platform", platform).str("why", why);
    Message::private(lang.text_with("platform-not-set-up", &args))
}

/// The host the member acts as.
async fn host(bot: &Bot, caller: Caller) -> Result<Email, Message> {
    match bot.store.linked_host(caller.user_id).await {
        Ok(Some(host)) => Ok(host),
        Ok(None) => Err(Message::private(caller.lang.text("not-linked"))),
        Err(e) => Err(store_failed(caller.lang, &e)),
    }
}

pub fn platform(lang: Lang, args: &Args) -> Result<PlatformKind, BadOption> {
    args.str("platform")?
        .parse()
        .map_err(|_| BadOption::invalid("platform", lang.text("option-platform")))
}

/// The session `platform`/`meeting` if the caller may act on it.
pub(crate) async fn own_session(
    bot: &Bot,
    caller: Caller,
    args: &Args,
) -> Result<ScheduledSession, Message> {
    let lang = caller.lang;
    let platform = platform(lang, args).map_err(|b| bad(lang, b))?;
    let meeting = args.str("meeting").map_err(|b| bad(lang, b))?;
    let not_found = || {
        let args = TextArgs::new().str("platform", platform).str("meeting", meeting);
        Message::private(lang.text_with("session-not-found", &args))
    };
    let session = match bot.store.scheduled(platform, meeting).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(store_failed(lang, &e)),
    };
    if !caller.manages_guild {
        let host = host(bot, caller).await?;
        if !host.as_str().eq_ignore_ascii_case(&session.host_email) {
            return Err(not_found());
        }
    }
    Ok(session)
}

/// The fee options (`fee`/`amount`, `capacity`, `deadline`), in the site's currency. Fees need
/// e-commerce and the fee-based feature on.
async fn fee(
    bot: &Bot,
    lang: Lang,
    args: &Args,
    option: &str,
    session_ends: DateTime<Utc>,
) -> Result<Option<Fee>, Message> {
    let Some(text) = args.opt_str(option) else {
        // Limits on registering mean nothing without a fee to register with.
        return match ["capacity", "deadline"].into_iter().find(|o| args.has(o)) {
            Some(limit) => {
                let why = lang.text_with("option-needs", &TextArgs::new().str("option", option));
                Err(bad(lang, BadOption::invalid(limit, why)))
            }
            None => Ok(None),
        };
    };
    let site = bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?;
    if !(site.ecommerce_enabled && site.fee_based_enabled) {
        return Err(Message::private(lang.text("fees-off")));
    }
    let currency = site.prices.currency;
    let amount =
        Money::parse_exact(text, currency).map_err(|e| bad(lang, BadOption::invalid(option, e)))?;
    if amount.amount() <= rust_decimal::Decimal::ZERO {
        return Err(bad(lang, BadOption::invalid(option, lang.text("option-above-zero"))));
    }
    let capacity = args.opt_int("capacity").map(|c| u32::try_from(c).unwrap_or(u32::MAX));
    let deadline = args
        .opt_str("deadline")
        .map(|text| {
            let deadline = time::parse(text, site.timezone).map_err(|e| e.said(lang))?;
            registration::check_deadline(deadline, session_ends, Utc::now(), lang)?;
            Ok(deadline)
        })
        .transpose()
        .map_err(|e: String| bad(lang, BadOption::invalid("deadline", e)))?;
    Ok(Some(Fee { amount, capacity, deadline }))
}

/// How a session with a fee is announced: attendees register with its id.
fn fee_line(lang: Lang, session: &ScheduledSession, fee: &Fee) -> String {
    let cur = fee.amount.currency();
    let args = TextArgs::new()
        .str("amount", fee.amount)
        .str("currency", cur)
        .str("session", session.key());
    // A number picks the plural; without a limit the seats are "-".
    let args = match fee.capacity {
        Some(capacity) => args.num("capacity", capacity),
        None => args.str("capacity", "-"),
    };
    lang.text_with("fee-line", &args)
}

pub async fn schedule(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    let lang = caller.lang;
    let host = host(bot, caller).await?;
    let platform = platform(lang, args).map_err(|b| bad(lang, b))?;
    let title = args.str("title").map_err(|b| bad(lang, b))?.to_owned();
    let zone = bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?.timezone;
    let start = args.str("start").map_err(|b| bad(lang, b)).and_then(|t| {
        time::parse(t, zone).map_err(|e| bad(lang, BadOption::invalid("start", e.said(lang))))
    })?;
    if start <= Utc::now() {
        return Err(bad(lang, BadOption::invalid("start", lang.text("option-in-future"))));
    }
    let minutes = args.int("minutes").map_err(|b| bad(lang, b))?;
    let minutes =
        u32::try_from(minutes).map_err(|e| bad(lang, BadOption::invalid("minutes", e)))?;
    let ends = start + chrono::Duration::minutes(minutes.into());
    let fee = fee(bot, lang, args, "fee", ends).await?;
    // What the host will pay for is checked before anything is created on the platform.
    let plan = args
        .opt_int("computers")
        .map(|computers| {
            let phones = args.opt_int("phones").unwrap_or(0);
            crate::quote::plan(lang, minutes.into(), computers.into(), phones.into())
        })
        .transpose()
        .map_err(|b| bad(lang, b))?;
    let control = bot.platforms.get(platform).map_err(|e| not_set_up(lang, platform, &e))?;
    let request = MeetingRequest {
        title: title.clone(),
        start,
        minutes,
        host_email: host.to_string(),
        registration: fee.as_ref().map(|f| Registration { capacity: f.capacity }),
    };
    let meeting =
        control.schedule_meeting(&request).await.map_err(|e| platform_failed(lang, platform, e))?;
    let session = ScheduledSession {
        platform,
        meeting_id: meeting.meeting_id,
        title,
        host_email: host.to_string(),
        starts_at: start,
        minutes,
        join_url: meeting.join_url,
        start_url: meeting.start_url,
        fee,
        cancelled_at: None,
    };
    if let Err(e) = bot.store.save_scheduled(&session).await {
        // A meeting tollbooth does not know would take no fee and no payment: it goes again.
        let meeting = HostedMeeting { id: &session.meeting_id, host_email: &session.host_email };
        if let Err(undo) = control.cancel_meeting(meeting).await {
            tracing::error!(
                session = session.key(),
                error = %undo,
                "a meeting scheduled from chat was not stored and could not be deleted; delete it on the platform"
            );
        }
        return Err(store_failed(lang, &e));
    }
    tracing::info!(
        session = session.key(),
        fee = session.fee.is_some(),
        "session scheduled from chat"
    );
    let args = TextArgs::new()
        .str("title", &session.title)
        .str("platform", platform)
        .str("at", time::markup(session.starts_at))
        .num("minutes", minutes)
        .str("meeting", &session.meeting_id);
    let mut text = lang.text_with("session-scheduled", &args);
    if let Some(fee) = &session.fee {
        text.push('\n');
        text.push_str(&fee_line(lang, &session, fee));
    }
    // A pay-per-use host who says how many will connect pays for this meeting's start now.
    let site = bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?;
    if !(site.ecommerce_enabled && site.pay_per_use_enabled) {
        return Ok(Message::private(text));
    }
    let Some(plan) = plan else {
        text.push('\n');
        text.push_str(&lang.text("pay-before-start"));
        return Ok(Message::private(text));
    };
    let bound =
        Binding::Meeting { platform: session.platform, meeting_id: session.meeting_id.clone() };
    let pay = crate::quote::pay(bot, caller, plan, bound, None).await;
    Ok(pay.prefixed(&text))
}

pub async fn set_fee(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    let lang = caller.lang;
    let session = own_session(bot, caller, args).await?;
    let Some(fee) = fee(bot, lang, args, "amount", session.ends_at()).await? else {
        return Err(bad(
            lang,
            BadOption { option: "amount".into(), problem: crate::command::Problem::Missing },
        ));
    };
    if session.cancelled_at.is_some() {
        return Err(Message::private(lang.text("session-was-cancelled")));
    }
    // Refused before the platform is changed, so that the two never disagree; set_fee checks
    // again under its lock for a registration that comes in between.
    let fixed = bot
        .store
        .fee_is_fixed(session.platform, &session.meeting_id)
        .await
        .map_err(|e| store_failed(lang, &e))?;
    if fixed {
        return Err(Message::private(registration::fee_fixed_reason(&session.key(), lang)));
    }
    // The platform first: a fee on a meeting anyone can join without registering sells nothing.
    let control =
        bot.platforms.get(session.platform).map_err(|e| not_set_up(lang, session.platform, &e))?;
    let meeting = HostedMeeting { id: &session.meeting_id, host_email: &session.host_email };
    control
        .require_registration(meeting, &Registration { capacity: fee.capacity })
        .await
        .map_err(|e| platform_failed(lang, session.platform, e))?;
    match bot.store.set_fee(session.platform, &session.meeting_id, &fee).await {
        Ok(()) => {}
        Err(tollbooth_core::store::StoreError::Invalid(why)) => return Err(Message::private(why)),
        Err(e) => return Err(store_failed(lang, &e)),
    }
    let session = ScheduledSession { fee: Some(fee.clone()), ..session };
    Ok(Message::private(fee_line(lang, &session, &fee)))
}

/// The start link. A pay-per-use host gets it once a paid authorisation can pay for the start.
pub async fn start(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    let lang = caller.lang;
    let session = own_session(bot, caller, args).await?;
    if session.cancelled_at.is_some() {
        return Err(Message::private(lang.text("session-was-cancelled")));
    }
    let host: Email = session
        .host_email
        .parse()
        .map_err(|e: tollbooth_core::email::BadEmail| Message::private(e.to_string()))?;
    let paid = pay_per_use::service::start_is_paid(
        bot.store.as_ref(),
        &host,
        session.platform,
        &session.meeting_id,
    )
    .await
    .map_err(|e| store_failed(lang, &e))?;
    if !paid {
        return Err(Message::private(lang.text("start-unpaid")));
    }
    let here = lang.text_with("start-here", &TextArgs::new().str("title", &session.title));
    Ok(Message::private(here)
        .buttons(vec![CreateButton::new_link(&session.start_url).label(lang.text("button-start"))]))
}

pub async fn cancel(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    let lang = caller.lang;
    let session = own_session(bot, caller, args).await?;
    let done = fee_based::service::cancel_session(
        bot.store.as_ref(),
        session.platform,
        &session.meeting_id,
        Utc::now(),
        bot.reach,
    )
    .await
    .map_err(|e| store_failed(lang, &e))?;
    tracing::info!(session = session.key(), refunds = done.refunds, "session cancelled from chat");
    let args = TextArgs::new()
        .str("title", &session.title)
        .num("refunds", done.refunds)
        .num("closed", done.closed)
        .str("platform", session.platform);
    Ok(Message::private(lang.text_with("session-cancelled", &args)))
}
