//! `/session schedule | fee | start | cancel | status`: status reads what the webhooks
//! recorded; the others are in `schedule.rs`.

use chrono::{SecondsFormat, Utc};
use tollbooth_core::metering::session::{Bill, SessionState};
use tollbooth_core::pay_per_use::billing::SessionPayment;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::StoreError;

use crate::command::Args;
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, schedule, store_failed};

pub fn run(bot: &Bot, caller: Caller, args: &Args) -> Reply {
    let (bot, args) = (bot.clone(), args.clone());
    let sub = args.subcommand.clone().unwrap_or_default();
    // Every subcommand reads the store and most call the platform: "thinking…" first.
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            let answer = match sub.as_str() {
                "schedule" => schedule::schedule(&bot, caller, &args).await,
                "fee" => schedule::set_fee(&bot, caller, &args).await,
                "start" => schedule::start(&bot, caller, &args).await,
                "cancel" => schedule::cancel(&bot, caller, &args).await,
                _ => status(&bot, caller, &args).await,
            };
            answer.unwrap_or_else(|message| message)
        }),
    }
}

async fn status(bot: &Bot, caller: Caller, args: &Args) -> Result<Message, Message> {
    let lang = caller.lang;
    let platform = schedule::platform(args).map_err(|b| Message::private(b.describe(lang)))?;
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
        Message::private(match lang {
            Lang::En => format!("No session {platform}/{meeting} is known."),
            Lang::No => format!("Økten {platform}/{meeting} er ukjent."),
        })
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
    let now = Utc::now();
    let window = session.window(&record.connections, now);
    let started = window.start.unwrap_or(now);
    let (payment, prices) = bot.store.session_pricing(platform, meeting, started).await?;
    let bill = match Bill::new(window, &record.connections, &prices) {
        Ok(bill) => bill,
        Err(e) => return Ok(Message::private(e.to_string())),
    };
    let state = match (session.state(), lang) {
        (SessionState::Running, Lang::En) => "running",
        (SessionState::Running, Lang::No) => "pågår",
        (SessionState::Ended, Lang::En) => "ended",
        (SessionState::Ended, Lang::No) => "avsluttet",
        (SessionState::Blocked, Lang::En) => "blocked (started unpaid)",
        (SessionState::Blocked, Lang::No) => "stoppet (startet uten betaling)",
    };
    let started = window
        .start
        .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    let (u, c, cur) = (&bill.usage, &bill.cost, bill.cost.currency);
    let text = match lang {
        Lang::En => format!(
            "**Session {platform}/{meeting}**: {state}, started {started}\n\
             {} connections; person-minutes {} = {} {cur}; teleconference minutes {} = {} {cur}\n\
             **Total so far: {} {cur}**",
            u.connections,
            u.person_minutes,
            c.person.amount,
            u.teleconference_minutes,
            c.teleconference.amount,
            c.total
        ),
        Lang::No => format!(
            "**Økt {platform}/{meeting}**: {state}, startet {started}\n\
             {} tilkoblinger; personminutter {} = {} {cur}; telefonminutter {} = {} {cur}\n\
             **Totalt så langt: {} {cur}**",
            u.connections,
            u.person_minutes,
            c.person.amount,
            u.teleconference_minutes,
            c.teleconference.amount,
            c.total
        ),
    };
    Ok(Message::private(match payment.as_ref().and_then(|p| payment_line(lang, p)) {
        Some(line) => format!("{text}\n{line}"),
        None => text,
    }))
}

/// What paid for a paid session, and what was taken once it was billed.
fn payment_line(lang: Lang, p: &SessionPayment) -> Option<String> {
    let (authorised, state) = (p.authorised?, p.state.map_or("-", |s| s.as_str()));
    let (cur, reference) = (authorised.currency(), p.reference.as_deref().unwrap_or("-"));
    let mut line = match lang {
        Lang::En => format!("Paid: {authorised} {cur} authorised ({state}), reference {reference}"),
        Lang::No => {
            format!("Betalt: {authorised} {cur} autorisert ({state}), referanse {reference}")
        }
    };
    if let (Some(captured), Some(outstanding)) = (p.captured, p.outstanding) {
        line.push_str(&match lang {
            Lang::En => format!("; captured {captured} {cur}, outstanding {outstanding} {cur}"),
            Lang::No => format!("; trukket {captured} {cur}, utestående {outstanding} {cur}"),
        });
    }
    Some(line)
}
