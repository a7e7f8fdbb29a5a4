//! `/session schedule | fee | start | cancel | status | code …`: status reads what the
//! webhooks recorded; promotion codes are in `codes.rs`, the others in `schedule.rs`.

use chrono::Utc;
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::metering::session::SessionState;
use tollbooth_core::pay_per_use::billing::SessionPayment;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::settlement;
use tollbooth_core::store::StoreError;
use tollbooth_core::time;

use crate::command::Args;
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, codes, schedule, store_failed};

pub fn run(bot: &Bot, caller: Caller, args: &Args) -> Reply {
    let (bot, args) = (bot.clone(), args.clone());
    let (group, sub) = (args.group.clone(), args.subcommand.clone().unwrap_or_default());
    // Every subcommand reads the store and most call the platform: "thinking…" first.
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            let answer = match (group.as_deref(), sub.as_str()) {
                (Some("code"), _) => codes::run(&bot, caller, &args).await,
                (_, "schedule") => schedule::schedule(&bot, caller, &args).await,
                (_, "fee") => schedule::set_fee(&bot, caller, &args).await,
                (_, "start") => schedule::start(&bot, caller, &args).await,
                (_, "cancel") => schedule::cancel(&bot, caller, &args).await,
                _ => status(&bot, caller, &args).await,
            };
            answer.unwrap_or_else(|message| message)
        }),
    }
}

async fn status(bot: &Bot, caller: Caller, args: &Args) -> Result<Message, Message> {
    let lang = caller.lang;
    let platform =
        schedule::platform(lang, args).map_err(|b| Message::private(b.describe(lang)))?;
    let meeting = args.str("meeting").map_err(|b| Message::private(b.describe(lang)))?;
    read_status(bot, caller, platform, meeting).await.map_err(|e| store_failed(lang, &e))
}

async fn read_status(
    bot: &Bot,
    caller: Caller,
    platform: PlatformKind,
    meeting: &str,
) -> Result<Message, StoreError> {
    let lang = caller.lang;
    let not_found = || {
        let args = TextArgs::new().str("platform", platform).str("meeting", meeting);
        Message::private(lang.text_with("session-unknown", &args))
    };
    let Some(record) = bot.store.session(platform, meeting).await? else {
        return Ok(not_found());
    };
    let session = &record.session;
    // A host sees only the meetings the platform says they host; administrators see all.
    // Someone else's meeting looks exactly like an unknown one.
    if !caller.manages_guild {
        let host = bot.store.linked_host(caller.user_id).await?;
        let hosts = matches!((&host, &session.host_email),
            (Some(h), Some(e)) if h.as_str().eq_ignore_ascii_case(e));
        if !hosts {
            return Ok(not_found());
        }
    }
    // What the host pays: live until settled, then the settled (and adjusted) figures.
    let shown = match settlement::service::shown(bot.store.as_ref(), &record, Utc::now()).await {
        Ok(shown) => shown,
        Err(StoreError::Invalid(why)) => return Ok(Message::private(why)),
        Err(e) => return Err(e),
    };
    let (window, payment) = (shown.window, shown.payment);
    let state = match session.state() {
        SessionState::Running => lang.text("state-running"),
        SessionState::Ended => lang.text("state-ended"),
        SessionState::Blocked => lang.text("state-blocked"),
    };
    let started = window.start.map_or_else(|| "-".to_owned(), time::markup);
    let (u, c, cur) = (&shown.usage, &shown.cost, shown.cost.currency);
    let heading = TextArgs::new()
        .str("platform", platform)
        .str("meeting", meeting)
        .str("state", state)
        .str("started", started);
    let usage = TextArgs::new()
        .num("connections", u.connections)
        .str("person", u.person_minutes)
        .str("person_amount", c.person.amount)
        .str("teleconference", u.teleconference_minutes)
        .str("teleconference_amount", c.teleconference.amount)
        .str("currency", cur);
    let total = TextArgs::new().str("amount", c.total).str("currency", cur);
    let text = format!(
        "{}\n{}\n**{}**",
        lang.text_with("status-heading", &heading),
        lang.text_with("status-usage", &usage),
        lang.text_with("status-total", &total)
    );
    Ok(Message::private(match payment.as_ref().and_then(|p| payment_line(lang, p)) {
        Some(line) => format!("{text}\n{line}"),
        None => text,
    }))
}

/// What paid for a paid session, and what was taken once it was billed.
fn payment_line(lang: Lang, p: &SessionPayment) -> Option<String> {
    let (authorised, state) = (p.authorised?, p.state.map_or("-", |s| s.as_str()));
    let (cur, reference) = (authorised.currency(), p.reference.as_deref().unwrap_or("-"));
    let args = TextArgs::new()
        .str("authorised", authorised)
        .str("currency", cur)
        .str("state", state)
        .str("reference", reference);
    let mut line = lang.text_with("status-paid", &args);
    if let (Some(captured), Some(outstanding)) = (p.captured, p.outstanding) {
        let args = TextArgs::new()
            .str("captured", captured)
            .str("outstanding", outstanding)
            .str("currency", cur);
        line.push_str("; ");
        line.push_str(&lang.text_with("status-captured", &args));
    }
    Some(line)
}
