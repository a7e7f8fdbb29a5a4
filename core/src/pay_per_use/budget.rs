//! Division budgets when a host pays: whether a session would take the host's division over
//! its month's budget. Asked when the quote is shown, when *Pay* makes the order, and again on
//! the pay page, since budgets and spend change between the three.

use chrono::{DateTime, Utc};

use crate::email::Email;
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::pay_per_use::billing::{self, Month};
use crate::site::DivisionId;
use crate::store::{Store, StoreError};

/// A session that would take a division over its budget for a month, and by how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverBudget {
    pub division: DivisionId,
    pub month: Month,
    pub budget: Money,
    pub over: Money,
}

impl OverBudget {
    /// The figures, as one sentence: the division, its budget for the month, and by how much a
    /// session of `estimate` would go over it.
    pub fn explain(&self, lang: Lang, estimate: Money) -> String {
        let args = Args::new()
            .str("division", &self.division)
            .str("budget", self.budget)
            .str("currency", self.budget.currency())
            .str("month", self.month)
            .str("estimate", estimate)
            .str("over", self.over);
        lang.text_with("over-budget-explain", &args)
    }
}

/// Whether a session of `estimate` for `host`, paid at `at`, would take the host's division
/// over its budget for that month. None for hosts without a division or divisions without a
/// budget that month.
pub async fn over_budget(
    store: &dyn Store,
    host: &Email,
    estimate: Money,
    at: DateTime<Utc>,
) -> Result<Option<OverBudget>, StoreError> {
    let Some(division) = store.host(host).await?.and_then(|h| h.division) else {
        return Ok(None);
    };
    let month = Month::of(at);
    let Some(budget) = store.budget(&division, month).await? else { return Ok(None) };
    let period = month.period();
    let spent =
        store.division_spend(&division, period.start(), period.end(), budget.currency()).await?;
    Ok(billing::over_budget(budget, spent.total, estimate).map(|over| OverBudget {
        division,
        month,
        budget,
        over,
    }))
}
