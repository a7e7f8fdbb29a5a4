//! `GET /api/v1/sessions/{platform}/{meeting_id}`: usage, cost, state and payment of one
//! session.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tollbooth_core::metering::Usage;
use tollbooth_core::metering::session::SessionState;
use tollbooth_core::money::{Currency, Money};
use tollbooth_core::pay_per_use::billing::SessionPayment;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::settlement::{self, AdjustmentRecord, Source, Stage};

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
    /// Where the session stands against the platform's own record: from its end for every
    /// session but a blocked one, and while it runs for a paid one.
    #[serde(skip_serializing_if = "Option::is_none")]
    settlement: Option<SettlementView>,
    /// Deliveries received for this session and not yet applied; 0 once the figures are final.
    pending_deliveries: u64,
}

#[derive(Serialize)]
struct SettlementView {
    state: Stage,
    /// What the billed figures came from, once settled.
    source: Option<Source>,
    /// Webhooks alone.
    metered: Usage,
    /// The platform's participant record alone; null until fetched.
    platform: Option<Usage>,
    /// The platform's minutes less webhooks' (its usage report once checked, else its
    /// participant record); null until the platform said anything.
    discrepancy: Option<Discrepancy>,
    /// The final check found the platform's report past the tolerance from what was billed.
    flagged: bool,
    adjustments: Vec<AdjustmentRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Serialize)]
struct Discrepancy {
    person_minutes: i64,
    teleconference_minutes: i64,
}

impl Discrepancy {
    fn between(metered: &Usage, platform: (u64, u64)) -> Discrepancy {
        let minus = |a: u64, b: u64| {
            i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX)
        };
        Discrepancy {
            person_minutes: minus(platform.0, metered.person_minutes),
            teleconference_minutes: minus(platform.1, metered.teleconference_minutes),
        }
    }
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
    let session = &record.session;
    let shown = settlement::service::shown(state.store.as_ref(), &record, Utc::now()).await?;
    let (window, live) = (shown.window, &shown.live);
    let ended = session.times.has_ended().then_some(window.end);
    let stage = shown.stage();
    let settlement = match shown.settled {
        Some((s, adjustments)) => {
            let metered = s.metered.unwrap_or(live.usage);
            let platform_minutes = s
                .reported
                .or(s.platform_usage.map(|u| (u.person_minutes, u.teleconference_minutes)));
            Some(SettlementView {
                state: s.stage,
                source: s.source,
                metered,
                platform: s.platform_usage,
                discrepancy: platform_minutes.map(|p| Discrepancy::between(&metered, p)),
                flagged: s.flagged,
                adjustments,
                note: s.note,
            })
        }
        None => stage.map(|state| SettlementView {
            state,
            source: None,
            metered: live.usage,
            platform: None,
            discrepancy: None,
            flagged: false,
            adjustments: Vec::new(),
            note: None,
        }),
    };
    Ok(Json(SessionView {
        platform,
        meeting_id: session.meeting_id.clone(),
        state: session.state(),
        blocked_reason: session.blocked_reason.clone(),
        host_email: session.host_email.clone(),
        started_at: window.start.map(rfc3339),
        ended_at: ended.map(rfc3339),
        usage: shown.usage,
        cost: CostView {
            currency: shown.cost.currency,
            person: shown.cost.person.amount,
            teleconference: shown.cost.teleconference.amount,
            total: shown.cost.total,
        },
        payment: shown.payment,
        settlement,
        pending_deliveries: record.pending_deliveries,
    }))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
