//! Inquiries, the registries each is about, their threads and their moves.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    consultation_events, consultation_messages, consultation_registries, consultations, registries,
    registry_holders, users,
};
use super::users::UserRow;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultations)]
pub struct ConsultationRow {
    pub id: String,
    pub requester_id: String,
    pub organisation: Option<String>,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub desired_timeline: Option<String>,
    pub assignee_id: Option<String>,
    pub status: String,
    pub status_changed_at: NaiveDateTime,
    /// Increases with every change of the inquiry; moves are conditional on it.
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub first_response_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultation_registries)]
pub struct TargetRow {
    pub consultation_id: String,
    pub registry_id: String,
    pub status: String,
    pub holder_unreachable: bool,
    pub status_changed_at: NaiveDateTime,
    /// The later of the last move and the last message by one of its holders.
    pub last_activity_at: NaiveDateTime,
}

/// A target registry with its public code.
#[derive(Debug, Clone)]
pub struct Target {
    pub row: TargetRow,
    pub registry_code: String,
    pub name_ja: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultation_messages)]
pub struct MessageRow {
    pub id: String,
    pub consultation_id: String,
    pub author_id: String,
    pub internal: bool,
    pub body: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consultation_events)]
pub struct EventRow {
    pub id: i64,
    pub consultation_id: String,
    pub registry_id: Option<String>,
    pub actor_id: Option<String>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = consultation_events)]
