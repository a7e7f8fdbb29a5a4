//! `/session schedule | fee | start | status`. Status reads what the webhooks recorded;
//! scheduling, fees and start links need the platform calls that the pay-per-use (#5) and
//! fee-based (#7) work adds, and say so until then.

use chrono::{SecondsFormat, Utc};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::session::{Bill, SessionState};
use tollbooth_core::store::StoreError;

use crate::command::Args;
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

pub fn run(bot: &Bot, caller: Caller, args: &Args) -> Reply {
    let lang = caller.lang;
    if args.subcommand.as_deref() != Some("status") {
        return Reply::now(not_yet(lang).respond());
    }
    let (platform, meeting) = match (args.str("platform"), args.str("meeting")) {
        (Ok(p), Ok(m)) => (p.parse::<PlatformKind>(), m.to_owned()),
        (Err(bad), _) | (_, Err(bad)) => {
            return Reply::now(Message::private(bad.describe(lang)).respond());
        }
    };
    let Ok(platform) = platform else {
        let bad = crate::command::BadOption::invalid("platform", "must be webex or zoom");
        return Reply::now(Message::private(bad.describe(lang)).respond());
    };
    // Metering a long session reads every connection: answered "thinking…" first.
    let bot = bot.clone();
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            status(&bot, caller, platform, &meeting)
                .await
                .unwrap_or_else(|e| store_failed(lang, &e))
        }),
    }
}

pub fn not_yet(lang: Lang) -> Message {
    Message::private(lang.pick(
        "Not available yet: scheduling, fees, start links and registration arrive with pay-per-use and fee-based training.",
        "Ikke tilgjengelig ennå: planlegging, avgifter, startlenker og påmelding kommer med betaling per bruk og kurs med avgift.",
    ))
}

async fn status(
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
    let prices = bot.store.prices_at(window.start.unwrap_or(now)).await?;
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
    Ok(Message::private(text))
}
