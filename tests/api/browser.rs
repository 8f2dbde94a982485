//! The pages in a real headless Chromium, driven over WebDriver. Each test
//! starts its own chromedriver on a free port and its own app (SQLite), and
//! saves a screenshot of every step under the test output directory.
//!
//! Without chromedriver the tests print "skipped", unless
//! `CIN_TEST_REQUIRE_BROWSER=1` (as CI sets) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{Backend, TestApp};

/// Generous: two Chromiums and two servers may share two loaded cores.
const PATIENCE: Duration = Duration::from_secs(30);

struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    test: &'static str,
}

fn find_program(env: &str, name: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl Browser {
    /// A fresh browser, or `None` (the test is skipped) without chromedriver.
    async fn start(test: &'static str) -> Option<Browser> {
        Self::launch(test, true).await
    }

    /// A fresh browser with JavaScript turned off.
    async fn without_javascript(test: &'static str) -> Option<Browser> {
        Self::launch(test, false).await
    }

    async fn launch(test: &'static str, javascript: bool) -> Option<Browser> {
        let required = std::env::var("CIN_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let driver_path = find_program("CIN_TEST_CHROMEDRIVER", "chromedriver");
        let chromium = find_program("CIN_TEST_CHROMIUM", "chromium")
            .or_else(|| find_program("CIN_TEST_CHROMIUM", "chromium-browser"));
        let (Some(driver_path), Some(chromium)) = (driver_path, chromium) else {
            assert!(
                !required,
                "CIN_TEST_REQUIRE_BROWSER=1 but chromedriver or chromium is not installed"
            );
            eprintln!("skipped: install chromium and chromium-driver to run the browser tests");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut driver = tokio::process::Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        // chromedriver says when it listens; read that instead of guessing a delay.
        let mut lines = BufReader::new(driver.stdout.take().expect("piped stdout")).lines();
        tokio::time::timeout(PATIENCE, async {
            while let Some(line) = lines.next_line().await.expect("chromedriver output") {
                if line.contains("started successfully") {
                    return;
                }
            }
            panic!("chromedriver exited before it was ready");
        })
        .await
        .expect("chromedriver ready in time");
        // Keep draining its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
                },
            },
        });
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session");
        let shots = std::env::var_os("CIN_TEST_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots"));
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
            shots,
            test,
        })
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    /// Waits (bounded) for an element to be on the page.
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no `{css}` in time: {e}", self.test))
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("element text")
    }

    async fn attr(&self, css: &str, name: &str) -> String {
        self.wait_for(css)
            .await
            .attr(name)
            .await
            .expect("attribute")
            .unwrap_or_else(|| panic!("`{css}` has no {name}"))
    }

    async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.expect("click");
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("typing");
    }

    /// The facet's values and counts as shown, in order.
    async fn facet_counts(&self, facet: &str) -> Vec<(String, String)> {
        let mut counts = Vec::new();
        for label in self
            .client
            .find_all(Locator::Css(&format!("[data-facet={facet}] label")))
            .await
            .expect("facet labels")
        {
            let value = label
                .find(Locator::Css("input"))
                .await
                .expect("checkbox")
                .attr("value")
                .await
                .expect("value")
                .unwrap_or_default();
            let count = label
                .find(Locator::Css(".count"))
                .await
                .expect("count")
                .attr("data-count")
                .await
                .expect("data-count")
                .unwrap_or_default();
            counts.push((value, count));
        }
        counts
    }

    async fn screenshot(&self, step: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{}-{step}.png", self.test));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    async fn close(self) {
        self.client.close().await.expect("browser closes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_facets_and_registry_page() {
    let Some(browser) = Browser::start("search").await else {
        return;
    };
    let app = TestApp::spawn(&Backend::Sqlite).await;

    // A search from the box: results with highlights.
    browser.goto(&format!("{}/", app.address)).await;
    browser.fill("#q", "がん").await;
    browser.click(".searchbar button[type=submit]").await;
    browser.wait_for("ol.results mark").await;
    let total_before: u32 = browser
        .attr("[data-total]", "data-total")
        .await
        .parse()
        .unwrap();
    let areas_before = browser.facet_counts("disease_area").await;
    let status_before = browser.facet_counts("status").await;
    browser.screenshot("1-results").await;

    // Choosing a facet value narrows the results; the other facets' counts
    // follow, and the chosen facet keeps its siblings' counts (disjunctive).
    browser.click("#f-status-enrolling").await;
    browser.wait_for(".chosen a").await;
    assert_eq!(
        browser.attr("#f-status-enrolling", "checked").await,
        "true",
        "the chosen value stays checked"
    );
    let total_after: u32 = browser
        .attr("[data-total]", "data-total")
        .await
        .parse()
        .unwrap();
    let enrolling = status_before
        .iter()
        .find(|(v, _)| v == "enrolling")
        .unwrap();
    assert_eq!(
        total_after.to_string(),
        enrolling.1,
        "as many results as the facet said"
    );
    assert!(total_after < total_before, "{total_after} < {total_before}");
    assert_ne!(browser.facet_counts("disease_area").await, areas_before);
    assert_eq!(browser.facet_counts("status").await, status_before);
    let url = browser.client.current_url().await.unwrap();
    assert!(
        url.query().unwrap().contains("status=enrolling"),
        "{url}: the state is in the URL"
    );
    browser.screenshot("2-facet-chosen").await;

    // The CSV export carries the same search.
    let csv = browser.attr("a[download]", "href").await;
    assert!(
        csv.contains("/api/v1/registries/search/export?") && csv.contains("status=enrolling"),
        "{csv}"
    );

    // The language switch keeps the search.
    browser.click("a.lang").await;
    browser.wait_for("html[lang=en]").await;
    let url = browser.client.current_url().await.unwrap();
    assert!(url.query().unwrap().contains("status=enrolling"), "{url}");
    assert_eq!(
        browser.text("#f-status-enrolling + .label").await,
        "Enrolling"
    );
    browser.screenshot("3-english").await;
    browser.click("a.lang").await;
    browser.wait_for("html[lang=ja]").await;

    // Nothing found: said plainly, with suggestions.
    browser.fill("#q", "存在しない疾患名ぬぬぬ").await;
    browser.click(".searchbar button[type=submit]").await;
    browser.wait_for(".empty[role=status]").await;
    browser.screenshot("4-no-results").await;

    // A registry page from a result.
    browser
        .goto(&format!("{}/?q=%E3%81%8C%E3%82%93", app.address))
        .await;
    let first = browser.attr("ol.results li h3 a", "href").await;
    browser.click("ol.results li h3 a").await;
    browser.wait_for("article.registry h1").await;
    assert_eq!(browser.client.current_url().await.unwrap().path(), first);
    let code = first.rsplit('/').next().unwrap();
    let api = app.get(&format!("/api/v1/registries/{code}"), None).await;
    assert_eq!(
        browser.text("article.registry h1").await,
        api.body["record"]["name_ja"].as_str().unwrap()
    );
    browser.wait_for("[data-update-status]").await;
    let source = browser.client.source().await.unwrap();
    assert!(
        !source.contains("担当者メールアドレス"),
        "no contact details on a public page"
    );
    browser.screenshot("5-registry").await;

    // On a phone the facets fold under the search box, and nothing scrolls sideways.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser
        .goto(&format!("{}/?q=%E3%81%8C%E3%82%93", app.address))
        .await;
    browser.wait_for("ol.results").await;
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(true), "no sideways scrolling on a phone");
    browser.screenshot("6-phone").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holder_edits_and_confirms_no_change() {
    let Some(browser) = Browser::start("holder").await else {
        return;
    };
    let app = TestApp::spawn(&Backend::Sqlite).await;

    // Signed-in pages send you to sign in, and back.
    browser
        .goto(&format!("{}/my/registries", app.address))
        .await;
    browser.fill("#email", "holder@example.jp").await;
    browser.fill("#password", "demo-holder-pass").await;
    browser.screenshot("1-login").await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser.wait_for("tr[data-registry='CIN-R-000002']").await;
    browser.screenshot("2-my-registries").await;

    // A value the record does not accept: the error sits next to its field.
    browser
        .click("tr[data-registry='CIN-R-000002'] a.button")
        .await;
    browser.fill("#field-enrollment_count", "たくさん").await;
    browser.click("form.card button[type=submit]").await;
    let error = browser
        .text(".field.invalid #field-enrollment_count-error")
        .await;
    assert!(!error.is_empty());
    assert_eq!(
        browser
            .attr("#field-enrollment_count", "aria-describedby")
            .await,
        "field-enrollment_count-error"
    );
    browser.screenshot("3-field-error").await;

    // Corrected, it saves.
    browser.fill("#field-enrollment_count", "2150").await;
    browser.click("form.card button[type=submit]").await;
    assert!(browser.text("p.notice.ok").await.contains("CIN-R-000002"));
    let saved = app.get("/api/v1/registries/CIN-R-000002", None).await;
    assert_eq!(saved.body["record"]["enrollment_count"], json!(2150));

    // Someone saves while the form is open: the page explains, keeps the
    // input, and shows what is saved now.
    browser
        .click("tr[data-registry='CIN-R-000002'] a.button")
        .await;
    browser.wait_for("#field-site_count").await;
    let token = app.login("holder").await;
    let other = app
        .patch(
            "/api/v1/registries/CIN-R-000002",
            &token,
            &saved.etag(),
            &json!({"site_count": 77}),
        )
        .await;
    assert_eq!(other.status, reqwest::StatusCode::OK, "{}", other.body);
    browser.fill("#field-site_count", "12").await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_for("#conflict").await;
    assert_eq!(browser.attr("#field-site_count", "value").await, "12");
    assert!(browser
        .text("[data-saved-now=site_count]")
        .await
        .contains("77"));
    browser.screenshot("4-conflict").await;

    // "Confirm no change" starts a new cycle.
    browser
        .goto(&format!("{}/my/registries", app.address))
        .await;
    browser
        .click("tr[data-registry='CIN-R-000001'] form button[type=submit]")
        .await;
    assert!(browser.text("p.notice.ok").await.contains("CIN-R-000001"));
    assert_eq!(
        browser
            .attr(
                "tr[data-registry='CIN-R-000001'] [data-update-status]",
                "data-update-status"
            )
            .await,
        "current"
    );
    let confirmed: Value = app.get("/api/v1/registries/CIN-R-000001", None).await.body;
    assert_eq!(
        confirmed["last_confirmed_at"].as_str().unwrap()[..10],
        crate::helpers::start_time().format("%Y-%m-%d").to_string()
    );
    browser.screenshot("5-confirmed").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_inquiry_reaches_the_office_desk() {
    let Some(browser) = Browser::start("inquiry").await else {
        return;
    };
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let subject = "ALS自然歴データの利用について（ブラウザ試験）";

    // From a registry's page, after signing in as a company user.
    browser
        .goto(&format!("{}/registries/CIN-R-000002", app.address))
        .await;
    browser
        .click("a[href='/registries/CIN-R-000002/inquiry']")
        .await;
    browser.fill("#email", "company@example.jp").await;
    browser.fill("#password", "demo-company-pass").await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;

    // An empty question is refused next to its field.
    browser.fill("#subject", subject).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_for(".field.invalid #body-error").await;

    browser
        .fill(
            "#body",
            "自然歴データを外部対照群として使えるか相談したい。\n計画書: https://example.jp/plan",
        )
        .await;
    browser.screenshot("1-form").await;
    browser.click("form.card button[type=submit]").await;
    assert_eq!(browser.text("article.inquiry h1").await, subject);
    assert_eq!(
        browser.attr("[data-status]", "data-status").await,
        "submitted"
    );
    // A message in the thread; an empty one is refused next to its field.
    browser
        .click("form[action$='/messages'] button[type=submit]")
        .await;
    browser.wait_for(".field.invalid #message-error").await;
    browser
        .fill("#message", "補足：対象期間は2015年以降です。")
        .await;
    browser
        .click("form[action$='/messages'] button[type=submit]")
        .await;
    assert!(browser
        .text("ol.thread")
        .await
        .contains("対象期間は2015年以降"));
    browser.screenshot("2-sent").await;
    browser.click("a[href='/my/inquiries']").await;
    assert_eq!(browser.text("tr[data-inquiry] td a").await, subject);

    // The office sees it on the desk.
    browser.click("form[action='/logout'] button").await;
    browser.wait_for("a[href='/login']").await;
    browser.goto(&format!("{}/office", app.address)).await;
    browser.fill("#email", "office@example.jp").await;
    browser.fill("#password", "demo-office-pass").await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser.wait_for("#desk-inquiry-table").await;
    let rows = browser.text("#desk-inquiry-table tbody").await;
    assert!(rows.contains(subject), "{rows}");
    // Overdue inquiries come first.
    let classes = browser
        .client
        .find_all(Locator::Css("#desk-inquiry-table tbody tr"))
        .await
        .unwrap();
    let mut seen_on_time = false;
    for row in classes {
        let late = row
            .attr("class")
            .await
            .unwrap()
            .is_some_and(|c| c.contains("late"));
        assert!(
            !(late && seen_on_time),
            "an overdue inquiry after one on time"
        );
        seen_on_time |= !late;
    }
    browser.wait_for("#desk-updates").await;
    browser.wait_for("#desk-outbox").await;
    browser.screenshot("3-office-desk").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_sign_in_work_without_javascript() {
    let Some(browser) = Browser::without_javascript("no-js").await else {
        return;
    };
    let app = TestApp::spawn(&Backend::Sqlite).await;
    browser.goto(&format!("{}/", app.address)).await;
    // Without the script the filters wait for their button, which is shown.
    browser.click("#f-status-enrolling").await;
    assert!(
        browser
            .client
            .find(Locator::Css(".chosen a"))
            .await
            .is_err(),
        "nothing submitted by itself"
    );
    browser.click(".facets .apply").await;
    browser.wait_for(".chosen a").await;
    let total: u32 = browser
        .attr("[data-total]", "data-total")
        .await
        .parse()
        .unwrap();
    let api = app
        .get("/api/v1/registries/search?status=enrolling", None)
        .await;
    assert_eq!(i64::from(total), api.body["total"].as_i64().unwrap());
    browser.screenshot("1-filtered").await;

    // The print button needs script, so it stays hidden; signing in is a plain form.
    browser.click("ol.results li h3 a").await;
    browser.wait_for("article.registry").await;
    assert!(!browser
        .wait_for("[data-print]")
        .await
        .is_displayed()
        .await
        .unwrap());
    browser.goto(&format!("{}/login", app.address)).await;
    browser.fill("#email", "holder@example.jp").await;
    browser.fill("#password", "demo-holder-pass").await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser.wait_for("form[action='/logout']").await;

    browser.close().await;
}
