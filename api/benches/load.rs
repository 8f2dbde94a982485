//! A mixed load on running instances of the service, and the checks that
//! nothing was lost: run by `scripts/load-fault.sh`, which starts two
//! instances on one PostgreSQL, an SMTP sink, and the faults.
//!
//! cargo bench -p cin-catalogue --bench load -- --bases http://127.0.0.1:18101,http://127.0.0.1:18102
//!     --seconds 300 --clients 8 --pids 123,456 --maildir DIR [--warmup 60] [--settle 300]
//!
//! Each client loops over searches, registry reads, holder updates (each
//! client edits registries of its own, so every acknowledged edit has a known
//! place) and inquiry messages, alternating instances. At the end: every
//! acknowledged edit is in the database and found by both instances' search,
//! every acknowledged message is in its thread, the outbox drained with every
//! mail delivered once (Message-IDs in the sink's Maildir), no 500s; with
//! throughput, p50 / p99 per kind and the instances' memory. Exits 1 when a
//! check fails.

mod memory;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The registries holder3@example.jp holds in the sample catalogue.
const HOLDER3: [&str; 10] = [
    "CIN-R-000007",
    "CIN-R-000008",
    "CIN-R-000009",
    "CIN-R-000010",
    "CIN-R-000011",
    "CIN-R-000012",
    "CIN-R-000033",
    "CIN-R-000034",
    "CIN-R-000035",
    "CIN-R-000036",
];
const QUERIES: [&str; 6] = ["がん", "ALS", "cancer", "C50", "難病", "diabetes"];
const KINDS: [&str; 4] = ["search", "read", "update", "message"];

