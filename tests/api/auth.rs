//! Sign-in, tokens and accounts.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, JWT_SECRET};

on_both_backends!(
    sign_in_refresh_rotation_and_logout,
    wrong_credentials_are_one_answer,
    expired_tokens_are_refused,
    tampered_and_foreign_tokens_are_refused,
    accounts_are_created_by_the_right_roles,
);

async fn sign_in_refresh_rotation_and_logout(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let pair = app
        .login_full("Holder@Example.jp", "demo-holder-pass")
        .await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let access = pair["access_token"].as_str().unwrap();

    let me = app.get("/api/v1/me", Some(access)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "holder@example.jp");
    assert_eq!(me.body["role"], "holder");
    assert_eq!(
        me.body["holds"],
        json!([
            "CIN-R-000001",
            "CIN-R-000002",
            "CIN-R-000003",
            "CIN-R-000004"
        ])
    );

    let first_refresh = pair["refresh_token"].clone();
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": first_refresh}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_ne!(rotated.body["refresh_token"], first_refresh);
    let second_access = rotated.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/v1/me", Some(&second_access)).await.status,
        StatusCode::OK
    );

    // The first refresh token comes back: someone may have copied it. The
    // whole session ends, including the tokens issued after it.
    let reuse = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": first_refresh}),
        )
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reuse.body["code"], "invalid_refresh_token");
    let after_reuse = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": rotated.body["refresh_token"]}),
        )
        .await;
    assert_eq!(after_reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/v1/me", Some(&second_access)).await.status,
        StatusCode::UNAUTHORIZED
    );

    let fresh = app
        .login_full("holder@example.jp", "demo-holder-pass")
        .await;
    let access = fresh["access_token"].as_str().unwrap();
    let out = app
        .post("/api/v1/auth/logout", Some(access), &json!({}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after_logout = app.get("/api/v1/me", Some(access)).await;
    assert_eq!(after_logout.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after_logout.body["code"], "invalid_token");
    let refresh_after_logout = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": fresh["refresh_token"]}),
        )
        .await;
    assert_eq!(refresh_after_logout.status, StatusCode::UNAUTHORIZED);
}

async fn wrong_credentials_are_one_answer(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let wrong_password = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "office@example.jp", "password": "guessing-wrong"}),
        )
        .await;
    let no_account = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "nobody@example.jp", "password": "guessing-wrong"}),
        )
        .await;
    let expected = json!({
        "type": "urn:cin-catalogue:problem:invalid_credentials",
        "title": "Email or password is wrong",
        "status": 401,
        "code": "invalid_credentials",
        "detail": "Email or password is wrong"
    });
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.body, expected);
    assert_eq!(
        no_account.body, expected,
        "no hint which emails have accounts"
    );
    assert_eq!(wrong_password.content_type(), "application/problem+json");
}

async fn expired_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let token = app.login("office").await;
    app.clock.advance(chrono::Duration::seconds(899));
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status,
        StatusCode::OK
    );
    app.clock.advance(chrono::Duration::seconds(1));
    let expired = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.body["code"], "token_expired");
    assert_eq!(expired.headers["www-authenticate"], "Bearer");
}

fn b64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn tampered_and_foreign_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let token = app.login("company").await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims: Value = {
        let me = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(me.status, StatusCode::OK);
        // Rebuild the claims to forge variants of them.
        let (header, payload) = (parts[0], parts[1]);
        assert!(!header.is_empty());
        let decoded = jsonwebtoken::dangerous::insecure_decode::<Value>(&token).unwrap();
        assert_eq!(decoded.claims["sub"], me.body["id"]);
        let _ = payload;
        decoded.claims
    };

    let mut escalated = claims.clone();
    escalated["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(escalated.to_string().as_bytes()),
        parts[2]
    );
    let other_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"not the service secret"),
    )
    .unwrap();
    let other_algorithm = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let expected = json!({
        "type": "urn:cin-catalogue:problem:invalid_token",
        "title": "The access token is invalid",
        "status": 401,
        "code": "invalid_token",
        "detail": "The access token is malformed, tampered with or not signed by this service"
    });
    for (what, bad) in [
        ("tampered payload", tampered),
        ("other secret", other_secret),
        ("HS512", other_algorithm),
        ("alg none", unsigned),
        ("garbage", "not.a.jwt".to_string()),
    ] {
        let response = app.get("/api/v1/me", Some(&bad)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(response.body, expected, "{what}");
        let public = app.get("/api/v1/registries", Some(&bad)).await;
        assert_eq!(
            public.status,
            StatusCode::UNAUTHORIZED,
            "{what}: a bad token is never read as anonymous"
        );
    }
    let audit = app.get("/api/v1/audit", Some(&token)).await;
    assert_eq!(
        audit.status,
        StatusCode::FORBIDDEN,
        "the genuine token stays a company token"
    );
}

async fn accounts_are_created_by_the_right_roles(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let admin = app.login("admin").await;
    let user = |email: &str, role: &str| {
        json!({"email": email, "password": "a long enough password", "role": role,
               "display_name": "新規 利用者", "organisation": "架空病院"})
    };

    let holder = app
        .post(
            "/api/v1/users",
            Some(&office),
            &user("new.holder@example.jp", "holder"),
        )
        .await;
    assert_eq!(holder.status, StatusCode::CREATED, "{}", holder.body);
    assert_eq!(holder.body["role"], "holder");
    assert_eq!(holder.body["language"], "ja");
    assert!(holder.body.get("password").is_none() && holder.body.get("password_hash").is_none());
    app.login_full("new.holder@example.jp", "a long enough password")
        .await;

    let staff = app
        .post(
            "/api/v1/users",
            Some(&office),
            &user("new.office@example.jp", "office"),
        )
        .await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    let by_admin = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &user("new.office@example.jp", "office"),
        )
        .await;
    assert_eq!(by_admin.status, StatusCode::CREATED);

    let taken = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &user("NEW.office@example.jp", "office"),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.body["code"], "email_taken");

    let mut weak = user("weak@example.jp", "company");
    weak["password"] = json!("short");
    weak["email"] = json!("not-an-email");
    let invalid = app.post("/api/v1/users", Some(&office), &weak).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = invalid.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["email", "password"]);

    let listed = app.get("/api/v1/users?role=office", Some(&office)).await;
    let emails: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["new.office@example.jp", "office@example.jp"]);
}
