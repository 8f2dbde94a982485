//! Periodic updates: reminders by the policy, delivered over SMTP in the
//! holder's language, the single-use confirmation link, the update status in
//! the public record and the search, two instances at once, and who may do what.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;

use cin_catalogue::clock::Clock;
use cin_catalogue::mail::message_id;
use cin_catalogue::mail::sender::SenderSettings;

use crate::helpers::{registry_codes, start_time, Backend, TestApp};
use crate::mail_sink::{Received, SmtpSink};

on_both_backends!(
    a_reminder_reaches_each_holder_in_their_language_and_its_link_confirms_once,
    a_year_of_daily_passes_sends_the_policys_reminders_in_order,
    two_instances_running_the_pass_at_once_write_one_reminder_per_step,
    each_role_reaches_only_its_part_of_the_update_cycle,
);

/// The messages to `to` about `code`, in the order the server accepted them.
fn about(sink: &SmtpSink, to: &str, code: &str) -> Vec<Received> {
    sink.received()
        .into_iter()
        .filter(|m| m.rcpt_to == [to] && m.text().contains(code))
        .collect()
}

/// The confirmation link in a mail's text.
fn confirm_link(app: &TestApp, message: &Received) -> String {
    let text = message.text();
    let start = text
        .find(&format!("{}/confirm?token=", app.address))
        .expect("a confirmation link");
    text[start..].split_whitespace().next().unwrap().to_string()
}

fn token_of(link: &str) -> String {
    link.split_once("token=").unwrap().1.to_string()
}

