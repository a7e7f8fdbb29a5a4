//! `/report division from to`: a division's spend, for administrators.

use tollbooth_core::pay_per_use::billing::Period;
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
    let parsed = (|| -> Result<(DivisionId, Period), BadOption> {
        let division: DivisionId =
            args.str("division")?.parse().map_err(|e| BadOption::invalid("division", e))?;
        let period = Period::parse(args.str("from")?, args.str("to")?)
            .map_err(|e| BadOption::invalid(e.option(), e))?;
        Ok((division, period))
    })();
    let (division, period) = match parsed {
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
            let spend = match bot
                .store
                .division_spend(&division.id, period.start(), period.end(), currency)
                .await
            {
                Ok(spend) => spend,
                Err(e) => return store_failed(lang, &e),
            };
            let heading = match lang {
                Lang::En => format!(
                    "**{}** ({}), {} to {}:",
                    division.name, division.id, period.from, period.to
                ),
                Lang::No => format!(
                    "**{}** ({}), {} til {}:",
                    division.name, division.id, period.from, period.to
                ),
            };
            Message::private(format!("{heading}\n{}", spend.lines().join("\n")))
        }),
    }
}
