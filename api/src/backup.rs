//! Backups of the SQLite database, and restoring one. (PostgreSQL has
//! `pg_dump` and `pg_restore`; see the README.)
//!
//! The search index is derived, so it is not backed up: `restore` removes
//! it and the next start rebuilds it from the restored database. Keeping it
//! would be wrong, since it records a change-log position of the database
//! it was built from.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::store::{Backend, DbConnection, Store, StoreError};

const POSTGRES: &str = "this database is PostgreSQL: use pg_dump and pg_restore (see the README)";

/// Writes a consistent copy of the live database to `output` (`VACUUM INTO`:
/// one read transaction, so writers carry on; the copy is compact).
pub fn backup(store: &Store, output: &Path) -> anyhow::Result<()> {
    if store.backend() == Backend::Postgres {
        anyhow::bail!(POSTGRES);
    }
    if output.exists() {
        anyhow::bail!("{} exists; name a new file", output.display());
    }
    let target = output.to_string_lossy().into_owned();
    store.read_blocking(|conn| match conn {
        DbConnection::Sqlite(c) => diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(&target)
            .execute(c)
            .map(drop)
            .map_err(StoreError::from),
        DbConnection::Postgres(_) => unreachable!("checked above"),
    })?;
    check(output)
}

/// Replaces the SQLite database at `database` with the backup `input` and
/// removes the search index under `data_dir`. Every instance using the
/// database must be stopped first.
pub fn restore(database: &str, data_dir: &Path, input: &Path) -> anyhow::Result<()> {
    if Backend::from_url(database) == Backend::Postgres {
        anyhow::bail!(POSTGRES);
    }
    check(input)?;
    let database = PathBuf::from(database.strip_prefix("sqlite://").unwrap_or(database));
    let staged = with_suffix(&database, ".restoring");
    std::fs::copy(input, &staged)
        .map_err(|e| anyhow::anyhow!("copying {}: {e}", input.display()))?;
    // The old write-ahead log belongs to the old file: left beside the new
    // one, SQLite would apply it there.
    for suffix in ["-wal", "-shm"] {
        remove_if_there(&with_suffix(&database, suffix))?;
    }
    std::fs::rename(&staged, &database)?;
    let index = data_dir.join("index");
    if index.exists() {
        std::fs::remove_dir_all(&index)
            .map_err(|e| anyhow::anyhow!("removing the index {}: {e}", index.display()))?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// The file is a sound SQLite database holding a catalogue.
fn check(path: &Path) -> anyhow::Result<()> {
    let name = path.display();
    if !path.is_file() {
        anyhow::bail!("{name} is not a file");
    }
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let verdict: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(|e| anyhow::anyhow!("{name} is not a SQLite database: {e}"))?;
    if verdict.first().map(|v| v.integrity_check.as_str()) != Some("ok") {
        anyhow::bail!("{name} is damaged (PRAGMA integrity_check)");
    }
    conn.batch_execute("SELECT 1 FROM registries LIMIT 1; SELECT 1 FROM registry_changes LIMIT 1")
        .map_err(|e| anyhow::anyhow!("{name} holds no catalogue: {e}"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
