//! The pages over plain HTTP: security headers, CSRF, sessions, language, and
//! personal data kept off public pages. The browser tests drive them as people do.

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value a response sets for a cookie.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (n, value) = pair.split_once('=')?;
        (n == name).then(|| value.to_string())
    })
}

/// Signs in through the form; returns the Cookie header of the session.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> String {
    let login = client()
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let csrf = set_cookie(login.headers(), "cin_csrf").expect("a CSRF cookie");
    let signed_in = client()
        .post(format!("{}/login", app.address))
        .header("Cookie", format!("cin_csrf={csrf}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={csrf}&email={email}&password={password}&next=/my/registries"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/my/registries");
    let session = set_cookie(signed_in.headers(), "cin_session").expect("a session cookie");
    let raw = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(
        raw.iter().any(|c| c.starts_with("cin_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")),
        "{raw:?}"
    );
    format!("cin_csrf={csrf}; cin_session={session}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_sets_its_security_headers_and_loads_only_its_own_assets() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    for path in [
        "/",
        "/?q=ALS&status=enrolling",
        "/registries/CIN-R-000002",
        "/login",
        "/registries/CIN-R-999999",
    ] {
        let response = client()
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let headers = response.headers().clone();
        let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains(" style="),
            "{path}: inline script or style"
        );
        assert!(
            !html.contains("http://") || path.starts_with("/registries/"),
            "{path}: nothing from elsewhere"
        );
    }
    let css = client()
        .get(format!("{}/assets/site.css", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let js = client()
        .get(format!("{}/assets/site.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_this_browsers_csrf_token_are_refused() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let form = "email=holder@example.jp&password=demo-holder-pass";
    for (cookie, field) in [("", "csrf=x"), ("cin_csrf=aaaa", "csrf=bbbb")] {
        let response = client()
            .post(format!("{}/login", app.address))
            .header("Cookie", cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("{field}&{form}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{cookie}");
        assert!(set_cookie(response.headers(), "cin_session").is_none());
    }
    let cookies = sign_in(&app, "holder@example.jp", "demo-holder-pass").await;
    let session_only = cookies
        .split("; ")
        .find(|c| c.starts_with("cin_session"))
        .unwrap();
    let confirm = client()
        .post(format!(
            "{}/my/registries/CIN-R-000001/confirm",
            app.address
        ))
        .header("Cookie", session_only)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("csrf=guessed")
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_details_only_for_the_registrys_holders_and_the_office() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let token = app.login("holder").await;
    let private = app
        .get("/api/v1/registries/CIN-R-000001", Some(&token))
        .await;
    let email = private.body["record"]["contact"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let page = |cookie: String| {
        let address = app.address.clone();
        async move {
            client()
                .get(format!("{address}/registries/CIN-R-000001"))
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(!page(String::new()).await.contains(&email), "public page");
    let company = sign_in(&app, "company@example.jp", "demo-company-pass").await;
    assert!(
        !page(company).await.contains(&email),
        "another company's view"
    );
    let holder = sign_in(&app, "holder@example.jp", "demo-holder-pass").await;
    assert!(page(holder).await.contains(&email), "the holder's view");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sends_you_back_only_to_this_site_and_sign_out_ends_the_session() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let login = client()
        .get(format!("{}/login?next=//evil.example/x", app.address))
        .send()
        .await
        .unwrap();
    let html = login.text().await.unwrap();
    assert!(
        html.contains(r#"name="next" value="/""#),
        "an off-site next becomes /"
    );

    let cookies = sign_in(&app, "holder@example.jp", "demo-holder-pass").await;
    let mine = client()
        .get(format!("{}/my/registries", app.address))
        .header("Cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(mine.headers()["cache-control"], "private, no-store");
    let csrf = cookies
        .split("; ")
        .next()
        .unwrap()
        .trim_start_matches("cin_csrf=")
        .to_string();
    let out = client()
        .post(format!("{}/logout", app.address))
        .header("Cookie", &cookies)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    // The old cookie no longer works: the session itself has ended.
    let after = client()
        .get(format!("{}/my/registries", app.address))
        .header("Cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()[LOCATION], "/login?next=%2Fmy%2Fregistries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_on_request_and_remembered() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let en = client()
        .get(format!("{}/?q=ALS&lang=en", app.address))
        .send()
        .await
        .unwrap();
    let lang = set_cookie(en.headers(), "cin_lang").expect("the choice is remembered");
    let html = en.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(
        html.contains(r#"href="/?q=ALS&amp;lang=ja""#),
        "the switch keeps the query"
    );
    let next = client()
        .get(format!("{}/registries/CIN-R-000002", app.address))
        .header("Cookie", format!("cin_lang={lang}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(next.contains(r#"<html lang="en">"#));
    let ja = client()
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ja.contains(r#"<html lang="ja">"#), "Japanese by default");
}
