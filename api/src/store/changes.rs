//! The registry change log that keeps every instance's search index in step.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::registry_changes;
use super::DbConnection;

pub fn append(conn: &mut DbConnection, registry_code: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(registry_changes::table)
        .values((
            registry_changes::registry_code.eq(registry_code),
            registry_changes::created_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// Up to `limit` changes after `seq`, in order.
pub fn after(conn: &mut DbConnection, seq: i64, limit: i64) -> QueryResult<Vec<(i64, String)>> {
    registry_changes::table
        .filter(registry_changes::seq.gt(seq))
        .order(registry_changes::seq.asc())
        .limit(limit)
        .select((registry_changes::seq, registry_changes::registry_code))
        .load(conn)
}

/// The newest sequence number; 0 for an empty log.
pub fn last(conn: &mut DbConnection) -> QueryResult<i64> {
    registry_changes::table
        .select(diesel::dsl::max(registry_changes::seq))
        .first::<Option<i64>>(conn)
        .map(|s| s.unwrap_or(0))
}
