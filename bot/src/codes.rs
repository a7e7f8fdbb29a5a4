//! `/session code add | list | remove`: promotion codes. A host manages the codes of their own
//! sessions; a site administrator those of any session and the site-wide ones (no session).
//! Who may is checked here, on the server, whatever Discord showed the member.

use chrono::Utc;
use tollbooth_core::fee_based::codes::{self, Code, CodeId, ForSession, Off, PromotionCode};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::money::Money;
use tollbooth_core::store::StoreError;
use tollbooth_core::time;

use crate::command::{Args, BadOption};
use crate::lang::Lang;
use crate::reply::Message;
use crate::schedule::{bad, own_session};
use crate::{Bot, Caller, store_failed};

type Answer = Result<Message, Message>;

pub async fn run(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    match args.subcommand.as_deref() {
        Some("add") => add(bot, caller, args).await,
        Some("remove") => remove(bot, caller, args).await,
        _ => list(bot, caller, args).await,
    }
}

/// The session the options name, when the caller may manage its codes; `None` for the whole
/// site, which only an administrator may.
async fn scope(bot: &Bot, caller: Caller, args: &Args) -> Result<Option<ForSession>, Message> {
    let lang = caller.lang;
    match (args.has("platform"), args.has("meeting")) {
        (true, true) => {
            let session = own_session(bot, caller, args).await?;
            Ok(Some(ForSession { platform: session.platform, meeting_id: session.meeting_id }))
        }
        (false, false) if caller.manages_guild => Ok(None),
        (false, false) => Err(Message::private(lang.text("code-site-wide-admin"))),
        (platform, _) => {
            let missing = if platform { "meeting" } else { "platform" };
            Err(bad(lang, BadOption::invalid(missing, lang.text("code-platform-meeting"))))
        }
    }
}

fn code_option(lang: Lang, args: &Args) -> Result<PromotionCode, Message> {
    let typed = args.str("code").map_err(|b| bad(lang, b))?;
    typed.parse().map_err(|e: codes::BadCode| bad(lang, BadOption::invalid("code", e.said(lang))))
}

/// What the code takes off: `percent` or `amount` (in the site's currency), one of them.
async fn off(bot: &Bot, lang: Lang, args: &Args) -> Result<Off, Message> {
    match (args.opt_str("percent"), args.opt_str("amount")) {
        (Some(p), None) => codes::percent(p, lang)
            .map(Off::Percent)
            .map_err(|why| bad(lang, BadOption::invalid("percent", why))),
        (None, Some(a)) => {
            let site = bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?;
            let amount = Money::parse_exact(a, site.prices.currency)
                .map_err(|e| bad(lang, BadOption::invalid("amount", e)))?;
            if amount.amount().is_zero() {
                return Err(bad(
                    lang,
                    BadOption::invalid("amount", lang.text("option-above-zero")),
                ));
            }
            Ok(Off::Fixed(amount))
        }
        (Some(_), Some(_)) | (None, None) => {
            Err(bad(lang, BadOption::invalid("percent", lang.text("code-percent-or-amount"))))
        }
    }
}

async fn add(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    let lang = caller.lang;
    let code = code_option(lang, args)?;
    let off = off(bot, lang, args).await?;
    let expires_at = match args.opt_str("expires") {
        Some(text) => {
            let zone =
                bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?.timezone;
            let at = time::parse(text, zone)
                .map_err(|e| bad(lang, BadOption::invalid("expires", e.said(lang))))?;
            if at <= Utc::now() {
                return Err(bad(
                    lang,
                    BadOption::invalid("expires", lang.text("option-in-future")),
                ));
            }
            Some(at)
        }
        None => None,
    };
    let session = scope(bot, caller, args).await?;
    let new = Code {
        id: CodeId::random(),
        code,
        session,
        off,
        max_uses: args.opt_int("uses").map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        uses: 0,
        expires_at,
        created_by: caller.user_id,
        created_at: Utc::now(),
    };
    match bot.store.add_code(&new).await {
        Ok(()) => {}
        Err(StoreError::Invalid(_)) => {
            let args = TextArgs::new().str("code", &new.code);
            return Err(Message::private(lang.text_with("code-exists", &args)));
        }
        Err(e) => return Err(store_failed(lang, &e)),
    }
    tracing::info!(code = %new.code, session = new.session.as_ref().map(ForSession::key), "promotion code added");
    Ok(Message::private(lang.text_with("code-added", &line_args(lang, &new))))
}

async fn list(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    let lang = caller.lang;
    let session = scope(bot, caller, args).await?;
    let found = bot.store.live_codes(session.as_ref()).await.map_err(|e| store_failed(lang, &e))?;
    if found.is_empty() {
        return Ok(Message::private(lang.text("code-list-empty")));
    }
    let lines: Vec<String> = std::iter::once(lang.text("code-list-heading"))
        .chain(
            found.iter().map(|c| format!("• {}", lang.text_with("code-line", &line_args(lang, c)))),
        )
        .collect();
    Ok(Message::private(lines.join("\n")))
}

async fn remove(bot: &Bot, caller: Caller, args: &Args) -> Answer {
    let lang = caller.lang;
    let code = code_option(lang, args)?;
    let not_found =
        || Message::private(lang.text_with("code-not-found", &TextArgs::new().str("code", &code)));
    let found = bot.store.live_code(&code).await.map_err(|e| store_failed(lang, &e))?;
    let Some(found) = found else { return Err(not_found()) };
    // A host removes their own sessions' codes only; someone else's looks like none.
    if !caller.manages_guild {
        let Some(session) = &found.session else { return Err(not_found()) };
        let host =
            bot.store.linked_host(caller.user_id).await.map_err(|e| store_failed(lang, &e))?;
        let scheduled = bot
            .store
            .scheduled(session.platform, &session.meeting_id)
            .await
            .map_err(|e| store_failed(lang, &e))?;
        let hosts = matches!((&host, &scheduled),
            (Some(h), Some(s)) if h.as_str().eq_ignore_ascii_case(&s.host_email));
        if !hosts {
            return Err(not_found());
        }
    }
    let removed =
        bot.store.remove_code(&found.id, Utc::now()).await.map_err(|e| store_failed(lang, &e))?;
    if !removed {
        return Err(not_found());
    }
    tracing::info!(code = %found.code, "promotion code removed");
    Ok(Message::private(lang.text_with("code-removed", &TextArgs::new().str("code", &found.code))))
}

/// One code as the host reads it: what it takes off, for what, how used, until when.
fn line_args(lang: Lang, c: &Code) -> TextArgs<'static> {
    let scope = match &c.session {
        Some(s) => lang.text_with("code-scope-session", &TextArgs::new().str("session", s.key())),
        None => lang.text("code-scope-site"),
    };
    let expires = match c.expires_at {
        Some(at) => lang.text_with("code-expires", &TextArgs::new().str("at", time::markup(at))),
        None => lang.text("code-no-expiry"),
    };
    let max = c.max_uses.map_or_else(|| lang.text("code-no-limit"), |m| m.to_string());
    TextArgs::new()
        .str("code", &c.code)
        .str("off", c.off.shown())
        .str("scope", scope)
        .num("uses", c.uses)
        .str("max", max)
        .str("expires", expires)
}
