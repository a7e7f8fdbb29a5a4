//! `GET /api/v1/divisions/{division}/spend?from=&to=`: what a division's sessions cost over a
//! period (dates, both included), one row per session, for reimbursement.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tollbooth_core::pay_per_use::billing::{Period, Spend};
use tollbooth_core::site::{BadDivisionId, DivisionId};

use crate::admin::Admin;
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub(crate) struct PeriodQuery {
    pub(crate) from: String,
    pub(crate) to: String,
}

pub async fn spend(
    _: Admin,
    State(state): State<AppState>,
    Path(division): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> Result<Json<Spend>, ApiError> {
    let division: DivisionId =
        division.parse().map_err(|e: BadDivisionId| ApiError::BadRequest(e.to_string()))?;
    let period = Period::parse(&query.from, &query.to)
        .map_err(|e| ApiError::BadRequest(format!("{}: {e}", e.option())))?;
    if state.store.division(&division).await?.is_none() {
        return Err(ApiError::NotFound(format!("division {division}")));
    }
    let currency = state.store.site_settings().await?.prices.currency;
    let spend =
        state.store.division_spend(&division, period.start(), period.end(), currency).await?;
    Ok(Json(spend))
}
