//! The outbox: every mail is a row first. The sender (`crate::mail`) claims
//! due rows, delivers them, and records the outcome; the idempotency key
//! makes each mail exist once.
//!
//! A row is `pending` (waiting for its `next_attempt_at`), `sending` (claimed
//! by one sender, whose lease ends at `next_attempt_at`), `sent`, or `dead`
//! (every attempt failed; the office may queue it again).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::outbox;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient_email: String,
    pub language: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub kind: String,
    pub related_type: String,
    pub related_id: String,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

pub const PENDING: &str = "pending";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const DEAD: &str = "dead";

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxMail {
    pub recipient_email: String,
    pub language: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub kind: String,
    pub related_type: String,
    pub related_id: String,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Adds a mail unless one with its idempotency key exists; true when added.
/// `ON CONFLICT DO NOTHING`, so that two instances running the same pass
/// neither fail nor send twice.
pub fn enqueue(conn: &mut DbConnection, mail: &NewOutboxMail) -> QueryResult<bool> {
    let added = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(outbox::table)
            .values(mail)
            .on_conflict(outbox::idempotency_key)
            .do_nothing()
            .execute(c)?,
        DbConnection::Postgres(c) => diesel::insert_into(outbox::table)
            .values(mail)
            .on_conflict(outbox::idempotency_key)
            .do_nothing()
            .execute(c)?,
    };
    Ok(added == 1)
}

#[derive(Debug, Default, Clone)]
pub struct OutboxFilter {
    pub kind: Option<String>,
    pub related_id: Option<String>,
    pub recipient_email: Option<String>,
    pub status: Option<String>,
}

/// Newest first, and the total.
pub fn list(
    conn: &mut DbConnection,
    filter: &OutboxFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<OutboxRow>, i64)> {
    let filtered = || {
        let mut query = outbox::table.into_boxed();
        if let Some(kind) = &filter.kind {
            query = query.filter(outbox::kind.eq(kind.clone()));
        }
        if let Some(id) = &filter.related_id {
            query = query.filter(outbox::related_id.eq(id.clone()));
        }
        if let Some(email) = &filter.recipient_email {
            query = query.filter(outbox::recipient_email.eq(email.clone()));
        }
        if let Some(status) = &filter.status {
            query = query.filter(outbox::status.eq(status.clone()));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(outbox::id.desc())
        .offset(offset)
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// Claims up to `limit` rows due at `now` (pending, or claimed by a sender
/// whose lease ran out) until `lease_until`, counting the attempt. Returns
/// the claimed rows, oldest first; each row's `attempts` is the fence its
/// sender must name when it records the outcome.
///
/// PostgreSQL skips rows another sender is claiming (`FOR UPDATE SKIP
/// LOCKED`), so instances do not queue behind each other; on both backends
/// the update re-checks each row, so a row is claimed by one sender only.
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let candidates = outbox::table
        .filter(outbox::status.eq_any([PENDING, SENDING]))
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::id.asc())
        .limit(limit)
        .select((outbox::id, outbox::attempts));
    let due: Vec<(i64, i32)> = match conn {
        DbConnection::Postgres(c) => candidates.for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => candidates.load(c)?,
    };
    let mut claimed = Vec::with_capacity(due.len());
    for (id, attempts) in due {
        let taken = diesel::update(
            outbox::table
                .find(id)
                .filter(outbox::attempts.eq(attempts))
                .filter(outbox::status.eq_any([PENDING, SENDING]))
                .filter(outbox::next_attempt_at.le(now)),
        )
        .set((
            outbox::status.eq(SENDING),
            // While sending, `next_attempt_at` is the end of the lease.
            outbox::next_attempt_at.eq(lease_until),
            outbox::attempts.eq(attempts + 1),
        ))
        .execute(conn)?;
        if taken == 1 {
            claimed.push(id);
        }
    }
    outbox::table
        .filter(outbox::id.eq_any(&claimed))
        .order(outbox::id.asc())
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Extends the lease of a claimed row just before it is sent, so a batch
/// that takes longer than one lease is not taken over halfway through by
/// another sender. False when the claim was lost (see [`mark_sent`]).
pub fn renew(
    conn: &mut DbConnection,
    id: i64,
    attempt: i32,
    lease_until: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq(SENDING))
            .filter(outbox::attempts.eq(attempt)),
    )
    .set(outbox::next_attempt_at.eq(lease_until))
    .execute(conn)
    .map(|n| n == 1)
}

/// Marks a claimed row sent. `attempt` is the row's `attempts` as claimed:
/// once a lease runs out and another sender takes the row over, the count
/// moves on and this returns false.
pub fn mark_sent(
    conn: &mut DbConnection,
    id: i64,
    attempt: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq(SENDING))
            .filter(outbox::attempts.eq(attempt)),
    )
    .set((
        outbox::status.eq(SENT),
        outbox::sent_at.eq(now),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records a failed attempt on a claimed row: `pending` again from
/// `retry_at`, or `dead` when `retry_at` is `None`. False when the claim was
/// lost (see [`mark_sent`]).
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i64,
    attempt: i32,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let (status, next) = match retry_at {
        Some(at) => (PENDING, Some(at)),
        None => (DEAD, None),
    };
    let target = outbox::table
        .find(id)
        .filter(outbox::status.eq(SENDING))
        .filter(outbox::attempts.eq(attempt));
    let updated = match next {
        Some(at) => diesel::update(target)
            .set((
                outbox::status.eq(status),
                outbox::next_attempt_at.eq(at),
                outbox::last_error.eq(error),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((outbox::status.eq(status), outbox::last_error.eq(error)))
            .execute(conn)?,
    };
    Ok(updated == 1)
}

/// Puts a dead letter back in the queue with a fresh count of attempts; its
/// last error stays for the record. False when the row is not dead.
pub fn requeue(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(outbox::table.find(id).filter(outbox::status.eq(DEAD)))
        .set((
            outbox::status.eq(PENDING),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// How many rows are in each status (for the metrics).
pub fn count_by_status(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)
}
