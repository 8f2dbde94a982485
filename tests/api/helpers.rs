//! Starts the real application on a free port with a fresh database and
//! speaks HTTP to it.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cin_catalogue::auth::tokens::TokenKeys;
use cin_catalogue::clock::ManualClock;
use cin_catalogue::config::ServeArgs;
use cin_catalogue::domain::update_cycle::ReminderPolicy;
use cin_catalogue::mail::sender::SenderSettings;
use cin_catalogue::mail::{MailSettings, Mailer, SmtpSecurity};
use cin_catalogue::reminders::ReminderSettings;
use cin_catalogue::scheduler::MailJobs;
use cin_catalogue::startup::{Application, Settings};
use cin_catalogue::store::outbox::{self, OutboxFilter, OutboxRow};
use cin_catalogue::store::{Store, StoreError};

pub const JWT_SECRET: &str = "test-secret-that-only-the-tests-know";

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl Backend {
    /// PostgreSQL when `CIN_TEST_POSTGRES_URL` names a server. With
    /// `CIN_TEST_REQUIRE_POSTGRES=1` (as CI sets) a missing URL fails the test.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("CIN_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres { admin_url: url }),
            _ if std::env::var("CIN_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
                panic!("CIN_TEST_REQUIRE_POSTGRES=1 but CIN_TEST_POSTGRES_URL is not set")
            }
            _ => {
                eprintln!("skipped: set CIN_TEST_POSTGRES_URL to run the PostgreSQL variant");
                None
            }
        }
    }
}

/// A database that exists for one test and is dropped after it.
enum TestDb {
    Sqlite,
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    // Dropped after the server task ends with the runtime.
    _db: TestDb,
    _dir: tempfile::TempDir,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    /// A problem body comes without its `request_id`, which `read` checked
    /// against the `X-Request-Id` header, so that tests can compare the rest whole.
    pub body: Value,
}

impl Response {
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .expect("an ETag header")
            .to_str()
            .unwrap()
            .to_string()
    }

    pub fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// 2026-11-24 09:00 UTC: the tests' "now".
pub fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

impl TestApp {
    pub async fn spawn(backend: &Backend) -> TestApp {
        Self::spawn_with(backend, true).await
    }

    /// `seed`: load the sample catalogue and demo users.
    pub async fn spawn_with(backend: &Backend, seed: bool) -> TestApp {
        Self::spawn_configured(backend, seed, |_| {}, |url| url.to_string()).await
    }

