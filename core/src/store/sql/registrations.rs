//! [`RegistrationStore`] in SQL, and what a paid registration order does inside the payment
//! transaction that recorded it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::outbox::enqueue_on;
use super::payments::{amount, corrupt, insert_order, time};
use super::{SqlStore, millis, opt_time, parsed};
use crate::fee_based::registration::{
    self, Fee, OnPaid, Registration, RegistrationId, RegistrationState, ScheduledSession,
};
use crate::lang::Lang;
use crate::money::Currency;
use crate::outbox::{CancelMeeting, Effect, Refund};
use crate::payments::order::{Order, OrderId};
use crate::platform::PlatformKind;
use crate::platform::control::{Attendee, Registrant};
use crate::store::{Cancelled, Registered, RegistrationStore, StoreError};

fn scheduled(row: &AnyRow) -> Result<ScheduledSession, StoreError> {
    let fee = match row.try_get::<Option<String>, _>("currency")? {
        Some(code) => {
            let currency: Currency = code.parse().map_err(|e| corrupt("currency", e))?;
            let capacity: Option<i64> = row.try_get("capacity")?;
            Some(Fee {
                amount: amount(row, "fee", currency)?,
                capacity: capacity
                    .map(|c| u32::try_from(c).map_err(|e| corrupt("capacity", e)))
                    .transpose()?,
                deadline: opt_time(row, "deadline")?,
            })
        }
        None => None,
    };
    let minutes: i64 = row.try_get("minutes")?;
    Ok(ScheduledSession {
        platform: parsed(row, "platform")?,
        meeting_id: row.try_get("meeting_id")?,
        title: row.try_get("title")?,
        host_email: row.try_get("host_email")?,
        starts_at: time(row, "starts_at")?,
        minutes: u32::try_from(minutes).map_err(|e| corrupt("minutes", e))?,
        join_url: row.try_get("join_url")?,
        start_url: row.try_get("start_url")?,
        fee,
        cancelled_at: opt_time(row, "cancelled_at")?,
    })
}

fn registration(row: &AnyRow) -> Result<Registration, StoreError> {
    Ok(Registration {
        id: parsed(row, "id")?,
        platform: parsed(row, "platform")?,
        meeting_id: row.try_get("meeting_id")?,
        discord_user_id: parsed(row, "discord_user_id")?,
        attendee: Attendee {
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
        },
        order_id: parsed(row, "order_id")?,
        state: parsed(row, "state")?,
        payment_id: row.try_get("payment_id")?,
        reason: row.try_get("reason")?,
        registrant_id: row.try_get("registrant_id")?,
        join_url: row.try_get("join_url")?,
        lang: parsed(row, "lang")?,
        created_at: time(row, "created_at")?,
    })
}

