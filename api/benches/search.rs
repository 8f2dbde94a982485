//! Search benchmark: deterministic synthetic catalogues, one fixed query mix,
//! run through the tantivy index in-process and over HTTP, and side by side
//! through PostgreSQL full-text search (tsvector + GIN, facet counts by
//! GROUP BY) and SQLite FTS5, on the same data and queries.
//!
//! cargo bench -p cin-catalogue --bench search -- [--sizes 10000,100000] [--http-max 100000]
//!     [--clients 2,8] [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--no-sql] [--repeats 30]

mod memory;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use cin_catalogue::catalogue::{self, NewRegistry};
use cin_catalogue::clock::SystemClock;
use cin_catalogue::config::ServeArgs;
use cin_catalogue::domain::facets::{self, FACETS};
use cin_catalogue::domain::registry::{PublicationState, RegistryRecord};
use cin_catalogue::error::ApiError;
use cin_catalogue::search::{synonyms, to_document};
use cin_catalogue::startup::{Application, Settings};
use cin_catalogue::store::Store;
use cin_search_index::analysis::{bigrams, terms, words};
use cin_search_index::{CatalogueIndex, Range, SearchRequest, Sort, WriterBudget};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use memory::{peak_rss_mb, reset_peak_rss};

/// A small deterministic generator (xorshift64*), so every run builds the same catalogue.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const PLACES: &[(&str, &str)] = &[
    ("北海道", "Hokkaido"),
    ("東北", "Tohoku"),
    ("関東", "Kanto"),
    ("東京", "Tokyo"),
    ("中部", "Chubu"),
    ("近畿", "Kinki"),
    ("大阪", "Osaka"),
    ("中国", "Chugoku"),
    ("四国", "Shikoku"),
    ("九州", "Kyushu"),
    ("全国", "National"),
];
const KINDS: &[(&str, &str)] = &[
    ("患者登録", "Patient Registry"),
    ("レジストリ", "Registry"),
    ("前向きコホート研究", "Prospective Cohort Study"),
    ("診療データベース", "Clinical Database"),
    ("長期追跡調査", "Long-term Follow-up Study"),
];

fn templates() -> Vec<RegistryRecord> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../seed-data/registries.json"
    ))
    .unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    entries
        .into_iter()
        .map(|e| serde_json::from_value(e["record"].clone()).unwrap())
        .collect()
}

/// Registry `i` of a synthetic catalogue: a seed registry's diseases and
/// texts under a new name, with its facet values drawn at random.
fn synthetic(i: usize, templates: &[RegistryRecord], rng: &mut Rng) -> RegistryRecord {
    let vocab = cin_catalogue::domain::vocabulary::all();
    let codes = |name: &str| vocab[name].codes();
    let t = &templates[i % templates.len()];
    let mut r = t.clone();
    let (place_ja, place_en) = *rng.pick(PLACES);
    let (kind_ja, kind_en) = *rng.pick(KINDS);
    let disease = &t.diseases[0];
    r.registry_code = format!("CIN-R-{:06}", i % 1_000_000);
    r.name_ja = format!("{place_ja}{}{kind_ja}", disease.name_ja);
    r.name_en = disease
        .name_en
        .as_ref()
        .map(|d| format!("{place_en} {d} {kind_en}"));
    r.acronym = None;
    r.contact = None;
    r.region = rng.pick(&codes("region")).clone();
    r.status = rng.pick(&codes("status")).clone();
    r.registry_type = rng.pick(&codes("registry_type")).clone();
    r.operator_type = rng.pick(&codes("operator_type")).clone();
    r.consent = Some(rng.pick(&codes("consent")).clone());
    r.consent_company_provision = Some(rng.pick(&codes("consent_company_provision")).clone());
    r.company_collaboration = Some(rng.pick(&codes("company_collaboration")).clone());
    let items = codes("data_items");
    r.data_items = items.into_iter().filter(|_| rng.below(3) == 0).collect();
    r.start_year = Some(1970 + rng.below(56) as i32);
    r.enrollment_count = Some(10f64.powf(1.0 + (rng.below(5000) as f64) / 1000.0) as i64);
    r
}

/// (kind, text, facet filters).
type Query = (
    &'static str,
    &'static str,
    Vec<(&'static str, Vec<&'static str>)>,
);