pub struct NewEvent {
    pub consultation_id: String,
    pub registry_id: Option<String>,
    pub actor_id: Option<String>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Which inquiries a caller may see.
#[derive(Debug, Clone)]
pub enum Visibility {
    All,
    /// A company account: its organisation's inquiries, and its own.
    Organisation {
        user_id: String,
        organisation: Option<String>,
    },
    /// A holder: inquiries forwarded to a registry they hold.
    HolderOf(String),
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub visibility: Visibility,
    pub status: Option<String>,
    pub kind: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ConsultationRow) -> QueryResult<()> {
    diesel::insert_into(consultations::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ConsultationRow>> {
    consultations::table
        .find(id)
        .select(ConsultationRow::as_select())
        .first(conn)
        .optional()
}

/// Moves an inquiry when nobody changed it since `expected_version` was
/// read; false when someone did. The database decides, so of two
/// concurrent moves exactly one succeeds.
pub fn move_if_version(
    conn: &mut DbConnection,
    row: &ConsultationRow,
    expected_version: i32,
) -> QueryResult<bool> {
    diesel::update(consultations::table.find(&row.id))
        .filter(consultations::version.eq(expected_version))
        .set((
            consultations::status.eq(&row.status),
            consultations::status_changed_at.eq(row.status_changed_at),
            consultations::version.eq(row.version),
            consultations::assignee_id.eq(&row.assignee_id),
            consultations::updated_at.eq(row.updated_at),
            consultations::first_response_at.eq(row.first_response_at),
            consultations::decided_at.eq(row.decided_at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records activity on an inquiry that does not change its state (a
/// message, a registry's move): `updated_at`, and the first response.
pub fn touch(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    responded: bool,
) -> QueryResult<()> {
    diesel::update(consultations::table.find(id))
        .set(consultations::updated_at.eq(now))
        .execute(conn)?;
    if responded {
        diesel::update(consultations::table.find(id))
            .filter(consultations::first_response_at.is_null())
            .set(consultations::first_response_at.eq(now))
            .execute(conn)?;
    }
    Ok(())
}

/// One page, newest first, and the total.
pub fn list(
    conn: &mut DbConnection,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ConsultationRow>, i64)> {
    let filtered = || {
        let mut query = consultations::table.into_boxed();
        match &filter.visibility {
            Visibility::All => {}
            Visibility::Organisation {
                user_id,
                organisation: Some(organisation),
            } => {
                query = query.filter(
                    consultations::organisation
                        .eq(organisation.clone())
                        .or(consultations::requester_id.eq(user_id.clone())),
                );
            }
            Visibility::Organisation {
                user_id,
                organisation: None,
            } => {
                query = query.filter(consultations::requester_id.eq(user_id.clone()));
            }
            Visibility::HolderOf(user_id) => {
                let forwarded =
                    consultation_registries::table
                        .inner_join(registry_holders::table.on(
                            registry_holders::registry_id.eq(consultation_registries::registry_id),
                        ))
                        .filter(registry_holders::user_id.eq(user_id.clone()))
                        .filter(consultation_registries::status.ne("pending"))
                        .select(consultation_registries::consultation_id);
                query = query.filter(consultations::id.eq_any(forwarded));
            }
        }
        if let Some(status) = &filter.status {
            query = query.filter(consultations::status.eq(status.clone()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(consultations::kind.eq(kind.clone()));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((consultations::created_at.desc(), consultations::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(ConsultationRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Every inquiry created in `[from, to)`, oldest first (figures, export).
pub fn created_between(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<ConsultationRow>> {
    consultations::table
        .filter(consultations::created_at.ge(from))
        .filter(consultations::created_at.lt(to))
        .order((consultations::created_at.asc(), consultations::id.asc()))
        .select(ConsultationRow::as_select())
        .load(conn)
}

/// Inquiries in one of `states`, oldest first (the reminder pass).
pub fn in_states(conn: &mut DbConnection, states: &[&str]) -> QueryResult<Vec<ConsultationRow>> {
    consultations::table
        .filter(consultations::status.eq_any(states.iter().map(|s| s.to_string())))
        .order((consultations::created_at.asc(), consultations::id.asc()))
        .select(ConsultationRow::as_select())
        .load(conn)
}

pub fn insert_target(conn: &mut DbConnection, row: &TargetRow) -> QueryResult<()> {
    diesel::insert_into(consultation_registries::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The registries an inquiry is about, in code order. `holder_unreachable`
/// is as of now: a holder assigned since the forwarding can answer.
pub fn targets(conn: &mut DbConnection, consultation_id: &str) -> QueryResult<Vec<Target>> {
    let has_holder = diesel::dsl::exists(
        registry_holders::table
            .filter(registry_holders::registry_id.eq(consultation_registries::registry_id)),
    );
    let rows: Vec<(TargetRow, String, String, bool)> = consultation_registries::table
        .inner_join(registries::table)
        .filter(consultation_registries::consultation_id.eq(consultation_id))
        .order(registries::registry_code.asc())
        .select((
            TargetRow::as_select(),
            registries::registry_code,
            registries::name_ja,
            has_holder,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(mut row, registry_code, name_ja, has_holder)| {
            if row.status != "pending" {
                row.holder_unreachable = !has_holder;
            }
            Target {
                row,
                registry_code,
                name_ja,
            }
        })
        .collect())
}

/// Moves a registry's answer when it is still `from`; false when someone moved it first.
pub fn move_target_if_status(
    conn: &mut DbConnection,
    consultation_id: &str,
    registry_id: &str,
    from: &str,
    to: &str,
    holder_unreachable: bool,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(consultation_registries::table.find((consultation_id, registry_id)))
        .filter(consultation_registries::status.eq(from))
        .set((
            consultation_registries::status.eq(to),
            consultation_registries::holder_unreachable.eq(holder_unreachable),
            consultation_registries::status_changed_at.eq(now),
            consultation_registries::last_activity_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// A holder wrote: the time limit of the registries they hold starts again.
pub fn touch_targets_held_by(
    conn: &mut DbConnection,
    consultation_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let held = registry_holders::table
        .filter(registry_holders::user_id.eq(user_id))
        .select(registry_holders::registry_id);
    diesel::update(consultation_registries::table)
        .filter(consultation_registries::consultation_id.eq(consultation_id))
        .filter(consultation_registries::registry_id.eq_any(held))
        .set(consultation_registries::last_activity_at.eq(now))
        .execute(conn)
}

/// Whether `user_id` holds one of the registries this inquiry was forwarded to.
pub fn holds_forwarded_target(
    conn: &mut DbConnection,
    consultation_id: &str,
    user_id: &str,
) -> QueryResult<bool> {
    consultation_registries::table
        .inner_join(
            registry_holders::table
                .on(registry_holders::registry_id.eq(consultation_registries::registry_id)),
        )
        .filter(consultation_registries::consultation_id.eq(consultation_id))
        .filter(registry_holders::user_id.eq(user_id))
        .filter(consultation_registries::status.ne("pending"))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// Ids of the registries among `registry_ids` that `user_id` holds.
pub fn held_among(
    conn: &mut DbConnection,
    user_id: &str,
    registry_ids: &[String],
) -> QueryResult<Vec<String>> {
    registry_holders::table
        .filter(registry_holders::user_id.eq(user_id))
        .filter(registry_holders::registry_id.eq_any(registry_ids))
        .select(registry_holders::registry_id)
        .load(conn)
}

pub fn insert_message(conn: &mut DbConnection, row: &MessageRow) -> QueryResult<()> {
    diesel::insert_into(consultation_messages::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The thread, oldest first; internal notes only when asked for.
pub fn messages(
    conn: &mut DbConnection,
    consultation_id: &str,
    include_internal: bool,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<(MessageRow, UserRow)>, i64)> {
    let filtered = || {
        let mut query = consultation_messages::table
            .inner_join(users::table.on(users::id.eq(consultation_messages::author_id)))
            .filter(consultation_messages::consultation_id.eq(consultation_id.to_string()))
            .into_boxed();
        if !include_internal {
            query = query.filter(consultation_messages::internal.eq(false));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((
            consultation_messages::created_at.asc(),
            consultation_messages::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select((MessageRow::as_select(), UserRow::as_select()))
        .load(conn)?;
    Ok((rows, total))
}

pub fn insert_event(conn: &mut DbConnection, event: &NewEvent) -> QueryResult<()> {
    diesel::insert_into(consultation_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// Every move of an inquiry, oldest first.
pub fn events(conn: &mut DbConnection, consultation_id: &str) -> QueryResult<Vec<EventRow>> {
    consultation_events::table
        .filter(consultation_events::consultation_id.eq(consultation_id))
        .order(consultation_events::id.asc())
        .select(EventRow::as_select())
        .load(conn)
}

/// Accounts of a role, in email order (the office, to be told).
pub fn users_with_role(conn: &mut DbConnection, role: &str) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::role.eq(role))
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)
}

/// Accounts by id, in any order.
pub fn users_by_id(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    consultations::table.count().get_result(conn)
}