pub(super) async fn load_scheduled(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Option<ScheduledSession>, StoreError> {
    sqlx::query("SELECT * FROM scheduled_sessions WHERE platform = $1 AND meeting_id = $2")
        .bind(platform.as_str())
        .bind(meeting_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(scheduled)
        .transpose()
}

async fn load_registration(
    conn: &mut AnyConnection,
    id: &RegistrationId,
) -> Result<Option<Registration>, StoreError> {
    sqlx::query("SELECT * FROM registrations WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(registration)
        .transpose()
}

/// Takes the session's row lock, so that concurrent payments count seats one at a time
/// (PostgreSQL; SQLite's write transactions are serial already). A no-op update is the lock
/// both dialects understand.
pub(super) async fn lock_session(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE scheduled_sessions SET title = title WHERE platform = $1 AND meeting_id = $2",
    )
    .bind(platform.as_str())
    .bind(meeting_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn count_seats(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<u32, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM registrations
         WHERE platform = $1 AND meeting_id = $2 AND state IN ('paid', 'approved')",
    )
    .bind(platform.as_str())
    .bind(meeting_id)
    .fetch_one(conn)
    .await?;
    let n: i64 = row.try_get("n")?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Whether anyone registered for the session, paid or not: unpaid orders hold the fee they
/// were quoted, so it can no longer change.
async fn fee_fixed(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM registrations
         WHERE platform = $1 AND meeting_id = $2
           AND (payment_id IS NOT NULL OR state = 'awaiting_payment')",
    )
    .bind(platform.as_str())
    .bind(meeting_id)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

pub(super) async fn set_state(
    conn: &mut AnyConnection,
    id: &RegistrationId,
    state: RegistrationState,
    payment: Option<&str>,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE registrations SET state = $1, payment_id = COALESCE($2, payment_id),
             reason = COALESCE($3, reason), updated_at = $4
         WHERE id = $5",
    )
    .bind(state.as_str())
    .bind(payment.map(str::to_owned))
    .bind(reason.map(str::to_owned))
    .bind(millis(Utc::now()))
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// The registration an order pays for, if any.
pub(super) async fn registration_by_order(
    conn: &mut AnyConnection,
    order: &OrderId,
) -> Result<Option<Registration>, StoreError> {
    sqlx::query("SELECT * FROM registrations WHERE order_id = $1")
        .bind(order.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(registration)
        .transpose()
}

impl SqlStore {
    /// The attendee's registration for the same session that is not refunded or cancelled.
    async fn open_registration(
        &self,
        r: &Registration,
    ) -> Result<Option<Registration>, StoreError> {
        sqlx::query(
            "SELECT * FROM registrations WHERE platform = $1 AND meeting_id = $2
                 AND discord_user_id = $3 AND state IN ('awaiting_payment', 'paid', 'approved')",
        )
        .bind(r.platform.as_str())
        .bind(r.meeting_id.as_str())
        .bind(r.discord_user_id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(registration)
        .transpose()
    }

    /// Whether an open registration for the same session has the attendee's e-mail address,
    /// compared as `registrations_open_email` compares it.
    async fn email_taken(&self, r: &Registration) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM registrations WHERE platform = $1 AND meeting_id = $2
                 AND lower(email) = lower($3)
                 AND state IN ('awaiting_payment', 'paid', 'approved')",
        )
        .bind(r.platform.as_str())
        .bind(r.meeting_id.as_str())
        .bind(r.attendee.email.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}

#[async_trait]
impl RegistrationStore for SqlStore {
    async fn save_scheduled(&self, s: &ScheduledSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scheduled_sessions (platform, meeting_id, title, host_email, starts_at,
                 minutes, join_url, start_url, fee, currency, capacity, deadline, cancelled_at,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(s.platform.as_str())
        .bind(s.meeting_id.as_str())
        .bind(s.title.as_str())
        .bind(s.host_email.as_str())
        .bind(millis(s.starts_at))
        .bind(i64::from(s.minutes))
        .bind(s.join_url.as_str())
        .bind(s.start_url.as_str())
        .bind(s.fee.as_ref().map(|f| f.amount.to_string()))
        .bind(s.fee.as_ref().map(|f| f.amount.currency().code()))
        .bind(s.fee.as_ref().and_then(|f| f.capacity).map(i64::from))
        .bind(s.fee.as_ref().and_then(|f| f.deadline).map(millis))
        .bind(s.cancelled_at.map(millis))
        .bind(millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn scheduled(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_scheduled(&mut conn, platform, meeting_id).await
    }

    async fn scheduled_by_meeting(
        &self,
        meeting_id: &str,
    ) -> Result<Vec<ScheduledSession>, StoreError> {
        sqlx::query("SELECT * FROM scheduled_sessions WHERE meeting_id = $1 ORDER BY platform")
            .bind(meeting_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(scheduled)
            .collect()
    }

    async fn set_fee(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        fee: &Fee,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        lock_session(&mut tx, platform, meeting_id).await?;
        // Checked again under the lock: callers' earlier check may have been overtaken.
        if fee_fixed(&mut tx, platform, meeting_id).await? {
            let key = format!("{platform}/{meeting_id}");
            return Err(StoreError::Invalid(registration::fee_fixed_reason(&key, Lang::En)));
        }
        let done = sqlx::query(
            "UPDATE scheduled_sessions SET fee = $1, currency = $2, capacity = $3, deadline = $4
             WHERE platform = $5 AND meeting_id = $6 AND cancelled_at IS NULL",
        )
        .bind(fee.amount.to_string())
        .bind(fee.amount.currency().code())
        .bind(fee.capacity.map(i64::from))
        .bind(fee.deadline.map(millis))
        .bind(platform.as_str())
        .bind(meeting_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("open session {platform}/{meeting_id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fee_is_fixed(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fee_fixed(&mut conn, platform, meeting_id).await
    }

    async fn seats_taken(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<u32, StoreError> {
        let mut conn = self.pool.acquire().await?;
        count_seats(&mut conn, platform, meeting_id).await
    }

    async fn register(&self, r: &Registration, order: &Order) -> Result<Registered, StoreError> {
        if let Some(open) = self.open_registration(r).await? {
            return Ok(Registered::Existing(open));
        }
        let mut tx = self.write().await?;
        insert_order(&mut tx, order).await?;
        let now = millis(r.created_at);
        let inserted = sqlx::query(
            "INSERT INTO registrations (id, platform, meeting_id, discord_user_id, first_name,
                 last_name, email, order_id, state, lang, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(r.id.as_str())
        .bind(r.platform.as_str())
        .bind(r.meeting_id.as_str())
        .bind(r.discord_user_id.to_string())
        .bind(r.attendee.first_name.as_str())
        .bind(r.attendee.last_name.as_str())
        .bind(r.attendee.email.as_str())
        .bind(r.order_id.as_str())
        .bind(r.state.as_str())
        .bind(r.lang.code())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(Registered::New(r.clone()))
            }
            // One of the partial unique indexes refused it (the order is rolled back with it).
            // Which one is read back rather than from the error, which SQLite does not name:
            // the attendee's own open registration (two `/register`s at once) is reused; another
            // attendee's with this e-mail is refused.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                if let Some(open) = self.open_registration(r).await? {
                    return Ok(Registered::Existing(open));
                }
                if self.email_taken(r).await? {
                    return Err(StoreError::EmailTaken {
                        session: format!("{}/{}", r.platform, r.meeting_id),
                        email: r.attendee.email.clone(),
                    });
                }
                Err(StoreError::Invalid(format!("registration {} conflicts with another", r.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn registration(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_registration(&mut conn, id).await
    }

    async fn registrations_of(
        &self,
        discord_user_id: u64,
    ) -> Result<Vec<(Registration, ScheduledSession)>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM registrations WHERE discord_user_id = $1
             ORDER BY created_at DESC, id",
        )
        .bind(discord_user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        // Their sessions in one query, not one per registration.
        let sessions: Vec<ScheduledSession> = sqlx::query(
            "SELECT * FROM scheduled_sessions s WHERE EXISTS (SELECT 1 FROM registrations r
                 WHERE r.discord_user_id = $1 AND r.platform = s.platform
                   AND r.meeting_id = s.meeting_id)",
        )
        .bind(discord_user_id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(scheduled)
        .collect::<Result<_, _>>()?;
        rows.iter()
            .map(|row| {
                let reg = registration(row)?;
                let session = sessions
                    .iter()
                    .find(|s| s.platform == reg.platform && s.meeting_id == reg.meeting_id)
                    .cloned()
                    .ok_or_else(|| corrupt("registrations.meeting_id", "no scheduled session"))?;
                Ok((reg, session))
            })
            .collect()
    }

    async fn registrant_admitted(
        &self,
        id: &RegistrationId,
        registrant: &Registrant,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let mut reg = load_registration(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("registration {id}")))?;
        let approve = reg.state == RegistrationState::Paid;
        sqlx::query(
            "UPDATE registrations SET registrant_id = $1, join_url = $2, state = $3,
                 updated_at = $4
             WHERE id = $5",
        )
        .bind(registrant.id.as_str())
        .bind(registrant.join_url.clone())
        .bind(if approve { RegistrationState::Approved } else { reg.state }.as_str())
        .bind(millis(Utc::now()))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if approve {
            reg.join_url = registrant.join_url.clone();
            let session = load_scheduled(&mut tx, reg.platform, &reg.meeting_id)
                .await?
                .ok_or_else(|| corrupt("registrations.meeting_id", "no scheduled session"))?;
            let payment =
                sqlx::query("SELECT amount, currency, reference FROM payments WHERE id = $1")
                    .bind(reg.payment_id.clone())
                    .fetch_one(&mut *tx)
                    .await?;
            let currency: Currency = parsed(&payment, "currency")?;
            let fee = amount(&payment, "amount", currency)?;
            let reference: Option<String> = payment.try_get("reference")?;
            let message = registration::joined_message(&reg, &session, &fee, reference.as_deref());
            enqueue_on(&mut tx, &format!("joined:{id}"), &Effect::ChatMessage(message)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn registrant_refused(&self, id: &RegistrationId) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let reg = load_registration(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("registration {id}")))?;
        let Some(payment) = reg.payment_id.clone().filter(|_| reg.state == RegistrationState::Paid)
        else {
            return Ok(());
        };
        let session = load_scheduled(&mut tx, reg.platform, &reg.meeting_id)
            .await?
            .ok_or_else(|| corrupt("registrations.meeting_id", "no scheduled session"))?;
        let refused = registration::Closed::PlatformRefused;
        set_state(&mut tx, id, RegistrationState::Refunded, None, Some(&refused.reason())).await?;
        let decision = OnPaid::Refuse(refused);
        for (key, effect) in registration::effects(&decision, &reg, &session, &payment) {
            enqueue_on(&mut tx, &key, &effect).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn cancel_scheduled(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Cancelled, StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE scheduled_sessions SET cancelled_at = $1
             WHERE platform = $2 AND meeting_id = $3 AND cancelled_at IS NULL",
        )
        .bind(millis(at))
        .bind(platform.as_str())
        .bind(meeting_id)
        .execute(&mut *tx)
        .await?;
        let session = load_scheduled(&mut tx, platform, meeting_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("session {platform}/{meeting_id}")))?;
        let mut summary = Cancelled { now: done.rows_affected() == 1, ..Cancelled::default() };
        let rows = sqlx::query(
            "SELECT * FROM registrations WHERE platform = $1 AND meeting_id = $2
                 AND state IN ('awaiting_payment', 'paid', 'approved')",
        )
        .bind(platform.as_str())
        .bind(meeting_id)
        .fetch_all(&mut *tx)
        .await?;
        let reason = registration::Closed::Cancelled.reason();
        for row in &rows {
            let reg = registration(row)?;
            if !reg.state.holds_seat() {
                set_state(&mut tx, &reg.id, RegistrationState::Cancelled, None, Some(&reason))
                    .await?;
                summary.closed += 1;
                continue;
            }
            set_state(&mut tx, &reg.id, RegistrationState::Refunded, None, Some(&reason)).await?;
            let payment = reg.payment_id.clone().unwrap_or_default();
            let refund = Effect::Refund(Refund { payment: payment.clone() });
            enqueue_on(&mut tx, &format!("refund:{payment}"), &refund).await?;
            let tell = registration::cancelled_effect(&reg, &session);
            enqueue_on(&mut tx, &format!("cancelled:{}", reg.id), &tell).await?;
            summary.refunds += 1;
        }
        let delete = Effect::CancelMeeting(CancelMeeting {
            platform,
            meeting_id: meeting_id.to_owned(),
            host_email: session.host_email.clone(),
        });
        enqueue_on(&mut tx, &format!("cancel:{platform}:{meeting_id}"), &delete).await?;
        tx.commit().await?;
        Ok(summary)
    }
}
