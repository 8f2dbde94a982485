//! Accounts, sign-in sessions and refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{refresh_tokens, sessions, users};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub display_name: String,
    pub organisation: Option<String>,
    pub language: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, user: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// One page of users, ordered by email, and the total.
pub fn list(
    conn: &mut DbConnection,
    role: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let filtered = || {
        let mut query = users::table.into_boxed();
        if let Some(role) = role {
            query = query.filter(users::role.eq(role.to_string()));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(users::email.asc())
        .offset(offset)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

pub fn create_session(
    conn: &mut DbConnection,
    session_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(session_id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// The user behind a session that has not been revoked.
pub fn active_session_user(
    conn: &mut DbConnection,
    session_id: &str,
    user_id: &str,
) -> QueryResult<Option<UserRow>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn revoke_session(
    conn: &mut DbConnection,
    session_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(now))
        .execute(conn)
        .map(drop)
}

pub fn session_owner(conn: &mut DbConnection, session_id: &str) -> QueryResult<Option<UserRow>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn session_is_active(conn: &mut DbConnection, session_id: &str) -> QueryResult<bool> {
    sessions::table
        .find(session_id)
        .filter(sessions::revoked_at.is_null())
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

pub fn insert_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    session_id: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn find_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .find(token_hash)
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a refresh token used; false when it already was, so that two
/// concurrent refreshes with one token cannot both succeed.
pub fn use_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(refresh_tokens::table.find(token_hash))
        .filter(refresh_tokens::used_at.is_null())
        .set(refresh_tokens::used_at.eq(now))
        .execute(conn)
        .map(|n| n == 1)
}
