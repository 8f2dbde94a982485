//! The index survives a crash, and several instances share one database.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::db_proxy::DbProxy;
use crate::helpers::{registry_codes, Backend, TestApp, JWT_SECRET};

/// The server binary, built beside this test binary by `cargo test`.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = dir.join(format!("cin-catalogue{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} missing: run `cargo test` at the workspace root",
        path.display()
    );
    path
}

pub struct Server {
    child: Child,
    pub base: String,
    log: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the real binary and waits for it to listen. Its scheduler is
    /// off: reminders would write to the change log behind the tests' backs.
    fn start(data_dir: &Path, failpoint: Option<&str>) -> Server {
        Server::start_with(
            data_dir,
            failpoint,
            &[
                ("CIN_REMIND_EVERY_MINUTES", "0"),
                ("CIN_SEND_EVERY_SECONDS", "0"),
            ],
        )
    }

    /// The same, with more environment (`CIN_DATABASE_URL`, the mail server, ...).
    pub fn start_with<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        data_dir: &Path,
        failpoint: Option<&str>,
        env: &[(K, V)],
    ) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(binary());
        command
            .args(["--data-dir", data_dir.to_str().unwrap(), "serve", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .env("CIN_JWT_SECRET", JWT_SECRET)
            .env("CIN_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("CIN_DATABASE_URL")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(name) = failpoint {
            command.env("CIN_FAILPOINT", name);
        }
        let mut child = command.spawn().expect("server starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_for("listening on");
        server
    }

    /// Blocks until the server logs a line containing `text`.
    pub fn wait_for(&mut self, text: &str) {
        loop {
            let line = self
                .log
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("the server never logged `{text}`"));
            if line.contains(text) {
                return;
            }
        }
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, as a service manager stops it; returns at once.
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid, which it cannot outlive
        // unwaited (we hold the `Child`).
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }

    /// Waits for the process to end on its own.
    pub fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// SIGTERM and the exit status.
    pub fn stop(self) -> std::process::ExitStatus {
        self.terminate();
        self.wait()
    }
}

/// Runs the binary's command line (`backup`, `restore`) on the data dir.
fn command(data_dir: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new(binary())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("CIN_DATABASE_URL")
        .output()
        .expect("the command runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let pair: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": "office@example.jp", "password": "demo-office-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pair["access_token"].as_str().unwrap().to_string()
}

/// `q`: a plain ASCII word.
async fn search_codes(client: &reqwest::Client, base: &str, q: &str) -> Vec<String> {
    let body: Value = client
        .get(format!("{base}/api/v1/registries/search?q={q}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    registry_codes(&body)
}

/// Killed after the database committed a write but before the index did:
/// on restart the index catches up from the change log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_committed_before_a_crash_is_searchable_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    // First start: seed and index; then stop hard.
    Server::start(dir.path(), None).kill();

    let mut server = Server::start(dir.path(), Some("before-index-commit"));
    let token = login(&client, &server.base).await;
    let path = format!("{}/api/v1/registries/CIN-R-000003", server.base);
    let etag = client.get(&path).send().await.unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let write = {
        let (client, path, token) = (client.clone(), path.clone(), token.clone());
        tokio::spawn(async move {
            client
                .patch(&path)
                .bearer_auth(token)
                .header("If-Match", etag)
                .json(&json!({"acronym": "WOMBAT"}))
                .send()
                .await
        })
    };
    // The write has committed and the indexer is stopped before its commit.
    let server = tokio::task::spawn_blocking(move || {
        server.wait_for("failpoint reached");
        server
    })
    .await
    .unwrap();
    server.kill();
    assert!(
        write.await.unwrap().is_err(),
        "the client saw the connection die"
    );

    let restarted = Server::start(dir.path(), None);
    let read: Value = client
        .get(format!("{}/api/v1/registries/CIN-R-000003", restarted.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["record"]["acronym"], "WOMBAT",
        "the database kept the write"
    );
    assert_eq!(
        search_codes(&client, &restarted.base, "wombat").await,
        vec!["CIN-R-000003"]
    );
    restarted.kill();
}

/// Two instances on one PostgreSQL: a change saved through one is found by the other's search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_finds_changes_made_through_the_first() {
    let Some(postgres) = Backend::postgres() else {
        return;
    };
    let first = TestApp::spawn(&postgres).await;
    let second = first.sibling().await;
    let client = reqwest::Client::new();
    assert_eq!(
        search_codes(&client, &second.address, "JNBCR").await,
        vec!["CIN-R-000001"]
    );

    let office = first.login("office").await;
    let path = "/api/v1/registries/CIN-R-000001";
    let etag = first.get(path, None).await.etag();
    let saved = first
        .patch(path, &office, &etag, &json!({"acronym": "PLATYPUS"}))
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert_eq!(
        search_codes(&client, &first.address, "platypus").await,
        vec!["CIN-R-000001"]
    );

    // The second instance follows the change log on its own schedule: wait
    // (bounded) for it rather than assume a time.
    let mut found = Vec::new();
    for _ in 0..600 {
        found = search_codes(&client, &second.address, "platypus").await;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found, vec!["CIN-R-000001"]);
    assert!(search_codes(&client, &second.address, "JNBCR")
        .await
        .is_empty());
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

async fn set_acronym(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    code: &str,
    acronym: &str,
) -> reqwest::Result<reqwest::Response> {
    let path = format!("{base}/api/v1/registries/{code}");
    let etag = client.get(&path).send().await.unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    client
        .patch(&path)
        .bearer_auth(token)
        .header("If-Match", etag)
        .json(&json!({ "acronym": acronym }))
        .send()
        .await
}

/// SIGTERM while a write is inside its transaction: the server lets it
/// finish, answers it, brings the index up to date and exits 0. The write is
/// then wholly there, in the database and in search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_write_finishes_it_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    // Seed, and sign in here: signing in writes, and would stop at the failpoint below.
    let first = Server::start(dir.path(), None);
    let token = login(&client, &first.base).await;
    let status = tokio::task::spawn_blocking(move || first.stop())
        .await
        .unwrap();
    assert!(status.success(), "an idle server exits 0: {status}");

    let mut server = Server::start(dir.path(), Some("registry-saved:until-shutdown"));
    let write = {
        let (client, base) = (client.clone(), server.base.clone());
        tokio::spawn(
            async move { set_acronym(&client, &base, &token, "CIN-R-000003", "QUOLL").await },
        )
    };
    let status = tokio::task::spawn_blocking(move || {
        server.wait_for("failpoint reached");
        server.terminate();
        server.wait_for("shutting down");
        server.wait()
    })
    .await
    .unwrap();
    assert!(status.success(), "exit status {status}");
    let answered = write
        .await
        .unwrap()
        .expect("the write in flight was answered");
    assert_eq!(answered.status(), StatusCode::OK);

    let restarted = Server::start(dir.path(), None);
    let read = get_json(
        &client,
        &format!("{}/api/v1/registries/CIN-R-000003", restarted.base),
    )
    .await;
    assert_eq!(read["record"]["acronym"], "QUOLL");
    assert_eq!(
        search_codes(&client, &restarted.base, "quoll").await,
        vec!["CIN-R-000003"]
    );
    assert!(restarted.stop().success());
}

/// A search answer without its relevance scores: a rebuilt index has no
/// deleted documents left from earlier edits, which shifts the term statistics
/// (and so the scores) a little while the hits and their order stay the same.
fn without_scores(mut body: Value) -> Value {
    if let Some(items) = body.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            if let Some(item) = item.as_object_mut() {
                item.remove("score");
            }
        }
    }
    body
}