#[derive(Default)]
struct Tally {
    millis: Vec<f64>,
    statuses: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Outcome {
    tallies: BTreeMap<&'static str, Tally>,
    /// Per registry: its revision before the load, the acknowledged acronyms
    /// in order, and edits whose fate is unknown.
    edits: BTreeMap<&'static str, (u64, Vec<String>, u64)>,
    /// Per inquiry: acknowledged messages, and those whose fate is unknown.
    messages: BTreeMap<String, (u64, u64)>,
}

type Shared = Arc<Mutex<Outcome>>;

fn record(outcome: &Shared, kind: &'static str, started: Instant, status: &str) {
    let mut outcome = outcome.lock().unwrap();
    let tally = outcome.tallies.entry(kind).or_default();
    tally.millis.push(started.elapsed().as_secs_f64() * 1000.0);
    *tally.statuses.entry(status.to_string()).or_default() += 1;
}

/// An acronym made of consonants only, so that no analyser changes it.
fn acronym(client: usize, n: u64) -> String {
    const LETTERS: &[u8] = b"BCDFGHJKLMNPQRTVWXZ";
    let mut word = format!("LQ{}", LETTERS[client % LETTERS.len()] as char);
    let mut n = n;
    loop {
        word.push(LETTERS[(n % LETTERS.len() as u64) as usize] as char);
        n /= LETTERS.len() as u64;
        if n == 0 {
            return word;
        }
    }
}

async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let pair: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("a token");
    pair["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

async fn etag(client: &reqwest::Client, base: &str, code: &str) -> Option<String> {
    let response = client
        .get(format!("{base}/api/v1/registries/{code}"))
        .send()
        .await
        .ok()?;
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn search_url(base: &str, q: &str) -> String {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    format!("{base}/api/v1/registries/search?q={q}")
}

fn status_of(result: &reqwest::Result<reqwest::Response>) -> String {
    match result {
        Ok(response) => response.status().as_u16().to_string(),
        Err(_) => "transport".to_string(),
    }
}

async fn run_client(id: usize, bases: Arc<Vec<String>>, deadline: Instant, outcome: Shared) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let holder = login(&client, &bases[0], "holder3@example.jp", "demo-holder-pass").await;
    let company = login(
        &client,
        &bases[0],
        "company@example.jp",
        "demo-company-pass",
    )
    .await;
    let own = HOLDER3.get(id).copied();
    let created: Value = client
        .post(format!("{}/api/v1/consultations", bases[0]))
        .bearer_auth(&company)
        .json(&json!({
            "kind": "data_use",
            "subject": format!("負荷試験 {id}"),
            "body": "load test inquiry",
            "registries": ["CIN-R-000002"]
        }))
        .send()
        .await
        .expect("an inquiry")
        .json()
        .await
        .expect("the inquiry");
    let inquiry = created["id"].as_str().expect("an inquiry id").to_string();
    if let Some(code) = own {
        let record: Value = client
            .get(format!("{}/api/v1/registries/{code}", bases[0]))
            .send()
            .await
            .expect("a registry")
            .json()
            .await
            .expect("the registry");
        let revision = record["revision"].as_u64().expect("a revision");
        outcome.lock().unwrap().edits.entry(code).or_default().0 = revision;
    }
    let mut tag = None;
    let mut n: u64 = 0;
    while Instant::now() < deadline {
        n += 1;
        let base = &bases[(id + n as usize) % bases.len()];
        let slot = n % 20;
        let started = Instant::now();
        if slot < 10 {
            let q = QUERIES[(n as usize + id) % QUERIES.len()];
            let result = client.get(search_url(base, q)).send().await;
            record(&outcome, "search", started, &status_of(&result));
        } else if slot < 15 || (slot < 18 && own.is_none()) {
            let code = format!("CIN-R-{:06}", 1 + (n + id as u64) % 60);
            let result = client
                .get(format!("{base}/api/v1/registries/{code}"))
                .send()
                .await;
            record(&outcome, "read", started, &status_of(&result));
        } else if slot < 18 {
            let code = own.expect("checked above");
            if tag.is_none() {
                tag = etag(&client, base, code).await;
            }
            let Some(current) = tag.clone() else { continue };
            let value = acronym(id, n);
            let result = client
                .patch(format!("{base}/api/v1/registries/{code}"))
                .bearer_auth(&holder)
                .header("If-Match", current)
                .json(&json!({ "acronym": value }))
                .send()
                .await;
            let status = status_of(&result);
            record(&outcome, "update", started, &status);
            let mut outcome = outcome.lock().unwrap();
            let edits = outcome.edits.entry(code).or_default();
            match result {
                Ok(response) if response.status().is_success() => {
                    edits.1.push(value);
                    tag = response
                        .headers()
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                }
                // Refused before writing: nothing happened.
                Ok(response) if response.status().is_client_error() => tag = None,
                // 503 or a lost connection: it may have committed.
                _ => {
                    edits.2 += 1;
                    tag = None;
                }
            }
        } else {
            let result = client
                .post(format!("{base}/api/v1/consultations/{inquiry}/messages"))
                .bearer_auth(&company)
                .json(&json!({ "body": format!("message {n} from client {id}") }))
                .send()
                .await;
            let status = status_of(&result);
            record(&outcome, "message", started, &status);
            let mut outcome = outcome.lock().unwrap();
            let messages = outcome.messages.entry(inquiry.clone()).or_default();
            match result {
                Ok(response) if response.status().is_success() => messages.0 += 1,
                Ok(response) if response.status().is_client_error() => {}
                _ => messages.1 += 1,
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A gauge or counter of the instance's /metrics.
async fn metric(client: &reqwest::Client, base: &str, series: &str) -> Option<f64> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// Message-IDs of the mails in a Maildir (new/ and cur/).
fn delivered(maildir: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(format!("{maildir}/{sub}")) else {
            continue;
        };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let id = text
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(|l| l[11..].trim().to_string())
                .unwrap_or_default();
            ids.push(id);
        }
    }
    ids
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let bases: Arc<Vec<String>> = Arc::new(
        arg("--bases")
            .expect("--bases http://127.0.0.1:A,http://127.0.0.1:B")
            .split(',')
            .map(str::to_string)
            .collect(),
    );
    assert!(
        bases.iter().all(|b| b.starts_with("http://127.0.0.1:")),
        "load goes to 127.0.0.1 only"
    );
    let seconds: u64 = arg("--seconds").map_or(300, |s| s.parse().unwrap());
    let clients: usize = arg("--clients").map_or(8, |s| s.parse().unwrap());
    let warmup: u64 = arg("--warmup").map_or(60, |s| s.parse().unwrap());
    let settle: u64 = arg("--settle").map_or(300, |s| s.parse().unwrap());
    let pids: Vec<u32> = arg("--pids")
        .map(|p| p.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or_default();
    let maildir = arg("--maildir").expect("--maildir DIR");

    let outcome: Shared = Arc::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let sampler = {
        let pids = pids.clone();
        tokio::spawn(async move {
            let mut samples: Vec<(u64, Vec<f64>)> = Vec::new();
            while Instant::now() < deadline {
                let at = started.elapsed().as_secs();
                samples.push((at, pids.iter().map(|&p| memory::rss_mb_of(p)).collect()));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            samples
        })
    };
    let workers: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(run_client(id, bases.clone(), deadline, outcome.clone())))
        .collect();
    for worker in workers {
        worker.await.expect("a client ran");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = sampler.await.unwrap();
    let outcome = Arc::try_unwrap(outcome)
        .ok()
        .expect("clients done")
        .into_inner()
        .unwrap();
    let mut failures = Vec::new();

    // Throughput and latency.
    let total: usize = outcome.tallies.values().map(|t| t.millis.len()).sum();
    println!(
        "\n{total} requests in {elapsed:.0} s: {:.1} requests/s, {clients} clients, {} instances\n",
        total as f64 / elapsed,
        bases.len()
    );
    println!("| kind | requests | per s | p50 ms | p99 ms | answers |");
    println!("|---|---|---|---|---|---|");
    for kind in KINDS {
        let Some(tally) = outcome.tallies.get(kind) else {
            continue;
        };
        let mut sorted = tally.millis.clone();
        sorted.sort_by(f64::total_cmp);
        let answers: Vec<String> = tally
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        println!(
            "| {kind} | {} | {:.1} | {:.1} | {:.1} | {} |",
            sorted.len(),
            sorted.len() as f64 / elapsed,
            percentile(&sorted, 50.0),
            percentile(&sorted, 99.0),
            answers.join(", ")
        );
        let server_errors: u64 = tally
            .statuses
            .iter()
            .filter(|(s, _)| s.starts_with('5') && s.as_str() != "503")
            .map(|(_, n)| n)
            .sum();
        if server_errors > 0 {
            failures.push(format!("{server_errors} 5xx other than 503 on {kind}"));
        }
    }

    // Memory after warm-up.
    println!("\nresident memory (MB) of each instance, sampled every 5 s:");
    for (i, pid) in pids.iter().enumerate() {
        let after: Vec<f64> = samples
            .iter()
            .filter(|(at, _)| *at >= warmup)
            .map(|(_, mb)| mb[i])
            .collect();
        let (first, last) = (
            after.first().copied().unwrap_or(0.0),
            after.last().copied().unwrap_or(0.0),
        );
        let max = after.iter().copied().fold(0.0, f64::max);
        println!(
            "  instance {} (pid {pid}): at {warmup} s {first:.0}, at the end {last:.0}, highest after warm-up {max:.0}",
            i + 1
        );
        if last > first * 1.5 + 20.0 {
            failures.push(format!(
                "instance {} grew from {first:.0} to {last:.0} MB",
                i + 1
            ));
        }
    }

    let client = reqwest::Client::new();
    // Every acknowledged edit is in the database and both instances' search.
    let mut acknowledged = 0;
    let mut unknown_edits = 0;
    for (code, (initial, acked, unknown)) in &outcome.edits {
        acknowledged += acked.len();
        unknown_edits += unknown;
        let Some(last) = acked.last() else { continue };
        let record: Value = client
            .get(format!("{}/api/v1/registries/{code}", bases[0]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Every acknowledged edit made one revision.
        let revision = record["revision"].as_u64().unwrap_or(0);
        let lowest = initial + acked.len() as u64;
        if revision < lowest || revision > lowest + unknown {
            failures.push(format!(
                "{code}: revision {revision}, expected {lowest}..={} from the acknowledged edits",
                lowest + unknown
            ));
        }
        if *unknown == 0 && record["record"]["acronym"] != json!(last) {
            failures.push(format!(
                "{code}: the last acknowledged edit {last} is not stored"
            ));
        }
        if *unknown == 0 {
            for base in bases.iter() {
                let mut found = false;
                for _ in 0..120 {
                    let body: Value = client
                        .get(search_url(base, last))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    if body["items"][0]["registry"]["registry_code"] == json!(code) {
                        found = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                if !found {
                    failures.push(format!("{base}: search does not find {code} as {last}"));
                }
            }
        }
    }
    println!(
        "\n{acknowledged} acknowledged edits ({unknown_edits} of unknown outcome) checked in the database and in both instances' search"
    );

    // Every acknowledged message is in its thread.
    let office = login(&client, &bases[0], "office@example.jp", "demo-office-pass").await;
    let mut messages = 0;
    for (inquiry, (acked, unknown)) in &outcome.messages {
        messages += acked;
        let page: Value = client
            .get(format!(
                "{}/api/v1/consultations/{inquiry}/messages?per_page=1",
                bases[1 % bases.len()]
            ))
            .bearer_auth(&office)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stored = page["total"].as_u64().unwrap_or(0);
        if stored < *acked || stored > acked + unknown {
            failures.push(format!(
                "inquiry {inquiry}: {stored} messages stored, {acked} acknowledged (+{unknown} unknown)"
            ));
        }
    }
    println!("{messages} acknowledged inquiry messages found in their threads");

    // The outbox drains; each mail arrives once.
    let settle_until = Instant::now() + Duration::from_secs(settle);
    let waiting = |base: String| {
        let client = client.clone();
        async move {
            let pending = metric(&client, &base, r#"cin_outbox_messages{status="pending"}"#).await;
            let sending = metric(&client, &base, r#"cin_outbox_messages{status="sending"}"#).await;
            pending.zip(sending).map(|(p, s)| p + s)
        }
    };
    while waiting(bases[0].clone()).await != Some(0.0) && Instant::now() < settle_until {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let sent = metric(&client, &bases[0], r#"cin_outbox_messages{status="sent"}"#)
        .await
        .unwrap_or(-1.0);
    let dead = metric(&client, &bases[0], r#"cin_outbox_messages{status="dead"}"#)
        .await
        .unwrap_or(-1.0);
    let left = waiting(bases[0].clone()).await.unwrap_or(-1.0);
    let ids = delivered(&maildir);
    let unique: HashSet<&String> = ids.iter().collect();
    println!(
        "outbox: {sent} sent, {dead} dead, {left} waiting; the SMTP sink received {} mails, {} distinct Message-IDs",
        ids.len(),
        unique.len()
    );
    if left != 0.0 || dead != 0.0 {
        failures.push(format!("outbox not drained: {left} waiting, {dead} dead"));
    }
    if ids.len() as f64 != sent || unique.len() != ids.len() {
        failures.push(format!(
            "{sent} mails sent but {} received ({} distinct)",
            ids.len(),
            unique.len()
        ));
    }

    if failures.is_empty() {
        println!("\nall checks passed");
    } else {
        println!("\nFAILED:");
        for failure in &failures {
            println!("  {failure}");
        }
        std::process::exit(1);
    }
}
