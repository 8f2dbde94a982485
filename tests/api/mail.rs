//! The mail sender against a real SMTP server on 127.0.0.1: outages, dead
//! letters, a sender killed mid-batch, files when no server is configured,
//! and `reminders run` from cron.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use cin_catalogue::clock::Clock;
use cin_catalogue::mail::message_id;
use cin_catalogue::mail::sender::{DeliveryReport, SenderSettings};
use cin_catalogue::store::outbox::{self, OutboxRow};
use cin_catalogue::store::{DbConnection, Store, StoreError};

use crate::helpers::{Backend, TestApp, JWT_SECRET};
use crate::mail_sink::SmtpSink;
use crate::recovery::{binary, Server};

on_both_backends!(
    an_outage_during_a_pass_delays_mail_but_every_message_arrives_once,
    mail_that_keeps_failing_is_dead_lettered_and_the_office_queues_it_again,
    without_smtp_mail_is_written_to_eml_files,
    a_sender_killed_mid_batch_loses_nothing_and_doubles_nothing,
    a_sender_killed_after_the_server_accepted_resends_that_message_under_its_message_id,
    reminders_run_from_cron_does_one_pass,
    a_claim_that_ran_out_is_taken_over_and_the_late_sender_is_fenced_off,
);

/// Message-ID -> how many times the server accepted it.
fn arrivals(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in sink.received() {
        *counts.entry(message.message_id()).or_default() += 1;
    }
    counts
}

fn ids(rows: &[OutboxRow]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| message_id(&r.idempotency_key))
        .collect()
}

async fn an_outage_during_a_pass_delays_mail_but_every_message_arrives_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let jobs = app
        .mail_jobs(Some(sink.port), dir.path(), SenderSettings::default())
        .await;
    // The reminders due 200 days on, when most registries are due or overdue.
    app.clock.advance(Duration::days(200));
    jobs.remind().await.unwrap();
    let queued = app.outbox().await;
    let n = queued.len();
    assert!(n >= 30, "{n} mails queued");

    // The server goes down right after accepting the third message.
    sink.stop_after(3);
    let during = jobs.send().await.unwrap();
    assert_eq!(
        during,
        DeliveryReport {
            sent: 3,
            retrying: n - 3,
            dead: 0
        }
    );
    assert_eq!(sink.received().len(), 3);
    let rows = app.outbox().await;
    let waiting: Vec<&OutboxRow> = rows.iter().filter(|r| r.status == "pending").collect();
    assert_eq!(waiting.len(), n - 3);
    for row in &waiting {
        assert_eq!(row.attempts, 1);
        assert_eq!(
            row.next_attempt_at,
            (app.clock.now() + Duration::seconds(60)).naive_utc()
        );
        assert!(row.last_error.is_some());
    }

    // Back up, but the failed mails wait for their backoff.
    sink.restart().await;
    assert_eq!(jobs.send().await.unwrap(), DeliveryReport::default());
    app.clock.advance(Duration::seconds(60));
    let after = jobs.send().await.unwrap();
    assert_eq!(after.sent, n - 3);

    let rows = app.outbox().await;
    assert!(rows.iter().all(|r| r.status == "sent"));
    let arrived = arrivals(&sink);
    assert_eq!(sink.received().len(), n, "no message twice");
    assert!(arrived.values().all(|&c| c == 1));
    assert_eq!(arrived.keys().cloned().collect::<BTreeSet<_>>(), ids(&rows));
    // Each went to the outbox row's recipient.
    for message in sink.received() {
        let row = rows
            .iter()
            .find(|r| message_id(&r.idempotency_key) == message.message_id())
            .unwrap();
        assert_eq!(message.rcpt_to, vec![row.recipient_email.clone()]);
    }
    eprintln!(
        "outage: {n} messages, {} accepted before the server stopped, {} after it came back, {} received in all, {} distinct",
        during.sent,
        after.sent,
        sink.received().len(),
        arrived.len()
    );
}

