//! The index survives a crash, and several instances share one database.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

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
