//! `GET /api/v1/quarantine`: deliveries and outbox effects set aside because processing them
//! failed for a reason retrying cannot mend, newest first, with why.

use axum::Json;
use axum::extract::{Query, State};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use tollbooth_core::platform::PlatformKind;

use crate::admin::Admin;
use crate::{ApiError, AppState};

const DEFAULT_LIMIT: usize = 100;
const MOST: usize = 1000;

#[derive(Deserialize)]
pub struct Params {
    limit: Option<usize>,
}

#[derive(Serialize)]
pub struct QuarantineView {
    deliveries: Vec<DeliveryView>,
    effects: Vec<EffectView>,
}

#[derive(Serialize)]
struct DeliveryView {
    id: i64,
    platform: PlatformKind,
    meeting_id: String,
    received_at: String,
    quarantined_at: String,
    error: String,
}

#[derive(Serialize)]
struct EffectView {
    id: i64,
    key: String,
    kind: String,
    quarantined_at: String,
    error: String,
}

pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> Result<Json<QuarantineView>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MOST);
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let deliveries = state.store.quarantined_deliveries(limit).await?;
    let effects = state.store.quarantined_effects(limit).await?;
    Ok(Json(QuarantineView {
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryView {
                id: d.id,
                platform: d.platform,
                meeting_id: d.meeting_id,
                received_at: time(d.received_at),
                quarantined_at: time(d.quarantined_at),
                error: d.error,
            })
            .collect(),
        effects: effects
            .into_iter()
            .map(|e| EffectView {
                id: e.id,
                key: e.key,
                kind: e.kind,
                quarantined_at: time(e.quarantined_at),
                error: e.error,
            })
            .collect(),
    }))
}
