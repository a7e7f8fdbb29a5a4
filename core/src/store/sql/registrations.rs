//! [`RegistrationStore`] in SQL, and what a paid registration order does inside the payment
//! transaction that recorded it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row};

use super::payments::{amount, corrupt, insert_order, time};
use super::{Constraint, SqlStore, bind_each, list, millis, opt_time, parsed};
use crate::fee_based::group::GuestSeat;
use crate::fee_based::refunds::RefundRecord;
use crate::fee_based::registration::{
    self, Fee, Registration, RegistrationId, RegistrationState, ScheduledSession,
};
use crate::lang::Lang;
use crate::money::Currency;
use crate::payments::order::{Order, OrderId};
use crate::payments::payment::PaymentId;
use crate::platform::PlatformKind;
use crate::platform::control::{Attendee, Registrant};
use crate::store::{Registered, RegistrationStore, StoreError};

/// The columns a [`ScheduledSession`] is read from.
macro_rules! scheduled_columns {
    () => {
        "platform, meeting_id, title, host_email, starts_at, minutes, join_url, start_url, fee,
         currency, capacity, deadline, cancelled_at"
    };
}

/// The columns a [`Registration`] is read from.
macro_rules! registration_columns {
    () => {
        "id, platform, meeting_id, discord_user_id, first_name, last_name, email, order_id,
         state, payment_id, reason, registrant_id, join_url, lang, created_at, waiting_since,
         offer_until, seats"
    };
}

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
        waiting_since: opt_time(row, "waiting_since")?,
        offer_until: opt_time(row, "offer_until")?,
        seats: count(row, "seats")?,
    })
}

fn count(row: &AnyRow, column: &'static str) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(column)?;
    u32::try_from(n).map_err(|e| corrupt(column, e))
}

fn guest(row: &AnyRow) -> Result<GuestSeat, StoreError> {
    Ok(GuestSeat {
        seat: count(row, "seat")?,
        attendee: Attendee {
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
        },
        registrant_id: row.try_get("registrant_id")?,
        join_url: row.try_get("join_url")?,
        refunded: opt_time(row, "refunded_at")?.is_some(),
    })
}

/// A group registration's guests' seats, by seat number.
pub(super) async fn guest_seats<'c, E>(
    conn: E,
    id: &RegistrationId,
) -> Result<Vec<GuestSeat>, StoreError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    sqlx::query(
        "SELECT seat, first_name, last_name, email, registrant_id, join_url, refunded_at
         FROM registration_guests WHERE registration_id = $1 ORDER BY seat",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(guest)
    .collect()
}

pub(super) async fn set_guest_registrant(
    conn: &mut AnyConnection,
    id: &RegistrationId,
    seat: u32,
    registrant: &Registrant,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE registration_guests SET registrant_id = $1, join_url = $2
         WHERE registration_id = $3 AND seat = $4",
    )
    .bind(registrant.id.as_str())
    .bind(registrant.join_url.clone())
    .bind(id.as_str())
    .bind(i64::from(seat))
    .execute(conn)
    .await?;
    Ok(())
}

/// Frees a guest's seat that is not refunded yet: the seat is marked and the registration
/// holds one seat less, in the caller's transaction. False when there is no such seat.
pub(super) async fn free_guest_seat(
    conn: &mut AnyConnection,
    id: &RegistrationId,
    seat: u32,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let marked = sqlx::query(
        "UPDATE registration_guests SET refunded_at = $1
         WHERE registration_id = $2 AND seat = $3 AND refunded_at IS NULL",
    )
    .bind(millis(at))
    .bind(id.as_str())
    .bind(i64::from(seat))
    .execute(&mut *conn)
    .await?;
    if marked.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE registrations SET seats = seats - 1, updated_at = $1 WHERE id = $2")
        .bind(millis(at))
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(true)
}

pub(super) async fn load_scheduled<'c, E>(
    conn: E,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Option<ScheduledSession>, StoreError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    sqlx::query(concat!(
        "SELECT ",
        scheduled_columns!(),
        " FROM scheduled_sessions WHERE platform = $1 AND meeting_id = $2"
    ))
    .bind(platform.as_str())
    .bind(meeting_id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(scheduled)
    .transpose()
}

