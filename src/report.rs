//! `tollbooth report --division D --from DATE --to DATE [--csv]`: a division's spend, one
//! line per session and the total, for reimbursement.

use clap::Args;
use tollbooth_core::config::Config;
use tollbooth_core::lang::Lang;
use tollbooth_core::pay_per_use::billing::Period;
use tollbooth_core::site::DivisionId;
use tollbooth_core::store::{PayPerUseStore, SiteStore};

use crate::cli::{Failure, open_site};

#[derive(Args)]
pub struct ReportArgs {
    /// The division, e.g. `sales-emea`.
    #[arg(long)]
    division: String,
    /// Sessions count by the day they started (UTC).
    #[command(flatten)]
    period: PeriodArgs,
}

/// Whole days (UTC), both ends included, and how to print what they hold.
#[derive(Args)]
pub struct PeriodArgs {
    /// First day (YYYY-MM-DD), included.
    #[arg(long)]
    from: String,
    /// Last day (YYYY-MM-DD), included.
    #[arg(long)]
    to: String,
    /// Print CSV instead of lines.
    #[arg(long)]
    pub csv: bool,
}

impl PeriodArgs {
    pub fn period(&self) -> Result<Period, Failure> {
        Period::parse(&self.from, &self.to)
            .map_err(|e| Failure::Usage(format!("--{}: {e}", e.option())))
    }
}

pub async fn run(args: ReportArgs, config: &Config) -> Result<(), Failure> {
    let division: DivisionId = args
        .division
        .parse()
        .map_err(|e: tollbooth_core::site::BadDivisionId| Failure::Usage(e.to_string()))?;
    let period = args.period.period()?;
    let store = open_site(config).await?;
    if store.division(&division).await?.is_none() {
        return Err(Failure::Usage(format!("no division `{division}`")));
    }
    let currency = store.site_settings().await?.prices.currency;
    let spend = store.division_spend(&division, period.start(), period.end(), currency).await?;
    if args.period.csv {
        print!("{}", spend.csv());
    } else {
        println!("Division {division}, {} to {}", period.from, period.to);
        // The command line is the operator's, in English.
        for line in spend.lines(Lang::En) {
            println!("{line}");
        }
    }
    Ok(())
}