async fn user_id(app: &TestApp, who: &str) -> String {
    let token = app.login(who).await;
    app.get("/api/v1/me", Some(&token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn a_reminder_reaches_each_holder_in_their_language_and_its_link_confirms_once(
    backend: Backend,
) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let jobs = app
        .mail_jobs(Some(sink.port), dir.path(), SenderSettings::default())
        .await;
    jobs.remind().await.unwrap();
    jobs.send().await.unwrap();

    // On 2026-11-24, CIN-R-000005 (confirmed 2025-11-28; its holder reads
    // English) is due in four days; CIN-R-000008 (confirmed 2024-10-10; its
    // holder reads Japanese) is long overdue.
    let english = about(&sink, "holder2@example.jp", "CIN-R-000005");
    assert_eq!(english.len(), 1);
    let english = &english[0];
    assert!(english
        .header("Subject")
        .unwrap()
        .starts_with("[CIN] Please confirm your registry entry: "));
    assert!(english
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    let text = english.text();
    assert!(text.contains("Dear 西海 次郎,"), "{text}");
    assert!(text.contains("Due: 2026-11-28"), "{text}");
    assert!(text.contains("Content-Type: text/html"), "{text}");
    assert!(text.contains(&format!("{}/api/v1/registries/CIN-R-000005", app.address)));

    let japanese = about(&sink, "holder3@example.jp", "CIN-R-000008");
    assert_eq!(japanese.len(), 1);
    let text = japanese[0].text();
    assert!(text.contains("国立 三枝 様"), "{text}");
    assert!(text.contains("確認期限（2025年10月10日）を"), "{text}");
    let rows = app.outbox().await;
    let row = rows
        .iter()
        .find(|r| message_id(&r.idempotency_key) == japanese[0].message_id())
        .unwrap();
    assert_eq!(row.language, "ja");
    assert!(row
        .subject
        .starts_with("[CIN] 登録情報の確認期限を過ぎています："));
    assert!(rows.iter().any(|r| r.kind == "registry.update_escalation"
        && r.related_id == "CIN-R-000008"
        && r.recipient_email == "office@example.jp"));

    // Opening the link changes nothing: mail scanners open links too.
    let link = confirm_link(&app, english);
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("CIN-R-000005") && html.contains("<form"),
        "{html}"
    );
    let entry = app.get("/api/v1/registries/CIN-R-000005", None).await;
    assert_eq!(entry.body["last_confirmed_at"], "2025-11-28T00:00:00Z");

    let token = token_of(&link);
    let confirmed = app
        .post("/api/v1/confirmations", None, &json!({"token": token}))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body["update_status"], "current");
    let now: DateTime<Utc> = app.clock.now();
    assert_eq!(
        confirmed.body["last_confirmed_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        now
    );
    assert!(confirmed.body["record"].get("contact").is_none());
    let holder2 = app.login("holder2").await;
    let history = app
        .get("/api/v1/registries/CIN-R-000005/revisions", Some(&holder2))
        .await;
    assert_eq!(history.body[0]["action"], "confirm");
    assert_eq!(history.body[0]["author_id"], user_id(&app, "holder2").await);

    // Once only, by the API or by the page.
    let again = app
        .post("/api/v1/confirmations", None, &json!({"token": token}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "confirmation_link_used");
    let form = reqwest::Client::new()
        .post(format!("{}/confirm", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::CONFLICT);
    let tampered = app
        .post(
            "/api/v1/confirmations",
            None,
            &json!({"token": format!("{token}x")}),
        )
        .await;
    assert_eq!(tampered.status, StatusCode::BAD_REQUEST);
    assert_eq!(tampered.body["code"], "confirmation_link_invalid");

    // The next pass finds the new cycle current: no reminder for it.
    let before = about(&sink, "holder2@example.jp", "CIN-R-000005").len();
    jobs.remind().await.unwrap();
    jobs.send().await.unwrap();
    assert_eq!(
        about(&sink, "holder2@example.jp", "CIN-R-000005").len(),
        before
    );

    // Links expire: the Japanese one is 30 days valid.
    app.clock.advance(Duration::days(30));
    let late = app
        .post(
            "/api/v1/confirmations",
            None,
            &json!({"token": token_of(&confirm_link(&app, &japanese[0]))}),
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(late.body["code"], "confirmation_link_expired");
}

/// One cycle of CIN-R-000006 from a confirmation on 2026-11-24 09:00, with a
/// pass (and the sender) every day at 09:00 for 440 days.
async fn a_year_of_daily_passes_sends_the_policys_reminders_in_order(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let jobs = app
        .mail_jobs(Some(sink.port), dir.path(), SenderSettings::default())
        .await;
    let code = "CIN-R-000006";
    let path = format!("/api/v1/registries/{code}");
    let holder2 = app.login("holder2").await;
    let confirmed = app
        .post(&format!("{path}/confirmations"), Some(&holder2), &json!({}))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let t0 = start_time();

    let mut statuses: Vec<(i64, String)> = Vec::new();
    for day in 1..=440 {
        app.clock.advance(Duration::days(1));
        jobs.remind().await.unwrap();
        jobs.send().await.unwrap();
        let status = app.get(&path, None).await.body["update_status"]
            .as_str()
            .unwrap()
            .to_string();
        if statuses.last().is_none_or(|(_, s)| s != &status) {
            statuses.push((day, status));
        }
    }
    // Due on 2027-11-24 (day 365): due from 30 days before, overdue from the date.
    assert_eq!(
        statuses,
        vec![
            (1, "current".to_string()),
            (335, "due".to_string()),
            (365, "overdue".to_string())
        ]
    );

    let rows: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|r| r.related_id == code)
        .collect();
    let seen: Vec<(i64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                (r.created_at.and_utc() - t0).num_days(),
                r.kind.as_str(),
                r.recipient_email.as_str(),
            )
        })
        .collect();
    let reminder = "registry.update_reminder";
    let holder = "holder2@example.jp";
    assert_eq!(
        seen,
        vec![
            (335, reminder, holder),
            (365, reminder, holder),
            (379, reminder, holder),
            (393, reminder, holder),
            (407, reminder, holder),
            (421, reminder, holder),
            (425, "registry.update_escalation", "office@example.jp"),
            (435, reminder, holder),
        ]
    );
    let subjects: Vec<&str> = rows
        .iter()
        .filter(|r| r.kind == reminder)
        .map(|r| r.subject.split(':').next().unwrap())
        .collect();
    assert_eq!(
        subjects,
        vec![
            "[CIN] Please confirm your registry entry",
            "[CIN] Your registry entry is due for confirmation",
            "[CIN] Your registry entry is overdue for confirmation",
            "[CIN] Your registry entry is overdue for confirmation",
            "[CIN] Your registry entry is overdue for confirmation",
            "[CIN] Your registry entry is overdue for confirmation",
            "[CIN] Your registry entry is overdue for confirmation",
        ]
    );
    // Received in that order, each once.
    let received: Vec<String> = sink
        .received()
        .iter()
        .map(Received::message_id)
        .filter(|id| rows.iter().any(|r| &message_id(&r.idempotency_key) == id))
        .collect();
    let expected: Vec<String> = rows
        .iter()
        .map(|r| message_id(&r.idempotency_key))
        .collect();
    assert_eq!(received, expected);

    // The public page says since when; the search facet follows (a write
    // through this instance makes its index catch up with the log first).
    let entry = app.get(&path, None).await;
    assert_eq!(entry.body["update_status"], "overdue");
    assert_eq!(
        entry.body["not_confirmed_since"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        t0
    );
    let holder = app.login("holder").await;
    let other = "/api/v1/registries/CIN-R-000001/confirmations";
    assert_eq!(
        app.post(other, Some(&holder), &json!({})).await.status,
        StatusCode::OK
    );
    let overdue = app
        .get(
            "/api/v1/registries/search?update_status=overdue&per_page=100",
            None,
        )
        .await;
    assert_eq!(overdue.status, StatusCode::OK, "{}", overdue.body);
    let codes = registry_codes(&overdue.body);
    assert!(codes.contains(&code.to_string()), "{codes:?}");
    assert!(!codes.contains(&"CIN-R-000001".to_string()));
    let counts = &overdue.body["facets"]["update_status"];
    let overdue_count = counts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "overdue")
        .unwrap();
    assert_eq!(overdue_count["count"], codes.len());
    assert_eq!(overdue_count["en"], "Overdue");

    // Confirming with the button of the last reminder's page ends the
    // cycle's reminders.
    let last = about(&sink, "holder2@example.jp", code).pop().unwrap();
    let done = reqwest::Client::new()
        .post(format!("{}/confirm", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={}", token_of(&confirm_link(&app, &last))))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done
        .text()
        .await
        .unwrap()
        .contains("確認しました / Confirmed"));
    assert_eq!(app.get(&path, None).await.body["update_status"], "current");
    let count = rows.len();
    for _ in 0..30 {
        app.clock.advance(Duration::days(1));
        jobs.remind().await.unwrap();
    }
    let after = app.outbox().await;
    assert_eq!(after.iter().filter(|r| r.related_id == code).count(), count);
    eprintln!(
        "a year of daily passes: {} mails about {code} ({} reminders, 1 escalation), status changes {statuses:?}",
        rows.len(),
        rows.len() - 1
    );
}

async fn two_instances_running_the_pass_at_once_write_one_reminder_per_step(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let first = app
        .mail_jobs(
            Some(sink.port),
            dir.path(),
            SenderSettings {
                // Small batches, so that the two senders take turns.
                batch: 5,
                ..SenderSettings::default()
            },
        )
        .await;
    let second = app
        .mail_jobs(
            Some(sink.port),
            dir.path(),
            SenderSettings {
                // Small batches, so that the two senders take turns.
                batch: 5,
                ..SenderSettings::default()
            },
        )
        .await;
    // Far enough on that most registries are due or overdue.
    app.clock.advance(Duration::days(200));
    let before = app.outbox().await.len();

    let (a, b) = tokio::join!(first.remind(), second.remind());
    let (a, b) = (a.unwrap(), b.unwrap());
    let rows = app.outbox().await;
    let written = rows.len() - before;
    assert_eq!(
        a.reminders + b.reminders + a.escalations + b.escalations,
        written
    );
    assert!(written > 20, "{written} reminders");
    // At one moment each registry is at one step: one mail per registry and person.
    let mut per: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.related_type == "registry") {
        *per.entry((
            row.related_id.clone(),
            row.kind.clone(),
            row.recipient_email.clone(),
        ))
        .or_default() += 1;
    }
    assert!(per.values().all(|&n| n == 1), "{per:?}");
    // Each status change went to the change log once.
    let office = app.login("office").await;
    let late = app
        .get(
            "/api/v1/registry-updates?status=due,overdue&per_page=1",
            Some(&office),
        )
        .await;
    assert_eq!(late.status, StatusCode::OK);
    assert_eq!(
        a.status_changes + b.status_changes,
        late.body["total"].as_u64().unwrap() as usize
    );

    let (a2, b2) = tokio::join!(first.remind(), second.remind());
    assert_eq!(a2.unwrap().reminders + b2.unwrap().reminders, 0);
    assert_eq!(app.outbox().await.len(), rows.len());

    let (sa, sb) = tokio::join!(first.send(), second.send());
    let (sa, sb) = (sa.unwrap(), sb.unwrap());
    assert_eq!(sa.sent + sb.sent, rows.len());
    let mut ids: Vec<String> = sink.received().iter().map(Received::message_id).collect();
    assert_eq!(ids.len(), rows.len());
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "no message twice");
    eprintln!(
        "two instances at once: reminders written {} + {} (of {written}); mails sent {} + {} (of {}), received {}",
        a.reminders + a.escalations,
        b.reminders + b.escalations,
        sa.sent,
        sb.sent,
        rows.len(),
        sink.received().len()
    );
}

async fn each_role_reaches_only_its_part_of_the_update_cycle(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let holder = app.login("holder").await;
    let holder2 = app.login("holder2").await;
    let company = app.login("company").await;
    let office = app.login("office").await;
    let confirm = |code: &str| format!("/api/v1/registries/{code}/confirmations");

    assert_eq!(
        app.post(&confirm("CIN-R-000001"), None, &json!({}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    for token in [&company, &holder2] {
        let refused = app
            .post(&confirm("CIN-R-000001"), Some(token), &json!({}))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let own = app
        .post(&confirm("CIN-R-000001"), Some(&holder), &json!({}))
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.headers.get("etag").is_some());
    let by_office = app
        .post(&confirm("CIN-R-000013"), Some(&office), &json!({}))
        .await;
    assert_eq!(by_office.status, StatusCode::OK);
    // A draft is not there for those who may not see it.
    assert_eq!(
        app.post(&confirm("CIN-R-000029"), Some(&holder), &json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let list = "/api/v1/registry-updates";
    assert_eq!(app.get(list, None).await.status, StatusCode::UNAUTHORIZED);
    for token in [&holder, &company] {
        assert_eq!(
            app.get(list, Some(token)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let bad = app.get(&format!("{list}?status=late"), Some(&office)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    app.clock.advance(Duration::days(10));
    let office = app.login("office").await;
    let due = app
        .get(&format!("{list}?per_page=100"), Some(&office))
        .await;
    assert_eq!(due.status, StatusCode::OK);
    let first = due.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["registry_code"] == "CIN-R-000008")
        .unwrap()
        .clone();
    assert_eq!(first["update_status"], "overdue");
    assert_eq!(first["escalated"], true);
    assert_eq!(first["holders"][0]["email"], "holder3@example.jp");

    // A link works only for someone who still holds the registry.
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let jobs = app
        .mail_jobs(Some(sink.port), dir.path(), SenderSettings::default())
        .await;
    jobs.remind().await.unwrap();
    jobs.send().await.unwrap();

    // The public record shows the status, never who holds it or how to reach them.
    let public = app.get("/api/v1/registries/CIN-R-000005", None).await;
    assert_eq!(public.body["update_status"], "overdue");
    assert_eq!(public.body["not_confirmed_since"], "2025-11-28T00:00:00Z");
    let text = public.body.to_string();
    assert!(!text.contains("@example.jp") && public.body["record"].get("contact").is_none());

    let mail = about(&sink, "holder2@example.jp", "CIN-R-000005")
        .pop()
        .unwrap();
    let token = token_of(&confirm_link(&app, &mail));
    let holders = format!(
        "/api/v1/registries/CIN-R-000005/holders/{}",
        user_id(&app, "holder2").await
    );
    let removed = app
        .call(Method::DELETE, &holders, Some(&office), None, &[])
        .await;
    assert!(removed.status.is_success(), "{}", removed.body);
    let refused = app
        .post("/api/v1/confirmations", None, &json!({"token": token}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // An access token is not a confirmation link, nor the reverse.
    let swapped = app
        .post("/api/v1/confirmations", None, &json!({"token": holder}))
        .await;
    assert_eq!(swapped.body["code"], "confirmation_link_invalid");
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}