/// The query mix.
fn query_mix() -> Vec<Query> {
    vec![
        ("text", "がん", vec![]),
        ("text", "breast cancer", vec![]),
        ("text", "糖尿病", vec![]),
        ("text", "registry", vec![]),
        ("text", "筋萎縮性側索硬化症", vec![]),
        ("facets", "", vec![("region", vec!["tokyo"])]),
        (
            "facets",
            "",
            vec![
                ("status", vec!["enrolling"]),
                ("consent_company_provision", vec!["yes", "partial"]),
            ],
        ),
        (
            "facets",
            "",
            vec![
                ("disease_area", vec!["oncology", "neurology"]),
                ("region", vec!["national", "osaka"]),
            ],
        ),
        ("text+facets", "がん", vec![("status", vec!["enrolling"])]),
        (
            "text+facets",
            "cohort",
            vec![
                ("region", vec!["tokyo", "kanagawa"]),
                ("company_collaboration", vec!["available"]),
            ],
        ),
        (
            "text+facets",
            "透析",
            vec![("data_items", vec!["laboratory"])],
        ),
        ("icd10", "C50", vec![]),
        ("icd10", "I21", vec![]),
        ("icd10", "G12", vec![]),
    ]
}

fn request(text: &str, filters: &[(&str, Vec<&str>)]) -> SearchRequest {
    SearchRequest {
        text: text.to_string(),
        filters: filters
            .iter()
            .map(|(f, v)| (f.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        start_year: Range::default(),
        enrollment: Range::default(),
        sort: Sort::Relevance,
        offset: 0,
        limit: 20,
        facets: FACETS.iter().map(|f| f.to_string()).collect(),
    }
}

/// User and system CPU time of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: Vec<f64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    // USER_HZ is 100 on Linux.
    ticks.iter().sum::<f64>() / 100.0
}

#[derive(Default)]
struct Latencies {
    by_kind: BTreeMap<&'static str, Vec<Duration>>,
    /// CPU seconds this process spent per query, where the engine runs in it.
    cpu_per_query: Option<f64>,
}

impl Latencies {
    fn add(&mut self, kind: &'static str, d: Duration) {
        self.by_kind.entry(kind).or_default().push(d);
        self.by_kind.entry("all").or_default().push(d);
    }
    fn row(&self, kind: &str) -> String {
        let Some(v) = self.by_kind.get(kind) else {
            return "–".into();
        };
        let mut v = v.clone();
        v.sort();
        let pct = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
        format!("{:.2} / {:.2}", ms(pct(0.50)), ms(pct(0.99)))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes: Vec<usize> = arg("--sizes")
        .unwrap_or_else(|| "10000,100000".into())
        .split(',')
        .map(|s| s.parse().expect("--sizes takes numbers"))
        .collect();
    let http_max: usize = arg("--http-max").map_or(100_000, |s| s.parse().unwrap());
    let postgres =
        arg("--postgres").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let sql = !args.iter().any(|a| a == "--no-sql");
    // Times each query runs in-process (half as often per HTTP client, at most 10 times in SQL).
    let repeats: usize = arg("--repeats").map_or(30, |s| s.parse().unwrap());
    let templates = templates();
    let mix = query_mix();
    let kinds = ["text", "facets", "text+facets", "icd10", "all"];
    let clients: Vec<usize> = arg("--clients")
        .unwrap_or_else(|| "2,8".into())
        .split(',')
        .map(|s| s.parse().expect("--clients takes numbers"))
        .collect();
    let mut report = vec![format!(
        "| registries | engine | build s | peak MB | CPU ms / query | {} |\n|---|---|---|---|---|{}",
        kinds.map(|k| format!("{k} p50 / p99 ms")).join(" | "),
        "---|".repeat(kinds.len())
    )];
    for &n in &sizes {
        eprintln!("== {n} registries");
        let mut rng = Rng(0x5EED_0000 ^ n as u64);
        let records: Vec<RegistryRecord> =
            (0..n).map(|i| synthetic(i, &templates, &mut rng)).collect();

        // tantivy, in-process.
        reset_peak_rss();
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let index =
            CatalogueIndex::open_or_create(dir.path(), synonyms(), WriterBudget::bulk()).unwrap();
        for r in &records {
            index.upsert(&to_document(r, "current", 0)).unwrap();
        }
        index.commit(1).unwrap();
        index.merge_all().unwrap();
        let build = started.elapsed();
        let peak = peak_rss_mb();
        let mut lat = Latencies::default();
        let cpu = cpu_seconds();
        for _ in 0..repeats {
            for (kind, text, filters) in &mix {
                let req = request(text, filters);
                let t = Instant::now();
                let found = index.search(&req).unwrap();
                lat.add(kind, t.elapsed());
                std::hint::black_box(found);
            }
        }
        lat.cpu_per_query = Some((cpu_seconds() - cpu) / (repeats * mix.len()) as f64);
        report.push(row(
            n,
            "tantivy in-process",
            build.as_secs_f64(),
            Some(peak),
            &lat,
            &kinds,
        ));
        drop(index);

        if n <= http_max {
            report.extend(http(n, &records, &mix, &kinds, repeats, &clients));
        }
        if sql {
            report.push(sql_engine(
                n,
                &records,
                &mix,
                &kinds,
                repeats.min(10),
                SqlEngine::Postgres(postgres.clone()),
            ));
            report.push(sql_engine(
                n,
                &records,
                &mix,
                &kinds,
                repeats.min(10),
                SqlEngine::Sqlite,
            ));
        }
        eprintln!("{}", report.join("\n"));
    }
    println!("{}", report.join("\n"));
}

/// `peak`: the peak resident memory of this process, where the engine runs in it.
fn row(
    n: usize,
    engine: &str,
    build_s: f64,
    peak: Option<f64>,
    lat: &Latencies,
    kinds: &[&str],
) -> String {
    let peak = peak.map_or("–".to_string(), |mb| format!("{mb:.0}"));
    let cpu = lat
        .cpu_per_query
        .map_or("–".to_string(), |s| format!("{:.2}", s * 1000.0));
    format!(
        "| {n} | {engine} | {build_s:.1} | {peak} | {cpu} | {} |",
        kinds
            .iter()
            .map(|k| lat.row(k))
            .collect::<Vec<_>>()
            .join(" | ")
    )
}

/// The real service over HTTP: a SQLite catalogue of `n` registries, and
/// for each of `clients` that many concurrent clients, each sending the
/// whole mix repeatedly. The CPU per query includes the clients', which
/// run in this process.
fn http(
    n: usize,
    records: &[RegistryRecord],
    mix: &[Query],
    kinds: &[&str],
    repeats: usize,
    clients: &[usize],
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let url = dir
        .path()
        .join("bench.sqlite3")
        .to_string_lossy()
        .into_owned();
    let store = Store::connect(&url, 4).unwrap();
    store.migrate().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let started = Instant::now();
    for chunk in records.chunks(5_000) {
        store
            .write_blocking(|conn| {
                for r in chunk {
                    catalogue::create(
                        conn,
                        NewRegistry {
                            record: r.clone(),
                            state: PublicationState::Published,
                            last_confirmed_at: Some(now),
                        },
                        None,
                        now,
                    )?;
                }
                Ok::<_, ApiError>(())
            })
            .unwrap();
    }
    eprintln!(
        "   loaded {n} registries into SQLite in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reset_peak_rss();
        let started = Instant::now();
        let app = Application::build(Settings {
            database_url: url.clone(),
            data_dir: dir.path().to_path_buf(),
            serve: ServeArgs {
                bind: "127.0.0.1:0".parse().unwrap(),
                jwt_secret: Some("bench".into()),
                no_seed: true,
                ..ServeArgs::default()
            },
            clock: Arc::new(SystemClock),
        })
        .await
        .unwrap();
        let build = started.elapsed();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let urls: Vec<(&'static str, String)> = mix
            .iter()
            .map(|(kind, text, filters)| {
                let mut q = format!(
                    "{base}/api/v1/registries/search?per_page=20&q={}",
                    encode(text)
                );
                for (f, v) in filters {
                    q.push_str(&format!("&{f}={}", v.join(",")));
                }
                (*kind, q)
            })
            .collect();
        for (_, u) in &urls {
            assert!(
                client.get(u).send().await.unwrap().status().is_success(),
                "{u}"
            );
        }
        let mut rows = Vec::new();
        for &concurrency in clients {
            let cpu = cpu_seconds();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (client, urls) = (client.clone(), urls.clone());
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    for _ in 0..repeats / 2 {
                        for (kind, u) in &urls {
                            let t = Instant::now();
                            let body = client.get(u).send().await.unwrap().bytes().await.unwrap();
                            lat.push((*kind, t.elapsed()));
                            std::hint::black_box(body);
                        }
                    }
                    lat
                }));
            }
            let t = Instant::now();
            let mut lat = Latencies::default();
            let mut count = 0;
            for task in tasks {
                for (kind, d) in task.await.unwrap() {
                    lat.add(kind, d);
                    count += 1;
                }
            }
            lat.cpu_per_query = Some((cpu_seconds() - cpu) / count as f64);
            eprintln!(
                "   HTTP, {concurrency} clients: {count} requests in {:.1} s ({:.0}/s)",
                t.elapsed().as_secs_f64(),
                count as f64 / t.elapsed().as_secs_f64()
            );
            rows.push(row(
                n,
                &format!("service over HTTP, {concurrency} clients"),
                build.as_secs_f64(),
                Some(peak_rss_mb()),
                &lat,
                kinds,
            ));
        }
        rows
    })
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