async fn mail_that_keeps_failing_is_dead_lettered_and_the_office_queues_it_again(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    sink.stop();
    let settings = SenderSettings {
        max_attempts: 3,
        ..SenderSettings::default()
    };
    let jobs = app.mail_jobs(Some(sink.port), dir.path(), settings).await;
    jobs.remind().await.unwrap();
    let n = app.outbox().await.len();
    assert_eq!(jobs.send().await.unwrap().retrying, n);
    app.clock.advance(Duration::seconds(60));
    assert_eq!(jobs.send().await.unwrap().retrying, n);
    app.clock.advance(Duration::seconds(120));
    assert_eq!(jobs.send().await.unwrap().dead, n);
    app.clock.advance(Duration::days(1));
    assert_eq!(jobs.send().await.unwrap(), DeliveryReport::default());

    let office = app.login("office").await;
    let dead = app
        .get("/api/v1/outbox?status=dead&per_page=100", Some(&office))
        .await;
    assert_eq!(dead.status, StatusCode::OK, "{}", dead.body);
    assert_eq!(dead.body["total"], n);
    let letter = &dead.body["items"][0];
    assert_eq!(letter["attempts"], 3);
    assert!(letter["last_error"].as_str().unwrap().len() > 5, "{letter}");
    let path = format!("/api/v1/outbox/{}/requeue", letter["id"]);

    for who in ["holder", "company"] {
        let token = app.login(who).await;
        assert_eq!(
            app.get("/api/v1/outbox?status=dead", Some(&token))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.post(&path, Some(&token), &json!({})).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        app.post(&path, None, &json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );
    let missing = app
        .post("/api/v1/outbox/99999999/requeue", Some(&office), &json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let requeued = app.post(&path, Some(&office), &json!({})).await;
    assert_eq!(requeued.status, StatusCode::OK, "{}", requeued.body);
    assert_eq!(requeued.body["status"], "pending");
    assert_eq!(requeued.body["attempts"], 0);
    let again = app.post(&path, Some(&office), &json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "invalid_state_transition");

    sink.restart().await;
    assert_eq!(jobs.send().await.unwrap().sent, 1);
    assert_eq!(sink.received().len(), 1);
    let still_dead = app
        .get("/api/v1/outbox?status=dead&per_page=1", Some(&office))
        .await;
    assert_eq!(still_dead.body["total"], n - 1);
}

async fn without_smtp_mail_is_written_to_eml_files(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let jobs = app
        .mail_jobs(None, dir.path(), SenderSettings::default())
        .await;
    jobs.remind().await.unwrap();
    let rows = app.outbox().await;
    assert!(!rows.is_empty());
    assert_eq!(jobs.send().await.unwrap().sent, rows.len());
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), rows.len());
    for (row, file) in rows.iter().zip(&files) {
        assert_eq!(
            file.file_name().unwrap().to_string_lossy(),
            format!("{:08}.eml", row.id)
        );
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains(&format!("Message-ID: {}", message_id(&row.idempotency_key))));
        assert!(text.contains(&format!("To: {}", row.recipient_email)));
    }
}

/// What a sender killed at a failpoint and restarted left behind.
struct AfterKill {
    queued: usize,
    /// Deliveries the sink had when the first process was killed.
    before_kill: Vec<crate::mail_sink::Received>,
    rows: Vec<OutboxRow>,
    sink: SmtpSink,
}

