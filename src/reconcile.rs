//! `tollbooth reconcile --from DATE --to DATE [--csv]`: the settled sessions that ended in a
//! period, what each was billed beside what its platform recorded and reported, and which the
//! final check flagged.

use clap::Args;
use tollbooth_core::config::Config;
use tollbooth_core::lang::Lang;
use tollbooth_core::settlement::reconciliation::Report;
use tollbooth_core::store::SettlementStore;

use crate::cli::{Failure, open_site};
use crate::report::PeriodArgs;

#[derive(Args)]
pub struct ReconcileArgs {
    /// Sessions count by the day they ended (UTC).
    #[command(flatten)]
    period: PeriodArgs,
}

pub async fn run(args: ReconcileArgs, config: &Config) -> Result<(), Failure> {
    let period = args.period.period()?;
    let store = open_site(config).await?;
    let report = Report::new(store.reconciliation(period.start(), period.end()).await?);
    if args.period.csv {
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
