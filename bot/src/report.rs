//! `/report division from to`: a division's spend, for administrators.

use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::pay_per_use::billing::Period;
use tollbooth_core::settlement::Reconciliation;
use tollbooth_core::settlement::reconciliation::Report;
use tollbooth_core::site::DivisionId;

use crate::command::{Args, BadOption};
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

pub fn run(bot: &Bot, caller: Caller, args: &Args) -> Reply {
    let lang = caller.lang;
    if !caller.manages_guild {
        return Reply::now(Message::private(lang.text("report-only-admins")).respond());
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
                    let args = TextArgs::new().str("division", &division);
                    let why = lang.text_with("report-no-division", &args);
                    let bad = BadOption::invalid("division", why);
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
            let args = TextArgs::new()
                .str("name", &division.name)
                .str("id", &division.id)
                .str("from", period.from)
                .str("to", period.to);
            let heading = lang.text_with("report-heading", &args);
            let mut text = format!("{heading}\n{}", spend.lines(lang).join("\n"));
            // Sessions the final check found apart from the platform's report, for review.
            let settled = match bot.store.reconciliation(period.start(), period.end()).await {
                Ok(found) => found,
                Err(e) => return store_failed(lang, &e),
            };
            let ours = |r: &Reconciliation| {
                r.settlement.flagged && r.division.as_ref() == Some(&division.id)
            };
            let flagged = Report::new(settled.into_iter().filter(ours).collect());
            if !flagged.sessions.is_empty() {
                let lines = flagged.lines(lang).join("\n");
                text += &format!("\n{}\n{lines}", lang.text("report-flagged"));
            }
            Message::private(text)
        }),
    }
}
