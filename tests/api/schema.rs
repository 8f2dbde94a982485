//! The SQLite and PostgreSQL migration folders must produce the same tables.

use std::collections::BTreeSet;

use diesel::sql_types::{Bool, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::helpers::{Backend, TestApp};

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_sets_make_the_same_columns() {
    let Some(postgres) = Backend::postgres() else {
        return;
    };
    let sqlite_app = TestApp::spawn_with(&Backend::Sqlite, false).await;
    let pg_app = TestApp::spawn_with(&postgres, false).await;

    let mut sqlite = SqliteConnection::establish(&sqlite_app.database_url).unwrap();
    let sqlite_columns: BTreeSet<Column> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, \
                (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
         FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '\\_\\_%' ESCAPE '\\'",
    )
    .load::<Column>(&mut sqlite)
    .unwrap()
    .into_iter()
    .collect();

    let mut pg = PgConnection::establish(&pg_app.database_url).unwrap();
    let pg_columns: BTreeSet<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_%'",
    )
    .load::<Column>(&mut pg)
    .unwrap()
    .into_iter()
    .collect();

    assert!(sqlite_columns.len() > 40, "{sqlite_columns:?}");
    assert_eq!(sqlite_columns, pg_columns);
}
