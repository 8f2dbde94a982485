//! Survey import benchmark: a deterministic survey spreadsheet of N
//! registries (built from the sample catalogue), imported into a fresh
//! database: reading the file, a dry run, the real import (one transaction),
//! and the same file again (nothing to write). Time of each, and the peak
//! memory of the process over all four beside what it held before (the file).
//!
//! cargo bench -p cin-catalogue --bench survey_import -- [--rows 10000]
//!     [--postgres postgres://postgres@127.0.0.1:5432/postgres]

mod memory;

use std::time::Instant;

use chrono::Utc;
use cin_catalogue::domain::registry::{Contact, RegistryRecord};
use cin_catalogue::export::table;
use cin_catalogue::store::{DbConnection, Store};
use cin_catalogue::survey::{self, sheet, ImportOptions, ImportReport};
use diesel::{Connection, PgConnection, RunQueryDsl};
use memory::{peak_rss_mb, reset_peak_rss, rss_mb};

const ROUND: i32 = 2026;

/// `rows` registries: the sample ones over and over, each with its own code,
/// name, counts and contact, as a survey round of a large catalogue would be.
fn survey_records(rows: usize) -> Vec<RegistryRecord> {
    let seed: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../seed-data/registries.json")).expect("seed");
    let samples: Vec<RegistryRecord> = seed
        .into_iter()
        .map(|s| serde_json::from_value(s["record"].clone()).expect("a seed record"))
        .collect();
    (0..rows)
        .map(|i| {
            let mut r = samples[i % samples.len()].clone();
            r.registry_code = format!("CIN-R-{:06}", 100_000 + i);
            r.name_ja = format!("{} 第{}版", r.name_ja, i + 1);
            r.name_en = r.name_en.map(|n| format!("{n} no. {}", i + 1));
            r.enrollment_count = r.enrollment_count.map(|c| c + i as i64);
            r.site_count = Some((i % 300) as i32 + 1);
            r.contact = Some(Contact {
                name: format!("担当 {}", i + 1),
                email: format!("registry{}@example.jp", i + 1),
                phone: None,
                department: None,
            });
            r.survey_round = ROUND;
            r
        })
        .collect()
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A fresh database: a SQLite file in a temp dir, or a new PostgreSQL database.
struct Database {
    url: String,
    drop_postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Database {
    fn sqlite() -> Database {
        let dir = tempfile::tempdir().expect("temp dir");
        Database {
            url: dir
                .path()
                .join("bench.sqlite3")
                .to_string_lossy()
                .into_owned(),
            drop_postgres: None,
            _dir: dir,
        }
    }

    fn postgres(admin_url: &str) -> Database {
        let name = format!("cin_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(admin_url).expect("PostgreSQL reachable");
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .expect("create database");
        let base = admin_url.rsplit_once('/').expect("URL with a database").0;
        Database {
            url: format!("{base}/{name}"),
            drop_postgres: Some((admin_url.to_string(), name)),
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.drop_postgres {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

fn import(store: &Store, file: &sheet::Sheet, dry_run: bool) -> ImportReport {
    let options = ImportOptions {
        survey_round: ROUND,
        dry_run,
        actor_id: None,
        now: Utc::now(),
    };
    let run = |conn: &mut DbConnection| survey::run(conn, file, &options, &mut ());
    if dry_run {
        store.read_blocking(run)
    } else {
        store.write_blocking(run)
    }
    .expect("the import runs")
}

/// Each file and backend runs in a process of its own, so that one run's
/// memory (kept by the allocator) does not count in the next one's peak.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = arg(&args, "--rows").map_or(10_000, |r| r.parse().expect("--rows N"));
    let postgres = arg(&args, "--postgres");
    if let Some(case) = arg(&args, "--case") {
        let (format, backend) = case.split_once(':').expect("--case FORMAT:BACKEND");
        run_case(rows, format, backend, postgres.as_deref());
        return;
    }
    println!("{rows} registries per file");
    println!("| file | MB | backend | read s | dry run s | import s | again s | peak MB | held before MB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut backends = vec!["sqlite"];
    if postgres.is_some() {
        backends.push("postgres");
    }
    for format in ["xlsx", "csv"] {
        for backend in &backends {
            let mut child = std::process::Command::new(std::env::current_exe().expect("own path"));
            child.args([
                "--rows",
                &rows.to_string(),
                "--case",
                &format!("{format}:{backend}"),
            ]);
            if let Some(url) = &postgres {
                child.args(["--postgres", url]);
            }
            let status = child.status().expect("the case runs");
            assert!(status.success(), "{format} on {backend} failed");
        }
    }
}

fn run_case(rows: usize, format: &str, backend: &str, postgres: Option<&str>) {
    let records = survey_records(rows);
    let bytes = match format {
        "xlsx" => table::xlsx(&records).expect("XLSX written"),
        _ => table::csv(&records),
    };
    drop(records);
    let (name, database) = match (backend, postgres) {
        ("postgres", Some(url)) => ("PostgreSQL", Database::postgres(url)),
        _ => ("SQLite", Database::sqlite()),
    };
    let store = Store::connect(&database.url, 2).expect("connect");
    store.migrate().expect("migrate");
    let before = rss_mb();
    reset_peak_rss();

    let started = Instant::now();
    let file = sheet::read(&bytes).expect("the file reads");
    let read = started.elapsed();

    let started = Instant::now();
    let dry = import(&store, &file, true);
    let dry_time = started.elapsed();
    assert!(dry.problems.is_empty(), "{:?}", &dry.problems[..1]);
    assert_eq!(dry.created, rows);

    let started = Instant::now();
    let done = import(&store, &file, false);
    let import_time = started.elapsed();
    assert_eq!((done.applied, done.created), (true, rows));

    let started = Instant::now();
    let again = import(&store, &file, false);
    let again_time = started.elapsed();
    assert_eq!(again.unchanged, rows);

    println!(
        "| {format} | {:.1} | {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
        bytes.len() as f64 / 1_048_576.0,
        read.as_secs_f64(),
        dry_time.as_secs_f64(),
        import_time.as_secs_f64(),
        again_time.as_secs_f64(),
        peak_rss_mb(),
        before,
    );
}
