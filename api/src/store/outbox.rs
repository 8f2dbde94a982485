//! The outbox: every mail is a row first. A sender (a later addition)
//! delivers the pending ones; the idempotency key makes each mail exist once.

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
