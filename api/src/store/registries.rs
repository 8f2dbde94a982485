//! Registries, their revisions and their holders.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{registries, registry_holders, registry_revisions, users};
use super::users::UserRow;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = registries)]
pub struct RegistryRow {
    pub id: String,
    pub registry_code: String,
    pub publication_state: String,
    pub revision: i32,
    pub survey_round: i32,
    /// The whole record as JSON.
    pub record: String,
    pub name_ja: String,
    /// Folded names, acronym, code and diseases for the list's `q` filter.
    pub search_text: String,
    pub last_confirmed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `current`, `due` or `overdue`, as last computed (vocabulary `update_status`).
    pub update_status: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_revisions)]
pub struct RevisionRow {
    pub registry_id: String,
    pub revision: i32,
    pub action: String,
    pub publication_state: String,
    pub survey_round: i32,
    pub record: String,
    /// JSON array of field names.
    pub changed_fields: String,
    pub author_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Which registries a caller may list.
#[derive(Debug, Clone)]
pub enum Visibility {
    Published,
    PublishedOrHeldBy(String),
    All,
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub visibility: Visibility,
    pub publication_state: Option<String>,
    /// Already folded; matched as a substring of `search_text`.
    pub text: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &RegistryRow) -> QueryResult<()> {
    diesel::insert_into(registries::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<RegistryRow>> {
    registries::table
        .filter(registries::registry_code.eq(code))
        .select(RegistryRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RegistryRow>> {
    registries::table
        .find(id)
        .select(RegistryRow::as_select())
        .first(conn)
        .optional()
}

/// The registries with these codes, in code order.
pub fn find_by_codes(conn: &mut DbConnection, codes: &[String]) -> QueryResult<Vec<RegistryRow>> {
    registries::table
        .filter(registries::registry_code.eq_any(codes))
        .order(registries::registry_code.asc())
        .select(RegistryRow::as_select())
        .load(conn)
}

pub fn count_published(conn: &mut DbConnection) -> QueryResult<i64> {
    registries::table
        .filter(registries::publication_state.eq("published"))
        .count()
        .get_result(conn)
}

/// One page of all published registries in code order after `after_code`.
pub fn published_after(
    conn: &mut DbConnection,
    after_code: &str,
    limit: i64,
) -> QueryResult<Vec<RegistryRow>> {
    registries::table
        .filter(registries::publication_state.eq("published"))
        .filter(registries::registry_code.gt(after_code))
        .order(registries::registry_code.asc())
        .limit(limit)
        .select(RegistryRow::as_select())
        .load(conn)
}

/// Replaces the stored registry when its revision is still `expected`.
/// Returns false when someone else saved first.
pub fn update_if_revision(
    conn: &mut DbConnection,
    row: &RegistryRow,
    expected: i32,
) -> QueryResult<bool> {
    diesel::update(registries::table.find(&row.id))
        .filter(registries::revision.eq(expected))
        .set((
            registries::publication_state.eq(&row.publication_state),
            registries::revision.eq(row.revision),
            registries::survey_round.eq(row.survey_round),
            registries::record.eq(&row.record),
            registries::name_ja.eq(&row.name_ja),
            registries::search_text.eq(&row.search_text),
            registries::last_confirmed_at.eq(row.last_confirmed_at),
            registries::updated_at.eq(row.updated_at),
            registries::update_status.eq(&row.update_status),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records a newly computed update status; false when it was already that.
pub fn set_update_status(conn: &mut DbConnection, id: &str, status: &str) -> QueryResult<bool> {
    diesel::update(registries::table.find(id))
        .filter(registries::update_status.ne(status))
        .set(registries::update_status.eq(status))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn insert_revision(conn: &mut DbConnection, row: &RevisionRow) -> QueryResult<()> {
    diesel::insert_into(registry_revisions::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// One page in registry code order, and the total.
pub fn list(
    conn: &mut DbConnection,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<RegistryRow>, i64)> {
    let filtered = || {
        let mut query = registries::table.into_boxed();
        match &filter.visibility {
            Visibility::Published => {
                query = query.filter(registries::publication_state.eq("published"));
            }
            Visibility::PublishedOrHeldBy(user_id) => {
                let held = registry_holders::table
                    .filter(registry_holders::user_id.eq(user_id.clone()))
                    .select(registry_holders::registry_id);
                query = query.filter(
                    registries::publication_state
                        .eq("published")
                        .or(registries::id.eq_any(held)),
                );
            }
            Visibility::All => {}
        }
        if let Some(state) = &filter.publication_state {
            query = query.filter(registries::publication_state.eq(state.clone()));
        }
        if let Some(text) = &filter.text {
            query = query.filter(
                registries::search_text
                    .like(format!("%{}%", escape_like(text)))
                    .escape('\\'),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(registries::registry_code.asc())
        .offset(offset)
        .limit(limit)
        .select(RegistryRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn revisions(conn: &mut DbConnection, registry_id: &str) -> QueryResult<Vec<RevisionRow>> {
    registry_revisions::table
        .filter(registry_revisions::registry_id.eq(registry_id))
        .order(registry_revisions::revision.desc())
        .select(RevisionRow::as_select())
        .load(conn)
}

pub fn revision(
    conn: &mut DbConnection,
    registry_id: &str,
    revision: i32,
) -> QueryResult<Option<RevisionRow>> {
    registry_revisions::table
        .find((registry_id, revision))
        .select(RevisionRow::as_select())
        .first(conn)
        .optional()
}

pub fn holders(conn: &mut DbConnection, registry_id: &str) -> QueryResult<Vec<UserRow>> {
    registry_holders::table
        .inner_join(users::table)
        .filter(registry_holders::registry_id.eq(registry_id))
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)
}

pub fn is_holder(conn: &mut DbConnection, registry_id: &str, user_id: &str) -> QueryResult<bool> {
    registry_holders::table
        .find((registry_id, user_id))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// Codes of the registries a user holds, in code order.
pub fn held_codes(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    registry_holders::table
        .inner_join(registries::table)
        .filter(registry_holders::user_id.eq(user_id))
        .order(registries::registry_code.asc())
        .select(registries::registry_code)
        .load(conn)
}

/// Returns false when the user already held the registry.
pub fn add_holder(
    conn: &mut DbConnection,
    registry_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    if is_holder(conn, registry_id, user_id)? {
        return Ok(false);
    }
    diesel::insert_into(registry_holders::table)
        .values((
            registry_holders::registry_id.eq(registry_id),
            registry_holders::user_id.eq(user_id),
            registry_holders::assigned_at.eq(now),
        ))
        .execute(conn)
        .map(|_| true)
}

/// Returns false when the user did not hold the registry.
pub fn remove_holder(
    conn: &mut DbConnection,
    registry_id: &str,
    user_id: &str,
) -> QueryResult<bool> {
    diesel::delete(registry_holders::table.find((registry_id, user_id)))
        .execute(conn)
        .map(|n| n == 1)
}