pub(super) async fn load_registration<'c, E>(
    conn: E,
    id: &RegistrationId,
) -> Result<Option<Registration>, StoreError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    sqlx::query(concat!("SELECT ", registration_columns!(), " FROM registrations WHERE id = $1"))
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

/// `typed`, matched literally inside a `LIKE … ESCAPE '\'` pattern.
fn like_escaped(typed: &str) -> String {
    typed.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Seats held: a state that holds one, or an unpaid registration on the waiting list with an
/// offer running after `$now`. Its placeholders start at `$first`: the states that hold a
/// seat, the unpaid state, then `now`; bound by [`bind_held`].
fn held_where(first: usize) -> String {
    let seated = RegistrationState::all_where(RegistrationState::holds_seat).len();
    let unpaid = first + seated;
    format!(
        "(state IN ({}) OR (state = ${unpaid} AND waiting_since IS NOT NULL AND offer_until > ${}))",
        list(first, seated),
        unpaid + 1
    )
}

fn bind_held<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    let seated = RegistrationState::all_where(RegistrationState::holds_seat);
    bind_each(query, seated.iter().map(|s| s.as_str()))
        .bind(RegistrationState::AwaitingPayment.as_str())
        .bind(millis(now))
}

pub(super) async fn seats_held(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
    now: DateTime<Utc>,
    except: Option<&RegistrationId>,
) -> Result<u32, StoreError> {
    let sql = format!(
        "SELECT COALESCE(SUM(seats), 0) AS n FROM registrations
         WHERE platform = $1 AND meeting_id = $2 AND id <> $3 AND {}",
        held_where(4)
    );
    let query = sqlx::query(AssertSqlSafe(sql))
        .bind(platform.as_str())
        .bind(meeting_id)
        .bind(except.map_or("", RegistrationId::as_str));
    let n: i64 = bind_held(query, now).fetch_one(conn).await?.try_get("n")?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

pub(super) async fn first_in_line(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Option<Registration>, StoreError> {
    sqlx::query(concat!(
        "SELECT ",
        registration_columns!(),
        " FROM registrations WHERE platform = $1 AND meeting_id = $2 AND state = $3
            AND waiting_since IS NOT NULL AND offer_until IS NULL
          ORDER BY waiting_since, id LIMIT 1"
    ))
    .bind(platform.as_str())
    .bind(meeting_id)
    .bind(RegistrationState::AwaitingPayment.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(registration)
    .transpose()
}

/// How many stand in line before `r`, and `r` itself: its place.
pub(super) async fn place_in_line(
    conn: &mut AnyConnection,
    r: &Registration,
) -> Result<u32, StoreError> {
    let since = r.waiting_since.map(millis).unwrap_or_default();
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM registrations
         WHERE platform = $1 AND meeting_id = $2 AND state = $3
           AND waiting_since IS NOT NULL AND offer_until IS NULL
           AND (waiting_since < $4 OR (waiting_since = $4 AND id <= $5))",
    )
    .bind(r.platform.as_str())
    .bind(r.meeting_id.as_str())
    .bind(RegistrationState::AwaitingPayment.as_str())
    .bind(since)
    .bind(r.id.as_str())
    .fetch_one(conn)
    .await?
    .try_get("n")?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Joins the end of the line: an offer that ran out before is forgotten.
pub(super) async fn stand_in_line(
    conn: &mut AnyConnection,
    id: &RegistrationId,
    since: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE registrations SET waiting_since = $1, offer_until = NULL, updated_at = $1
         WHERE id = $2",
    )
    .bind(millis(since))
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn offer_seat(
    conn: &mut AnyConnection,
    id: &RegistrationId,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE registrations SET offer_until = $1, updated_at = $2 WHERE id = $3")
        .bind(millis(until))
        .bind(millis(Utc::now()))
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn leave_line(
    conn: &mut AnyConnection,
    id: &RegistrationId,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE registrations SET waiting_since = NULL, updated_at = $1 WHERE id = $2")
        .bind(millis(Utc::now()))
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn registrations_in(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
    states: &[RegistrationState],
) -> Result<Vec<Registration>, StoreError> {
    let sql = format!(
        concat!(
            "SELECT ",
            registration_columns!(),
            " FROM registrations WHERE platform = $1 AND meeting_id = $2 AND state IN ({})
              ORDER BY created_at, id"
        ),
        list(3, states.len())
    );
    let query = bind_each(
        sqlx::query(AssertSqlSafe(sql)).bind(platform.as_str()).bind(meeting_id),
        states.iter().map(|s| s.as_str()),
    );
    query.fetch_all(conn).await?.iter().map(registration).collect()
}

pub(super) async fn mark_cancelled(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE scheduled_sessions SET cancelled_at = $1
         WHERE platform = $2 AND meeting_id = $3 AND cancelled_at IS NULL",
    )
    .bind(millis(at))
    .bind(platform.as_str())
    .bind(meeting_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_registrant(
    conn: &mut AnyConnection,
    id: &RegistrationId,
    registrant: &Registrant,
    state: RegistrationState,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE registrations SET registrant_id = $1, join_url = $2, state = $3, updated_at = $4
         WHERE id = $5",
    )
    .bind(registrant.id.as_str())
    .bind(registrant.join_url.clone())
    .bind(state.as_str())
    .bind(millis(Utc::now()))
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
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
         WHERE platform = $1 AND meeting_id = $2 AND (payment_id IS NOT NULL OR state = $3)",
    )
    .bind(platform.as_str())
    .bind(meeting_id)
    .bind(RegistrationState::AwaitingPayment.as_str())
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
    sqlx::query(concat!(
        "SELECT ",
        registration_columns!(),
        " FROM registrations WHERE order_id = $1"
    ))
    .bind(order.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(registration)
    .transpose()
}

impl SqlStore {
    /// The attendee's open registration for the same session.
    async fn open_registration(
        &self,
        r: &Registration,
    ) -> Result<Option<Registration>, StoreError> {
        let open = RegistrationState::all_where(RegistrationState::is_open);
        let sql = format!(
            concat!(
                "SELECT ",
                registration_columns!(),
                " FROM registrations WHERE platform = $1 AND meeting_id = $2
                    AND discord_user_id = $3 AND state IN ({})"
            ),
            list(4, open.len())
        );
        let query = bind_each(
            sqlx::query(AssertSqlSafe(sql))
                .bind(r.platform.as_str())
                .bind(r.meeting_id.as_str())
                .bind(r.discord_user_id.to_string()),
            open.iter().map(|s| s.as_str()),
        );
        query.fetch_optional(&self.pool).await?.as_ref().map(registration).transpose()
    }

    /// Whether an open registration for the same session has the attendee's e-mail address
    /// (stored in its normal form, as `registrations_open_email` indexes it).
    async fn email_taken(&self, r: &Registration) -> Result<bool, StoreError> {
        let open = RegistrationState::all_where(RegistrationState::is_open);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM registrations
             WHERE platform = $1 AND meeting_id = $2 AND email = $3 AND state IN ({})",
            list(4, open.len())
        );
        let query = bind_each(
            sqlx::query(AssertSqlSafe(sql))
                .bind(r.platform.as_str())
                .bind(r.meeting_id.as_str())
                .bind(r.attendee.email.as_str()),
            open.iter().map(|s| s.as_str()),
        );
        Ok(query.fetch_one(&self.pool).await?.try_get::<i64, _>("n")? > 0)
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn scheduled(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError> {
        load_scheduled(&self.pool, platform, meeting_id).await
    }

    async fn scheduled_by_meeting(
        &self,
        meeting_id: &str,
    ) -> Result<Vec<ScheduledSession>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            scheduled_columns!(),
            " FROM scheduled_sessions WHERE meeting_id = $1 ORDER BY platform"
        ))
        .bind(meeting_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(scheduled)
        .collect()
    }

    async fn open_for_registration(
        &self,
        typed: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledSession>, StoreError> {
        // `open_for`'s rules in SQL: registration closes at the deadline, else at the end. A
        // full session is suggested too: it takes registrations for its waiting list.
        let sql = format!(
            "SELECT {} FROM scheduled_sessions s
             WHERE s.fee IS NOT NULL AND s.cancelled_at IS NULL
               AND COALESCE(s.deadline, s.starts_at + s.minutes * 60000) >= $1
               AND (LOWER(s.title) LIKE $2 ESCAPE '\\' OR LOWER(s.meeting_id) LIKE $2 ESCAPE '\\')
             ORDER BY s.starts_at, s.platform, s.meeting_id LIMIT {limit}",
            scheduled_columns!(),
        );
        let pattern = format!("%{}%", like_escaped(&typed.trim().to_lowercase()));
        sqlx::query(AssertSqlSafe(sql))
            .bind(millis(now))
            .bind(pattern)
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
        now: DateTime<Utc>,
        except: Option<&RegistrationId>,
    ) -> Result<u32, StoreError> {
        let mut conn = self.pool.acquire().await?;
        seats_held(&mut conn, platform, meeting_id, now, except).await
    }

    async fn expired_offers(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<RegistrationId>, StoreError> {
        let sql = format!(
            "SELECT id FROM registrations
             WHERE state = $1 AND waiting_since IS NOT NULL AND offer_until <= $2
             ORDER BY offer_until, id LIMIT {limit}"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(RegistrationState::AwaitingPayment.as_str())
            .bind(millis(now))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| parsed(row, "id"))
            .collect()
    }

    async fn place_in_line(&self, registration: &Registration) -> Result<u32, StoreError> {
        place_in_line(&mut *self.pool.acquire().await?, registration).await
    }

    async fn register_group(
        &self,
        r: &Registration,
        order: &Order,
        guests: &[Attendee],
    ) -> Result<Registered, StoreError> {
        if let Some(open) = self.open_registration(r).await? {
            return Ok(Registered::Existing(open));
        }
        let mut tx = self.write().await?;
        insert_order(&mut tx, order).await?;
        let now = millis(r.created_at);
        let inserted = sqlx::query(
            "INSERT INTO registrations (id, platform, meeting_id, discord_user_id, first_name,
                 last_name, email, order_id, state, lang, created_at, updated_at, seats)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
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
        .bind(i64::from(r.seats))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                // Seat 1 is the registration's own attendee; the guests' follow it.
                for (seat, g) in (2_i64..).zip(guests) {
                    sqlx::query(
                        "INSERT INTO registration_guests (registration_id, seat, first_name,
                             last_name, email) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(r.id.as_str())
                    .bind(seat)
                    .bind(g.first_name.as_str())
                    .bind(g.last_name.as_str())
                    .bind(g.email.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(Registered::New(r.clone()))
            }
            // One of the partial unique indexes refused it (the order is rolled back with it).
            // Which one is read back rather than from the error, which SQLite does not name:
            // the attendee's own open registration (two `/register`s at once) is reused; another
            // attendee's with this e-mail is refused.
            Err(e) if Constraint::of(&e) == Some(Constraint::Unique) => {
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
        load_registration(&self.pool, id).await
    }

    async fn registration_of_order(
        &self,
        order: &OrderId,
    ) -> Result<Option<Registration>, StoreError> {
        registration_by_order(&mut *self.pool.acquire().await?, order).await
    }

    async fn guest_seats(&self, id: &RegistrationId) -> Result<Vec<GuestSeat>, StoreError> {
        guest_seats(&self.pool, id).await
    }

    async fn refunds_of(&self, payment: &PaymentId) -> Result<Vec<RefundRecord>, StoreError> {
        super::refunds::refunds_of(&mut *self.pool.acquire().await?, payment).await
    }

    async fn registrations_of(
        &self,
        discord_user_id: u64,
    ) -> Result<Vec<(Registration, ScheduledSession)>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            registration_columns!(),
            " FROM registrations WHERE discord_user_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(discord_user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        // Their sessions in one query, not one per registration.
        let sessions: Vec<ScheduledSession> = sqlx::query(concat!(
            "SELECT ",
            scheduled_columns!(),
            " FROM scheduled_sessions s WHERE EXISTS (SELECT 1 FROM registrations r
                 WHERE r.discord_user_id = $1 AND r.platform = s.platform
                   AND r.meeting_id = s.meeting_id)"
        ))
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
}