    /// `configure` changes the settings the tests otherwise use; `connect`
    /// turns the test database's URL into the one the app is given (a proxy).
    pub async fn spawn_configured(
        backend: &Backend,
        seed: bool,
        configure: impl FnOnce(&mut ServeArgs),
        connect: impl FnOnce(&str) -> String,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, db) = match backend {
            Backend::Sqlite => (
                dir.path()
                    .join("catalogue.sqlite3")
                    .to_string_lossy()
                    .into_owned(),
                TestDb::Sqlite,
            ),
            Backend::Postgres { admin_url } => {
                let name = format!("cin_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(admin_url)
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} unreachable: {e}"));
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .expect("create test database");
                let base = admin_url.rsplit_once('/').expect("URL with a database").0;
                (
                    format!("{base}/{name}"),
                    TestDb::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                    },
                )
            }
        };
        let clock = Arc::new(ManualClock::new(start_time()));
        let address = start_instance(
            &connect(&database_url),
            dir.path(),
            seed,
            clock.clone(),
            configure,
        )
        .await;
        TestApp {
            address,
            client: reqwest::Client::new(),
            clock,
            database_url,
            _db: db,
            _dir: dir,
        }
    }

    /// A second instance on the same database, with its own data dir and index.
    pub async fn sibling(&self) -> Sibling {
        let dir = tempfile::tempdir().expect("temp dir");
        let address = start_instance(
            &self.database_url,
            dir.path(),
            false,
            self.clock.clone(),
            |_| {},
        )
        .await;
        Sibling { address, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request; `token` as bearer, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::GET, path, token, None, &[]).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.call(Method::POST, path, token, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: &str, etag: &str, body: &Value) -> Response {
        self.call(
            Method::PATCH,
            path,
            Some(token),
            Some(body),
            &[("If-Match", etag)],
        )
        .await
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("request sent")).await
    }

    pub async fn login_full(&self, email: &str, password: &str) -> Value {
        let response = self
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "login {email}: {}",
            response.body
        );
        response.body
    }

    /// An access token for a demo account (`admin`, `office`, `holder`, `holder2`, `company`, ...).
    pub async fn login(&self, who: &str) -> String {
        let password = match who.trim_end_matches(char::is_numeric) {
            "holder" => "demo-holder-pass",
            "company" => "demo-company-pass",
            "office" => "demo-office-pass",
            "admin" => "demo-admin-pass",
            other => panic!("no demo account {other}"),
        };
        self.login_full(&format!("{who}@example.jp"), password)
            .await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl TestApp {
    /// The reminder pass and the sender as an instance of this app runs
    /// them, on the app's clock, delivering to the SMTP server on
    /// `smtp_port` (or to `.eml` files under `mail_dir` when `None`).
    pub async fn mail_jobs(
        &self,
        smtp_port: Option<u16>,
        mail_dir: &std::path::Path,
        sender: SenderSettings,
    ) -> Arc<MailJobs> {
        let url = self.database_url.clone();
        let store = tokio::task::spawn_blocking(move || Store::connect(&url, 4).expect("store"))
            .await
            .unwrap();
        let mail = MailSettings {
            smtp_host: smtp_port.map(|_| "127.0.0.1".to_string()),
            smtp_port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "CIN Registry Catalogue <no-reply@cin.test>".to_string(),
            timeout: std::time::Duration::from_secs(10),
        };
        Arc::new(MailJobs {
            store,
            clock: self.clock.clone(),
            keys: TokenKeys::new(
                JWT_SECRET.as_bytes(),
                chrono::Duration::minutes(15),
                chrono::Duration::days(30),
            ),
            reminders: ReminderSettings {
                policy: ReminderPolicy::default(),
                public_url: self.address.clone(),
                link_validity: chrono::Duration::days(30),
            },
            mailer: Mailer::new(&mail, mail_dir).expect("a mailer"),
            sender,
        })
    }

    /// Every row of the outbox, oldest first.
    pub async fn outbox(&self) -> Vec<OutboxRow> {
        let url = self.database_url.clone();
        tokio::task::spawn_blocking(move || {
            let store = Store::connect(&url, 1).expect("store");
            store
                .read_blocking(|conn| {
                    outbox::list(conn, &OutboxFilter::default(), 0, 100_000)
                        .map_err(StoreError::from)
                })
                .map(|(mut rows, _)| {
                    rows.reverse();
                    rows
                })
                .expect("the outbox reads")
        })
        .await
        .unwrap()
    }
}

pub struct Sibling {
    pub address: String,
    _dir: tempfile::TempDir,
}

/// Starts the application in this process on a free port; returns its base URL.
async fn start_instance(
    database_url: &str,
    data_dir: &std::path::Path,
    seed: bool,
    clock: Arc<ManualClock>,
    configure: impl FnOnce(&mut ServeArgs),
) -> String {
    let mut serve = ServeArgs {
        bind: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(JWT_SECRET.to_string()),
        no_seed: !seed,
        pool_size: 4,
        workers: Some(2),
        // The tests run the reminder pass and the sender themselves, at the
        // times they choose (`crate::mail_sink`).
        send_every_seconds: 0,
        remind_every_minutes: 0,
        // Tests sign in as often as they like; the throttling test sets its own limits.
        login_attempts_per_account: 10_000,
        login_attempts_per_address: 10_000,
        ..ServeArgs::default()
    };
    configure(&mut serve);
    let app = Application::build(Settings {
        database_url: database_url.to_string(),
        data_dir: data_dir.to_path_buf(),
        serve,
        clock,
    })
    .await
    .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

async fn read(response: reqwest::Response) -> Response {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body read");
    let mut body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let header_id = headers
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(header_id.is_some(), "every response names its request id");
    if headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/problem+json")
    {
        let body_id = body.as_object_mut().and_then(|o| o.remove("request_id"));
        assert_eq!(
            body_id.as_ref().and_then(Value::as_str),
            header_id.as_deref(),
            "a problem carries the request id of its response header"
        );
    }
    Response {
        status,
        headers,
        body,
    }
}

/// A valid record for a new registry.
pub fn new_record(code: &str) -> Value {
    json!({
        "registry_code": code,
        "name_ja": "テスト用架空登録",
        "name_en": "Fictional Test Registry",
        "summary_ja": "試験のための架空のレジストリです。",
        "diseases": [{"name_ja": "乳がん", "name_en": "Breast cancer", "icd10": ["C50.9"]}],
        "disease_area": ["oncology"],
        "registry_type": "disease_registry",
        "operator_name_ja": "架空大学病院",
        "operator_type": "university_hospital",
        "region": "tokyo",
        "status": "enrolling",
        "contact": {"name": "試験 太郎", "email": "contact.test@example.jp"},
        "enrollment_count": 120,
        "survey_round": 2026
    })
}

/// The registry codes of a search answer, in order.
pub fn registry_codes(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("a search answer")
        .iter()
        .map(|i| i["registry"]["registry_code"].as_str().unwrap().to_string())
        .collect()
}
