//! Periodic updates: the reminder pass, confirmations, and the office's list
//! of due and overdue entries. Shared by the HTTP routes, the scheduler and
//! `reminders run`.

pub mod mail;

use chrono::{DateTime, Utc};

use crate::auth::tokens::{TokenError, TokenKeys};
use crate::catalogue::{self, Change, RevisionAction};
use crate::domain::registry::{PublicationState, RegistryRecord};
use crate::domain::update_cycle::{ReminderPolicy, ReminderStep, UpdateStatus};
use crate::error::{ApiError, ErrorCode};
use crate::store::consultations::users_with_role;
use crate::store::outbox::{self, NewOutboxMail};
use crate::store::registries::{self, RegistryRow};
use crate::store::users::UserRow;
use crate::store::{changes, DbConnection, Store};
use mail::{Composed, ReminderFacts};

/// The policy and what the mails need to build their links.
#[derive(Debug, Clone)]
pub struct ReminderSettings {
    pub policy: ReminderPolicy,
    /// Base URL of the service, without a trailing slash.
    pub public_url: String,
    pub link_validity: chrono::Duration,
}

/// Where a registry's current cycle started: its last confirmation, or its creation.
pub fn cycle_start(row: &RegistryRow) -> DateTime<Utc> {
    row.last_confirmed_at.unwrap_or(row.created_at).and_utc()
}

/// What one reminder pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReminderReport {
    /// Published registries looked at.
    pub registries: usize,
    /// Registries whose update status changed (each appended to the change log).
    pub status_changes: usize,
    /// Reminders to holders written now.
    pub reminders: usize,
    /// Notes to the office written now.
    pub escalations: usize,
}

/// Registries per transaction of the pass.
const PAGE: i64 = 500;

/// Refreshes every published registry's update status and writes the
/// reminders due at `now`. Each reminder's idempotency key names the
/// registry, the cycle, the step and the recipient, so however often and on
/// however many instances the pass runs, each is written once.
pub fn run_pass(
    store: &Store,
    settings: &ReminderSettings,
    keys: &TokenKeys,
    now: DateTime<Utc>,
) -> Result<ReminderReport, ApiError> {
    let mut report = ReminderReport::default();
    let mut after = String::new();
    loop {
        let (page_report, last) = store.write_blocking(|conn| {
            let rows = registries::published_after(conn, &after, PAGE)?;
            let mut page = ReminderReport::default();
            for row in &rows {
                remind_one(conn, row, settings, keys, now, &mut page)?;
            }
            Ok::<_, ApiError>((page, rows.last().map(|r| r.registry_code.clone())))
        })?;
        report.registries += page_report.registries;
        report.status_changes += page_report.status_changes;
        report.reminders += page_report.reminders;
        report.escalations += page_report.escalations;
        match last {
            Some(code) => after = code,
            None => return Ok(report),
        }
    }
}

fn remind_one(
    conn: &mut DbConnection,
    row: &RegistryRow,
    settings: &ReminderSettings,
    keys: &TokenKeys,
    now: DateTime<Utc>,
    report: &mut ReminderReport,
) -> Result<(), ApiError> {
    let policy = &settings.policy;
    let start = cycle_start(row);
    report.registries += 1;
    let status = policy.status(start, now);
    if registries::set_update_status(conn, &row.id, status.as_str())? {
        // The search facet follows the status through the change log.
        changes::append(conn, &row.registry_code, now.naive_utc())?;
        report.status_changes += 1;
    }
    let step = policy.holder_step(start, now);
    let escalate = policy.escalated(start, now);
    if step.is_none() && !escalate {
        return Ok(());
    }
    let record: RegistryRecord = serde_json::from_str(&row.record).map_err(ApiError::internal)?;
    let due = policy.due_at(start);
    let facts = ReminderFacts {
        registry_code: &row.registry_code,
        name_ja: &record.name_ja,
        name_en: record.name_en.as_deref(),
        last_confirmed_at: row.last_confirmed_at.map(|t| t.and_utc()),
        due,
        days_overdue: (now - due).num_days().max(0),
        registry_url: format!(
            "{}/api/v1/registries/{}",
            settings.public_url, row.registry_code
        ),
    };
    let cycle_key = format!("update:{}:{}", row.id, start.timestamp());
    let holders = registries::holders(conn, &row.id)?;
    if let Some(step) = step {
        for holder in &holders {
            let ja = holder.language != "en";
            let token =
                keys.issue_confirmation(&row.id, &holder.id, start, now, settings.link_validity);
            let confirm_url = format!("{}/confirm?token={token}", settings.public_url);
            let mail = mail::holder_reminder(
                ja,
                &holder.display_name,
                step,
                &facts,
                &confirm_url,
                settings.link_validity.num_days(),
            );
            let key = format!("{cycle_key}:{}:{}", step.key(), holder.id);
            if enqueue(
                conn,
                row,
                holder,
                "registry.update_reminder",
                mail,
                key,
                now,
            )? {
                report.reminders += 1;
            }
        }
    }
    if escalate {
        for office in users_with_role(conn, "office")? {
            let mail = mail::office_escalation(office.language != "en", &facts, holders.len());
            let key = format!(
                "{cycle_key}:{}:{}",
                ReminderStep::Escalation.key(),
                office.id
            );
            if enqueue(
                conn,
                row,
                &office,
                "registry.update_escalation",
                mail,
                key,
                now,
            )? {
                report.escalations += 1;
            }
        }
    }
    Ok(())
}