/// The restore drill: back up a running server, change more, stop it,
/// restore, start again: the catalogue and the search answer as at the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_restore_gives_back_the_same_catalogue_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("catalogue-backup.sqlite3");
    let client = reqwest::Client::new();
    let server = Server::start(dir.path(), None);
    let token = login(&client, &server.base).await;
    let saved = set_acronym(&client, &server.base, &token, "CIN-R-000003", "WOMBAT")
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let views = [
        "/api/v1/registries?per_page=100",
        "/api/v1/registries/CIN-R-000003",
        "/api/v1/registries/search?q=wombat",
        "/api/v1/registries/search?q=%E3%81%8C%E3%82%93&per_page=100",
        "/api/v1/registries/search?disease_area=oncology&per_page=100",
    ];
    let mut before = Vec::new();
    for view in views {
        before.push(without_scores(
            get_json(&client, &format!("{}{view}", server.base)).await,
        ));
    }

    command(
        dir.path(),
        &["backup", "--output", backup.to_str().unwrap()],
    );
    // After the backup: lost by the restore.
    let later = set_acronym(&client, &server.base, &token, "CIN-R-000003", "KOALA")
        .await
        .unwrap();
    assert_eq!(later.status(), StatusCode::OK);
    assert!(tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap()
        .success());

    command(
        dir.path(),
        &["restore", "--input", backup.to_str().unwrap()],
    );
    let restored = Server::start(dir.path(), None);
    for (view, before) in views.iter().zip(&before) {
        let after = without_scores(get_json(&client, &format!("{}{view}", restored.base)).await);
        assert_eq!(&after, before, "{view}");
    }
    assert!(search_codes(&client, &restored.base, "koala")
        .await
        .is_empty());
    assert!(restored.stop().success());
}

/// PostgreSQL goes away (a proxy between the app and it is cut): requests
/// get 503 problems and /readyz says not ready; when it is back, the service
/// recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_503_and_the_service_recovers_by_itself() {
    let Some(postgres) = Backend::postgres() else {
        return;
    };
    let Backend::Postgres { admin_url } = &postgres else {
        unreachable!()
    };
    let proxy = DbProxy::start(admin_url).await;
    let app = TestApp::spawn_configured(
        &postgres,
        true,
        |serve| serve.db_connect_timeout_ms = 500,
        |url| proxy.url(url),
    )
    .await;
    let office = app.login("office").await;
    let path = "/api/v1/registries/CIN-R-000001";
    assert_eq!(app.get(path, None).await.status, StatusCode::OK);

    proxy.cut();
    let lost = app.get(path, None).await;
    assert_eq!(lost.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        lost.body,
        json!({
            "type": "urn:cin-catalogue:problem:database_unavailable",
            "title": "The database is unavailable; try again shortly",
            "status": 503,
            "code": "database_unavailable",
            "detail": "The database is unavailable; try again shortly"
        })
    );
    let etag = "\"1\"";
    let write = app
        .patch(path, &office, etag, &json!({"acronym": "ECHIDNA"}))
        .await;
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["code"], "database_unavailable");

    proxy.restore();
    // Each try waits at most the connect timeout: bounded, and no sleeping.
    let mut ready = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        ready = app.get("/readyz", None).await.status;
        if ready == StatusCode::OK {
            break;
        }
    }
    assert_eq!(
        ready,
        StatusCode::OK,
        "ready again once the database is back"
    );
    let etag = app.get(path, None).await.etag();
    let saved = app
        .patch(path, &office, &etag, &json!({"acronym": "ECHIDNA"}))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let found = app.get("/api/v1/registries/search?q=echidna", None).await;
    assert_eq!(registry_codes(&found.body), vec!["CIN-R-000001"]);
}
