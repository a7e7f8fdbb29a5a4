//! `GET /api/v1/reconciliation?from=&to=`: the settled sessions that ended in a period (dates,
//! both included), billed beside the platforms' own figures, flagged where the final check
//! found them apart.

use axum::Json;
use axum::extract::{Query, State};
use tollbooth_core::pay_per_use::billing::Period;
use tollbooth_core::settlement::reconciliation::Report;

use crate::admin::Admin;
use crate::divisions::PeriodQuery;
use crate::{ApiError, AppState};

pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    Query(query): Query<PeriodQuery>,
) -> Result<Json<Report>, ApiError> {
    let period = Period::parse(&query.from, &query.to)
        .map_err(|e| ApiError::BadRequest(format!("{}: {e}", e.option())))?;
    let found = state.store.reconciliation(period.start(), period.end()).await?;
    Ok(Json(Report::new(found)))
}