fn enqueue(
    conn: &mut DbConnection,
    row: &RegistryRow,
    to: &UserRow,
    kind: &str,
    mail: Composed,
    key: String,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let at = now.naive_utc();
    Ok(outbox::enqueue(
        conn,
        &NewOutboxMail {
            recipient_email: to.email.clone(),
            language: if to.language == "en" { "en" } else { "ja" }.to_string(),
            subject: mail.subject,
            body_text: mail.text,
            body_html: Some(mail.html),
            kind: kind.to_string(),
            related_type: "registry".to_string(),
            related_id: row.registry_code.clone(),
            idempotency_key: key,
            status: outbox::PENDING.to_string(),
            attempts: 0,
            next_attempt_at: at,
            created_at: at,
        },
    )?)
}

/// Records "no change": a confirmation revision that starts a new cycle.
pub fn confirm(
    conn: &mut DbConnection,
    current: &RegistryRow,
    actor_id: &str,
    now: DateTime<Utc>,
) -> Result<RegistryRow, ApiError> {
    let record: RegistryRecord =
        serde_json::from_str(&current.record).map_err(ApiError::internal)?;
    let state = PublicationState::parse(&current.publication_state).ok_or_else(|| {
        ApiError::internal(format!(
            "unknown publication state {}",
            current.publication_state
        ))
    })?;
    catalogue::save(
        conn,
        current,
        Change {
            record,
            state,
            action: RevisionAction::Confirm,
            confirms: true,
            actor_id: Some(actor_id),
            now,
        },
    )
}

/// Confirms the registry a reminder's link names, once: the link names the
/// cycle it was sent for, and confirming starts a new one.
pub fn confirm_with_link(
    conn: &mut DbConnection,
    keys: &TokenKeys,
    token: &str,
    now: DateTime<Utc>,
) -> Result<RegistryRow, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::ConfirmationLinkInvalid,
            "This confirmation link is not one we sent, or its registry is no longer in the catalogue",
        )
    };
    let claims = keys.verify_confirmation(token, now).map_err(|e| match e {
        TokenError::Invalid => invalid(),
        TokenError::Expired => ApiError::new(
            ErrorCode::ConfirmationLinkExpired,
            "This confirmation link has expired; sign in and confirm the entry, or wait for the next reminder",
        ),
    })?;
    let row = registries::find_by_id(conn, &claims.sub)?
        .filter(|r| r.publication_state == PublicationState::Published.as_str())
        .ok_or_else(invalid)?;
    if !registries::is_holder(conn, &row.id, &claims.uid)? {
        return Err(ApiError::forbidden(format!(
            "The person this link was sent to no longer holds {}",
            row.registry_code
        )));
    }
    if cycle_start(&row).timestamp() != claims.cyc {
        let when = row
            .last_confirmed_at
            .map(|t| t.and_utc().to_rfc3339())
            .unwrap_or_default();
        return Err(ApiError::new(
            ErrorCode::ConfirmationLinkUsed,
            format!(
                "{} was confirmed or updated after this link was sent (last confirmed {when}); the link is used up",
                row.registry_code
            ),
        ));
    }
    confirm(conn, &row, &claims.uid, now)
}

/// A published registry as the office's list of updates shows it.
#[derive(Debug, Clone)]
pub struct UpdateState {
    pub row: RegistryRow,
    pub status: UpdateStatus,
    pub due: DateTime<Utc>,
    pub escalated: bool,
    pub holders: Vec<UserRow>,
}

/// Published registries whose status (at `now`) is one of `statuses`, the
/// earliest due first.
pub fn update_states(
    conn: &mut DbConnection,
    policy: &ReminderPolicy,
    statuses: &[UpdateStatus],
    now: DateTime<Utc>,
) -> Result<Vec<UpdateState>, ApiError> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let rows = registries::published_after(conn, &after, PAGE)?;
        let Some(last) = rows.last() else { break };
        after = last.registry_code.clone();
        for row in rows {
            let start = cycle_start(&row);
            let status = policy.status(start, now);
            if !statuses.contains(&status) {
                continue;
            }
            out.push(UpdateState {
                holders: registries::holders(conn, &row.id)?,
                status,
                due: policy.due_at(start),
                escalated: policy.escalated(start, now),
                row,
            });
        }
    }
    out.sort_by(|a, b| (a.due, &a.row.registry_code).cmp(&(b.due, &b.row.registry_code)));
    Ok(out)
}
