//! `tollbooth reconcile --from DATE --to DATE [--csv]`: the settled sessions that ended in a
//! period, what each was billed beside what its platform recorded and reported, and which the
//! final check flagged.

use clap::Args;
use tollbooth_core::config::Config;
use tollbooth_core::lang::Lang;
use tollbooth_core::pay_per_use::billing::Period;
use tollbooth_core::settlement::reconciliation::Report;
use tollbooth_core::store::SettlementStore;

use crate::cli::{Failure, open_site};

#[derive(Args)]
pub struct ReconcileArgs {
    /// First day (YYYY-MM-DD), included; sessions count by the day they ended (UTC).
    #[arg(long)]
    from: String,
    /// Last day (YYYY-MM-DD), included.
    #[arg(long)]
    to: String,
    /// Print CSV instead of lines.
    #[arg(long)]
    csv: bool,
}

pub async fn run(args: ReconcileArgs, config: &Config) -> Result<(), Failure> {
    let period = Period::parse(&args.from, &args.to)
        .map_err(|e| Failure::Usage(format!("--{}: {e}", e.option())))?;
    let store = open_site(config).await?;
    let report = Report::new(store.reconciliation(period.start(), period.end()).await?);
    if args.csv {
        print!("{}", report.csv());
    } else {
        // The command line is the operator's, in English.
        for line in report.lines(Lang::En) {
            println!("{line}");
        }
        println!("{}", report.summary(Lang::En));
    }
    Ok(())
}
