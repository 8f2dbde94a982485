//! Service levels: who holds the ball on each open inquiry, since when, and
//! whether their time limit (in Japanese business days) has run out. The
//! reminder pass writes reminders to the outbox, each once.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::notify::{self, Notice, Relation};
use super::{stored_answer, stored_state};
use crate::domain::business_days;
use crate::domain::consultation::{
    inquiry_ball, lateness, ConsultationState, Lateness, Party, RegistryAnswerState, SlaLimits,
};
use crate::error::ApiError;
use crate::store::consultations::{self as store, ConsultationRow, Target};
use crate::store::{registries, DbConnection, Store};

/// One thing someone must do on an inquiry, with its clock.
#[derive(Debug, Clone)]
pub struct Duty {
    pub party: Party,
    /// The registry, when the duty is about one.
    pub registry_code: Option<String>,
    pub registry_id: Option<String>,
    /// The state (or `decide`) the duty belongs to.
    pub step: &'static str,
    /// When the clock started: entering the state, or the holder's last word.
    pub since: DateTime<Utc>,
    pub limit_days: u32,
    pub due: DateTime<Utc>,
    pub lateness: Lateness,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The duties on an inquiry and how late each is.
pub fn duties(
    row: &ConsultationRow,
    targets: &[Target],
    limits: &SlaLimits,
    now: DateTime<Utc>,
) -> Result<Vec<Duty>, ApiError> {
    let state = stored_state(&row.status)?;
    let mut found: Vec<(Party, Option<&Target>, &'static str, DateTime<Utc>)> = Vec::new();
    if state == ConsultationState::Forwarded {
        let mut open = false;
        let mut last_change = utc(row.status_changed_at);
        for target in targets {
            let answer = stored_answer(&target.row.status)?;
            if answer == RegistryAnswerState::Pending {
                continue;
            }
            last_change = last_change.max(utc(target.row.status_changed_at));
            if let Some(party) = answer.ball(target.row.holder_unreachable) {
                open = true;
                let since = if party == Party::Holder {
                    utc(target.row.last_activity_at)
                } else {
                    utc(target.row.status_changed_at)
                };
                found.push((party, Some(target), answer.as_str(), since));
            }
        }
        if !open {
            found.push((Party::Office, None, "decide", last_change));
        }
    } else if let Some(party) = inquiry_ball(state, false) {
        found.push((party, None, state.as_str(), utc(row.status_changed_at)));
    }
    Ok(found
        .into_iter()
        .map(|(party, target, step, since)| {
            let limit_days = limits.limit(party, state == ConsultationState::Submitted);
            Duty {
                party,
                registry_code: target.map(|t| t.registry_code.clone()),
                registry_id: target.map(|t| t.row.registry_id.clone()),
                step,
                since,
                limit_days,
                due: business_days::deadline(since, limit_days),
                lateness: lateness(since, limit_days, limits.escalation_days, now),
            }
        })
        .collect())
}

pub const OPEN_STATES: [&str; 4] = [
    "submitted",
    "in_triage",
    "waiting_for_requester",
    "forwarded",
];

/// An open inquiry, its targets and its late duties.
pub type LateInquiry = (ConsultationRow, Vec<Target>, Vec<Duty>);

/// Every open inquiry with its late duties, oldest inquiry first.
pub fn overdue(
    conn: &mut DbConnection,
    limits: &SlaLimits,
    now: DateTime<Utc>,
) -> Result<Vec<LateInquiry>, ApiError> {
    let mut out = Vec::new();
    for row in store::in_states(conn, &OPEN_STATES)? {
        let targets = store::targets(conn, &row.id)?;
        let late: Vec<Duty> = duties(&row, &targets, limits, now)?
            .into_iter()
            .filter(|d| d.lateness != Lateness::OnTime)
            .collect();
        if !late.is_empty() {
            out.push((row, targets, late));
        }
    }
    Ok(out)
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SlaReport {
    /// Late duties found.
    pub overdue: usize,
    /// Reminders written now (earlier ones are not written again).
    pub reminders: usize,
    /// Mails telling the office about far overdue duties, written now.
    pub escalations: usize,
}

/// Writes the reminders that are due at `now` and not yet written: one per
/// duty, per clock start, per level (overdue, far overdue), per recipient.
pub fn run_sla_pass(
    store_handle: &Store,
    limits: SlaLimits,
    now: DateTime<Utc>,
) -> Result<SlaReport, ApiError> {
    store_handle.write_blocking(move |conn| {
        let mut report = SlaReport::default();
        for (row, targets, late) in overdue(conn, &limits, now)? {
            for duty in late {
                report.overdue += 1;
                let level = match duty.lateness {
                    Lateness::FarOverdue => "far",
                    _ => "overdue",
                };
                let key = format!(
                    "sla:{}:{}:{}:{}:{}",
                    row.id,
                    duty.registry_code.as_deref().unwrap_or("-"),
                    duty.step,
                    duty.since.timestamp(),
                    level
                );
                let reminder = Notice::Reminder {
                    registry_code: duty.registry_code.clone(),
                    due: duty.due,
                };
                for (user, relation) in ball_holders(conn, &row, &duty)? {
                    if notify::write(conn, &row, &targets, &user, &relation, &reminder, &key, now)?
                    {
                        report.reminders += 1;
                    }
                }
                if duty.lateness == Lateness::FarOverdue && duty.party != Party::Office {
                    let escalation = Notice::Escalation {
                        registry_code: duty.registry_code.clone(),
                        due: duty.due,
                        party: duty.party,
                    };
                    for user in notify::office_people(conn, &row)? {
                        if notify::write(
                            conn,
                            &row,
                            &targets,
                            &user,
                            &Relation::Office,
                            &escalation,
                            &format!("{key}:office"),
                            now,
                        )? {
                            report.escalations += 1;
                        }
                    }
                }
            }
        }
        Ok(report)
    })
}

/// The people who must act on a duty.
fn ball_holders(
    conn: &mut DbConnection,
    row: &ConsultationRow,
    duty: &Duty,
) -> Result<Vec<(crate::store::users::UserRow, Relation)>, ApiError> {
    Ok(match duty.party {
        Party::Office => notify::office_people(conn, row)?
            .into_iter()
            .map(|u| (u, Relation::Office))
            .collect(),
        Party::Requester => store::users_by_id(conn, std::slice::from_ref(&row.requester_id))?
            .into_iter()
            .map(|u| (u, Relation::Requester))
            .collect(),
        Party::Holder => {
            let (Some(id), Some(code)) = (&duty.registry_id, &duty.registry_code) else {
                return Ok(Vec::new());
            };
            registries::holders(conn, id)?
                .into_iter()
                .map(|u| (u, Relation::Holder(vec![code.clone()])))
                .collect()
        }
    })
}
