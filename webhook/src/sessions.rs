//! `GET /api/v1/sessions/{platform}/{meeting_id}`: usage, cost, state and payment of one
//! session.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tollbooth_core::metering::Usage;
use tollbooth_core::metering::session::{Bill, SessionState};
use tollbooth_core::money::{Currency, Money};
use tollbooth_core::pay_per_use::billing::SessionPayment;
use tollbooth_core::platform::PlatformKind;

use crate::admin::Admin;
use crate::{ApiError, AppState};

#[derive(Serialize)]
pub struct SessionView {
    platform: PlatformKind,
    meeting_id: String,
    state: SessionState,
    /// Why tollbooth ended the session (pay-per-use), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked_reason: Option<String>,
    host_email: Option<String>,
    started_at: Option<String>,
    ended_at: Option<String>,
    usage: Usage,
    cost: CostView,
    /// How pay-per-use paid for it; absent where pay-per-use never decided its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<SessionPayment>,
    /// Deliveries received for this session and not yet applied; 0 once the figures are final.
    pending_deliveries: u64,
}

#[derive(Serialize)]
struct CostView {
    currency: Currency,
    person: Money,
    teleconference: Money,
    total: Money,
}

pub async fn show(
    _: Admin,
    State(state): State<AppState>,
    Path((platform, meeting_id)): Path<(String, String)>,
) -> Result<Json<SessionView>, ApiError> {
    let platform: PlatformKind =
        platform.parse().map_err(|e: tollbooth_core::platform::UnknownPlatform| {
            ApiError::NotFound(e.to_string())
        })?;
    let record = state
        .store
        .session(platform, &meeting_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session {platform}/{meeting_id}")))?;
    let now = Utc::now();
    let session = &record.session;
    let window = session.window(&record.connections, now);
    let started = window.start.unwrap_or(now);
    let (payment, prices) = state.store.session_pricing(platform, &meeting_id, started).await?;
    let bill = Bill::new(window, &record.connections, &prices).map_err(ApiError::internal)?;
    let ended = session.times.has_ended().then_some(window.end);
    Ok(Json(SessionView {
        platform,
        meeting_id: session.meeting_id.clone(),
        state: session.state(),
        blocked_reason: session.blocked_reason.clone(),
        host_email: session.host_email.clone(),
        started_at: window.start.map(rfc3339),
        ended_at: ended.map(rfc3339),
        usage: bill.usage,
        cost: CostView {
            currency: bill.cost.currency,
            person: bill.cost.person.amount,
            teleconference: bill.cost.teleconference.amount,
            total: bill.cost.total,
        },
        payment,
        pending_deliveries: record.pending_deliveries,
    }))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
