//! `tollbooth quote`: the Estimated session cost with the site's current prices.

use chrono::Utc;
use clap::Args;
use tollbooth_core::config::Config;
use tollbooth_core::lang::Lang;
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::pricing::{Estimate, SessionPlan};
use tollbooth_core::store::SiteStore;

use crate::cli::{Failure, open_site};

#[derive(Args)]
pub struct QuoteArgs {
    /// Planned length of the session in minutes.
    #[arg(long, allow_negative_numbers = true)]
    minutes: i128,
    /// Computers that will connect.
    #[arg(long, allow_negative_numbers = true)]
    computers: i128,
    /// Telephones that will dial in.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    phones: i128,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: QuoteArgs, config: &Config) -> Result<(), Failure> {
    let plan = SessionPlan::new(args.minutes, args.computers, args.phones)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let store = open_site(config).await?;
    let prices = store.prices_at(Utc::now()).await?;
    let estimate = Estimate::new(plan, &prices).map_err(|e| Failure::Usage(e.to_string()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&estimate)?);
    } else {
        print!("{}", table(&estimate));
    }
    Ok(())
}

fn table(e: &Estimate) -> String {
    let c = &e.cost;
    let cur = c.currency;
    let line = |label: &str, minutes: u64, price: &rust_decimal::Decimal, amount| {
        format!("{:<50}{amount:>14} {cur}\n", format!("{label:<24}{minutes:>10} × {price} {cur} ="))
    };
    // The command line is the operator's, in English, with the chat quote's words.
    let en = Lang::En;
    let plan = TextArgs::new()
        .num("minutes", e.plan.minutes)
        .num("computers", e.plan.computers)
        .num("phones", e.plan.phones);
    let mut out =
        format!("{}\n{}\n\n", en.text("estimated-cost"), en.text_with("plan-summary", &plan));
    let (person, teleconference) = (en.text("person-minutes"), en.text("teleconference-minutes"));
    out += &line(&person, c.person.minutes, &c.person.price_per_minute, c.person.amount);
    out += &line(
        &teleconference,
        c.teleconference.minutes,
        &c.teleconference.price_per_minute,
        c.teleconference.amount,
    );
    out += &format!("{:<50}{:>14} {cur}\n", en.text("total"), c.total);
    out
}
