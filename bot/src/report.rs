//! `/report division from to`: a division's spend, for administrators.

use chrono::NaiveDate;
use tollbooth_core::billing::Period;
use tollbooth_core::site::DivisionId;

use crate::command::{Args, BadOption};
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

pub fn run(bot: &Bot, caller: Caller, args: &Args) -> Reply {
    let lang = caller.lang;
    if !caller.manages_guild {
        return Reply::now(
            Message::private(lang.pick(
                "Only members with the Manage Server permission may read reports.",
                "Bare medlemmer med tillatelsen Administrer server kan lese rapporter.",
            ))
            .respond(),
        );
    }
    let parsed = (|| {
        let division: DivisionId =
            args.str("division")?.parse().map_err(|e| BadOption::invalid("division", e))?;
        let date = |name: &str| -> Result<NaiveDate, BadOption> {
            let text = args.str(name)?;
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                BadOption::invalid(name, format!("`{text}` is not a date such as 2026-11-30"))
            })
        };
        let (from, to) = (date("from")?, date("to")?);
        if from > to {
            return Err(BadOption::invalid("to", format!("{to} is before {from}")));
        }
        Ok((division, from, to))
    })();
    let (division, from, to) = match parsed {
        Ok(parsed) => parsed,
        Err(bad) => return Reply::now(Message::private(bad.describe(lang)).respond()),
    };
    // Summing a period's charges may take a while on a large site: "thinking…" first.
    let bot = bot.clone();
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            let division = match bot.store.division(&division).await {
                Ok(Some(d)) => d,
                Ok(None) => {
                    let bad = BadOption::invalid("division", format!("no division `{division}`"));
                    return Message::private(bad.describe(lang));
                }
                Err(e) => return store_failed(lang, &e),
            };
            let currency = match bot.store.site_settings().await {
                Ok(site) => site.prices.currency,
                Err(e) => return store_failed(lang, &e),
            };
            let period = Period { from, to };
            let spend = match bot
                .store
                .division_spend(&division.id, period.start(), period.end(), currency)
                .await
            {
                Ok(spend) => spend,
                Err(e) => return store_failed(lang, &e),
            };
            let heading = match lang {
                Lang::En => format!("**{}** ({}), {from} to {to}:", division.name, division.id),
                Lang::No => format!("**{}** ({}), {from} til {to}:", division.name, division.id),
            };
            Message::private(format!("{heading}\n{}", spend.lines().join("\n")))
        }),
    }
}