enum SqlEngine {
    Postgres(String),
    Sqlite,
}

// The rows are loaded (the engine must produce them), not inspected.
#[allow(dead_code)]
#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::Text)]
    facet: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[allow(dead_code)]
#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
}

/// The tokens both SQL engines index and query: our own words and bigrams,
/// so they search the same terms tantivy does.
fn sql_tokens(text: &str) -> Vec<String> {
    let mut t = terms(&mut words(), text);
    t.extend(terms(&mut bigrams(), text));
    t.into_iter()
        .map(|s| {
            s.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn sql_engine(
    n: usize,
    records: &[RegistryRecord],
    mix: &[Query],
    kinds: &[&str],
    repeats: usize,
    engine: SqlEngine,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    enum Conn {
        Pg(PgConnection),
        Lite(SqliteConnection),
    }
    let (mut conn, name) = match &engine {
        SqlEngine::Postgres(admin) => {
            let mut a = PgConnection::establish(admin)
                .expect("PostgreSQL for the comparison (or pass --no-sql)");
            // Two statements: neither may run inside a transaction block.
            a.batch_execute("DROP DATABASE IF EXISTS cin_bench WITH (FORCE)")
                .unwrap();
            a.batch_execute("CREATE DATABASE cin_bench").unwrap();
            let base = admin.rsplit_once('/').unwrap().0;
            (
                Conn::Pg(PgConnection::establish(&format!("{base}/cin_bench")).unwrap()),
                "PostgreSQL FTS (GIN)",
            )
        }
        SqlEngine::Sqlite => {
            let path = dir.path().join("fts.sqlite3");
            (
                Conn::Lite(SqliteConnection::establish(path.to_str().unwrap()).unwrap()),
                "SQLite FTS5",
            )
        }
    };
    let exec = |conn: &mut Conn, sql: &str| match conn {
        Conn::Pg(c) => c.batch_execute(sql).unwrap(),
        Conn::Lite(c) => c.batch_execute(sql).unwrap(),
    };
    let started = Instant::now();
    match &mut conn {
        Conn::Pg(_) => exec(&mut conn, "CREATE TABLE r (id INTEGER PRIMARY KEY, code TEXT NOT NULL, words TEXT NOT NULL, tsv tsvector); CREATE TABLE f (id INTEGER NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL);"),
        Conn::Lite(_) => exec(&mut conn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; CREATE TABLE r (id INTEGER PRIMARY KEY, code TEXT NOT NULL); CREATE VIRTUAL TABLE t USING fts5(words, tokenize = 'unicode61'); CREATE TABLE f (id INTEGER NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL);"),
    }
    for (start, chunk) in records
        .chunks(1_000)
        .enumerate()
        .map(|(i, c)| (i * 1_000, c))
    {
        let mut rows = Vec::new();
        let mut texts = Vec::new();
        let mut facet_rows = Vec::new();
        for (k, r) in chunk.iter().enumerate() {
            let id = start + k;
            let doc = to_document(r, "current", 0);
            let mut tokens =
                sql_tokens(&format!("{} {}", doc.names.join(" "), doc.texts.join(" ")));
            tokens.extend(
                doc.icd10
                    .iter()
                    .flat_map(|c| cin_search_index::document::icd10_prefixes(c))
                    .map(|p| p.replace('.', "x").to_lowercase()),
            );
            let words = quote(&tokens.join(" "));
            rows.push(format!("({id}, {}, {words})", quote(&r.registry_code)));
            texts.push(format!("({id}, {words})"));
            for (facet, value) in facets::values(r, "current") {
                facet_rows.push(format!("({id}, {}, {})", quote(&facet), quote(&value)));
            }
        }
        match &mut conn {
            Conn::Pg(_) => exec(&mut conn, &format!("INSERT INTO r (id, code, words) VALUES {}; INSERT INTO f VALUES {};", rows.join(","), facet_rows.join(","))),
            Conn::Lite(_) => exec(&mut conn, &format!(
                "BEGIN; INSERT INTO r (id, code) VALUES {}; INSERT INTO t (rowid, words) VALUES {}; INSERT INTO f VALUES {}; COMMIT;",
                rows.iter().map(|r| r.rsplit_once(',').unwrap().0.to_string() + ")").collect::<Vec<_>>().join(","),
                texts.join(","),
                facet_rows.join(",")
            )),
        }
    }
    match &mut conn {
        Conn::Pg(_) => exec(&mut conn, "UPDATE r SET tsv = to_tsvector('simple', words); CREATE INDEX r_tsv ON r USING GIN (tsv); CREATE INDEX f_facet ON f (facet, value, id); CREATE INDEX f_id ON f (id); ANALYZE;"),
        Conn::Lite(_) => exec(&mut conn, "CREATE INDEX f_facet ON f (facet, value, id); CREATE INDEX f_id ON f (id); ANALYZE;"),
    }
    let build = started.elapsed();
    let mut lat = Latencies::default();
    let cpu = cpu_seconds();
    for _ in 0..repeats {
        for (kind, text, filters) in mix {
            let t = Instant::now();
            sql_search(&mut conn, text, filters);
            lat.add(kind, t.elapsed());
        }
    }
    // PostgreSQL works in its own processes; SQLite in this one.
    if matches!(engine, SqlEngine::Sqlite) {
        lat.cpu_per_query = Some((cpu_seconds() - cpu) / (repeats * mix.len()) as f64);
    }
    fn sql_search(conn: &mut Conn, text: &str, filters: &[(&str, Vec<&str>)]) {
        let tokens: Vec<String> = if text.is_empty() {
            Vec::new()
        } else if text.len() <= 4
            && text.as_bytes()[0].is_ascii_uppercase()
            && text.as_bytes()[1].is_ascii_digit()
        {
            vec![text.to_lowercase()]
        } else {
            // Japanese: the bigrams (words are what the segmenter makes of the query, which need not match the document's)
            let b = terms(&mut bigrams(), text);
            if b.is_empty() {
                terms(&mut words(), text)
            } else {
                b
            }
        };
        let text_clause = |conn: &Conn| match (conn, tokens.is_empty()) {
            (_, true) => "1=1".to_string(),
            (Conn::Pg(_), false) => format!(
                "r.tsv @@ to_tsquery('simple', {})",
                quote(&tokens.join(" & "))
            ),
            (Conn::Lite(_), false) => format!(
                "r.id IN (SELECT rowid FROM t WHERE t MATCH {})",
                quote(
                    &tokens
                        .iter()
                        .map(|t| format!("\"{t}\""))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                )
            ),
        };
        let filter_clause = |except: Option<&str>| -> String {
            filters
                .iter()
                .filter(|(f, _)| Some(*f) != except)
                .map(|(f, v)| {
                    format!(
                        " AND r.id IN (SELECT id FROM f WHERE facet = {} AND value IN ({}))",
                        quote(f),
                        v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(",")
                    )
                })
                .collect()
        };
        let base = format!("{}{}", text_clause(conn), filter_clause(None));
        let top = match conn {
            Conn::Pg(_) if !tokens.is_empty() => format!("SELECT code FROM r WHERE {base} ORDER BY ts_rank(r.tsv, to_tsquery('simple', {})) DESC LIMIT 20", quote(&tokens.join(" & "))),
            _ => format!("SELECT code FROM r WHERE {base} ORDER BY code LIMIT 20"),
        };
        let count =
            format!("SELECT 'total' AS facet, '' AS value, count(*) AS n FROM r WHERE {base}");
        let free = format!("SELECT f.facet, f.value, count(*) AS n FROM f JOIN r ON r.id = f.id WHERE {base} GROUP BY f.facet, f.value");
        let mut queries = vec![count, free];
        for (facet, _) in filters {
            queries.push(format!(
                "SELECT f.facet, f.value, count(*) AS n FROM f JOIN r ON r.id = f.id WHERE f.facet = {} AND {}{} GROUP BY f.facet, f.value",
                quote(facet), text_clause(conn), filter_clause(Some(facet))
            ));
        }
        match conn {
            Conn::Pg(c) => {
                std::hint::black_box(diesel::sql_query(&top).load::<Hit>(c).unwrap());
                for q in &queries {
                    std::hint::black_box(diesel::sql_query(q).load::<Counted>(c).unwrap());
                }
            }
            Conn::Lite(c) => {
                std::hint::black_box(diesel::sql_query(&top).load::<Hit>(c).unwrap());
                for q in &queries {
                    std::hint::black_box(diesel::sql_query(q).load::<Counted>(c).unwrap());
                }
            }
        }
    }
    if let (SqlEngine::Postgres(admin), Conn::Pg(c)) = (&engine, conn) {
        drop(c);
        let mut a = PgConnection::establish(admin).unwrap();
        let _ = a.batch_execute("DROP DATABASE IF EXISTS cin_bench WITH (FORCE)");
    }
    row(n, name, build.as_secs_f64(), None, &lat, kinds)
}
