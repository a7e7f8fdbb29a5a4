//! `tollbooth quote`: the Estimated session cost with the site's current prices.

use chrono::Utc;
use clap::Args;
use tollbooth_core::config::Config;
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
    let mut out = format!(
        "Estimated session cost\n{} minutes, {} computers, {} phones\n\n",
        e.plan.minutes, e.plan.computers, e.plan.phones
    );
    out += &line("Person-minutes", c.person.minutes, &c.person.price_per_minute, c.person.amount);
    out += &line(
        "Teleconference minutes",
        c.teleconference.minutes,
        &c.teleconference.price_per_minute,
        c.teleconference.amount,
    );
    out += &format!("{:<50}{:>14} {cur}\n", "Total", c.total);
    out
}