/// The real binary sends the queued reminders against the sink and is
/// killed when it reaches `failpoint` (first message); a second process then
/// sends the rest on its own schedule.
async fn kill_sender_at(backend: &Backend, failpoint: &'static str) -> AfterKill {
    let app = TestApp::spawn(backend).await;
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Written by this process; sent by the binary.
    app.mail_jobs(None, dir.path(), SenderSettings::default())
        .await
        .remind()
        .await
        .unwrap();
    let queued = app.outbox().await.len();
    assert!(queued >= 5, "{queued} mails queued");
    let env: Vec<(String, String)> = [
        ("CIN_DATABASE_URL", app.database_url.as_str()),
        ("CIN_SMTP_HOST", "127.0.0.1"),
        ("CIN_SMTP_PORT", &sink.port.to_string()),
        ("CIN_SMTP_SECURITY", "none"),
        ("CIN_SEND_EVERY_SECONDS", "1"),
        ("CIN_REMIND_EVERY_MINUTES", "0"),
        // A short claim, so that the restarted sender takes the killed
        // one's batch over within the test.
        ("CIN_SMTP_TIMEOUT", "1"),
        ("CIN_MAIL_LEASE_SECONDS", "2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let (path, first_env) = (dir.path().to_path_buf(), env.clone());
    let server = tokio::task::spawn_blocking(move || {
        let mut server = Server::start_with(&path, Some(failpoint), &first_env);
        server.wait_for("failpoint reached");
        server.kill();
    });
    server.await.unwrap();
    let before_kill = sink.received();
    assert_eq!(before_kill.len(), 1, "the first message of the batch went");
    let in_flight = app.outbox().await;
    // The whole batch was claimed by the killed sender.
    assert!(in_flight.iter().all(|r| r.attempts == 1));

    let path = dir.path().to_path_buf();
    let restarted = tokio::task::spawn_blocking(move || Server::start_with(&path, None, &env))
        .await
        .unwrap();
    // Wait (bounded) for the sender to finish: it works on its own schedule.
    let mut rows = Vec::new();
    for _ in 0..600 {
        rows = app.outbox().await;
        if rows.iter().all(|r| r.status == "sent") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    restarted.kill();
    assert!(rows.iter().all(|r| r.status == "sent"), "every mail sent");
    let arrived = arrivals(&sink);
    assert_eq!(
        arrived.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&rows),
        "nothing lost"
    );
    AfterKill {
        queued,
        before_kill,
        rows,
        sink,
    }
}

/// Killed mid-batch between two messages (the first recorded as sent):
/// restarted, it sends the rest of the batch, each message once.
async fn a_sender_killed_mid_batch_loses_nothing_and_doubles_nothing(backend: Backend) {
    let after = kill_sender_at(&backend, "mail-after-sent-recorded").await;
    let arrived = arrivals(&after.sink);
    assert!(arrived.values().all(|&c| c == 1), "none twice: {arrived:?}");
    assert_eq!(after.sink.received().len(), after.queued);
    let first = after.before_kill[0].message_id();
    for row in &after.rows {
        // The recorded one is not sent again; the rest were taken over.
        let expected = if message_id(&row.idempotency_key) == first {
            1
        } else {
            2
        };
        assert_eq!(row.attempts, expected);
    }
    eprintln!(
        "sender killed between messages: {} queued, 1 sent before the kill, {} SMTP deliveries in all, {} distinct Message-IDs",
        after.queued,
        after.sink.received().len(),
        arrived.len()
    );
}

/// Killed in the one window no design closes: the server accepted a message
/// and the database does not know yet. Nothing is lost; that one message
/// goes again once its claim runs out, under the same Message-ID, so the
/// copy is recognisable as a copy.
async fn a_sender_killed_after_the_server_accepted_resends_that_message_under_its_message_id(
    backend: Backend,
) {
    let after = kill_sender_at(&backend, "mail-after-smtp-accepted").await;
    let arrived = arrivals(&after.sink);
    let twice: Vec<&String> = arrived
        .iter()
        .filter(|(_, &c)| c > 1)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        twice,
        vec![&after.before_kill[0].message_id()],
        "only the message in flight went twice"
    );
    assert_eq!(after.sink.received().len(), after.queued + 1);
    // Taken over after the claim ran out: the second attempt of each.
    assert!(after.rows.iter().all(|r| r.attempts == 2));
    eprintln!(
        "sender killed after the server's 250: {} queued, 1 accepted before the kill, {} SMTP deliveries in all, {} distinct Message-IDs, 1 resent copy",
        after.queued,
        after.sink.received().len(),
        arrived.len()
    );
}

async fn reminders_run_from_cron_does_one_pass(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let before = app.outbox().await.len();
    let run = |sink_port: u16| {
        let (url, path) = (app.database_url.clone(), dir.path().to_path_buf());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(binary())
                .args(["--data-dir", path.to_str().unwrap(), "reminders", "run"])
                .env("CIN_DATABASE_URL", url)
                .env("CIN_JWT_SECRET", JWT_SECRET)
                .env("CIN_SMTP_HOST", "127.0.0.1")
                .env("CIN_SMTP_PORT", sink_port.to_string())
                .env("CIN_SMTP_SECURITY", "none")
                .env("CIN_LOG", "warn")
                .output()
                .expect("reminders run")
        })
    };
    let output = run(sink.port).await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = app.outbox().await;
    let reminders = rows.len() - before;
    assert!(reminders > 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "{} mail(s) sent, 0 to retry, 0 dead-lettered",
            rows.len()
        )),
        "{stdout}"
    );
    assert_eq!(sink.received().len(), rows.len());

    // Run again at once: nothing new is due, nothing goes twice.
    let again = run(sink.port).await.unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout)
        .contains("0 reminder(s) and 0 note(s) to the office written; 0 mail(s) sent"));
    assert_eq!(app.outbox().await.len(), rows.len());
    assert_eq!(sink.received().len(), rows.len());
}

/// A sender that stalls past its lease loses the row to another, and its
/// late outcome (or attempt to go on) no longer counts.
async fn a_claim_that_ran_out_is_taken_over_and_the_late_sender_is_fenced_off(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    app.mail_jobs(None, dir.path(), SenderSettings::default())
        .await
        .remind()
        .await
        .unwrap();
    let store = Store::connect(&app.database_url, 2).unwrap();
    let now = app.clock.now();
    let lease = Duration::seconds(300);
    let claim = |at: chrono::DateTime<chrono::Utc>| {
        store
            .write_blocking(|conn| {
                outbox::claim(conn, at.naive_utc(), (at + lease).naive_utc(), 1)
                    .map_err(StoreError::from)
            })
            .unwrap()
    };
    let first = claim(now);
    assert_eq!(first.len(), 1);
    let row = &first[0];
    assert_eq!((row.status.as_str(), row.attempts), ("sending", 1));
    // While the lease holds, nobody else gets the row.
    assert_ne!(claim(now + Duration::seconds(299))[0].id, row.id);

    let later = now + Duration::seconds(301);
    let taken = claim(later);
    assert_eq!((taken[0].id, taken[0].attempts), (row.id, 2));
    let late = |f: fn(&mut DbConnection, i64, i32) -> diesel::QueryResult<bool>| {
        store
            .write_blocking(|conn| f(conn, row.id, 1).map_err(StoreError::from))
            .unwrap()
    };
    assert!(!late(|c, id, a| outbox::renew(
        c,
        id,
        a,
        chrono::Utc::now().naive_utc()
    )));
    assert!(!late(|c, id, a| outbox::mark_sent(
        c,
        id,
        a,
        chrono::Utc::now().naive_utc()
    )));
    assert!(!late(|c, id, a| outbox::mark_failed(
        c, id, a, "late", None
    )));
    let fenced = store
        .write_blocking(|conn| {
            outbox::mark_sent(conn, row.id, 2, later.naive_utc()).map_err(StoreError::from)
        })
        .unwrap();
    assert!(fenced, "the sender holding the claim records the outcome");
}
