//! The office's figures and the yearly export.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::sla;
use crate::domain::business_days::{self, jst};
use crate::domain::consultation::{
    ConsultationKind, ConsultationState, Lateness, Party, SlaLimits,
};
use crate::error::ApiError;
use crate::store::consultations::{self as store, ConsultationRow};
use crate::store::DbConnection;

/// Inquiries submitted in one month (Japan time).
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthCount {
    #[schema(example = "2026-11")]
    pub month: String,
    pub submitted: i64,
}

/// Something someone should have done on an open inquiry by now.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueDuty {
    pub consultation_id: uuid::Uuid,
    pub subject: String,
    /// The registry, when the duty is about one.
    pub registry_code: Option<String>,
    /// `office`, `requester` or `holder`.
    #[schema(example = "holder")]
    pub who_must_act: String,
    /// The state the duty belongs to (`decide`: every registry answered).
    pub step: String,
    /// When the clock started: the state was entered or the holder last wrote.
    pub since: DateTime<Utc>,
    /// When the time limit (in Japanese business days) ran out.
    pub due: DateTime<Utc>,
    /// Past the limit by the escalation margin: the office has been told.
    pub far_overdue: bool,
    pub business_days_late: u32,
}

/// The office's figures for the desk.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationStats {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Inquiries submitted in the range.
    pub total: i64,
    /// Every state, with the number of inquiries of the range in it now.
    pub by_status: BTreeMap<String, i64>,
    /// Every kind, with the number of inquiries of the range.
    pub by_kind: BTreeMap<String, i64>,
    /// Months with submissions, in order.
    pub by_month: Vec<MonthCount>,
    /// Calendar days from submission to the first answer by the office or a
    /// holder (a move or a shared message); null when none was answered.
    pub median_days_to_first_response: Option<f64>,
    /// Calendar days from submission to agreed, declined or concluded.
    pub median_days_to_decision: Option<f64>,
    /// Open inquiries (of any date) past a time limit now, oldest first.
    pub overdue: Vec<OverdueDuty>,
}

/// `[start, end)` in UTC for submission days in Japan, both included.
/// Clamped to years the databases compare safely.
pub fn bounds(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (NaiveDateTime, NaiveDateTime) {
    let floor = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");
    let ceiling = NaiveDate::from_ymd_opt(9000, 1, 1).expect("a date");
    let start = from.unwrap_or(floor).clamp(floor, ceiling);
    let end = to
        .map(|d| d.clamp(floor, ceiling) + Duration::days(1))
        .unwrap_or(ceiling);
    let utc = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight") - Duration::hours(9);
    (utc(start), utc(end).max(utc(start)))
}

/// Calendar days between two instants, to one decimal.
pub fn days(from: NaiveDateTime, to: NaiveDateTime) -> f64 {
    ((to - from).num_seconds() as f64 / 86_400.0 * 10.0).round() / 10.0
}

/// The median, to one decimal; `None` for no values.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    let m = if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    };
    Some((m * 10.0).round() / 10.0)
}

fn party_name(party: Party) -> &'static str {
    match party {
        Party::Office => "office",
        Party::Requester => "requester",
        Party::Holder => "holder",
    }
}

/// The figures for inquiries submitted between `from` and `to` (Japan days,
/// both included), and the duties overdue at `now`.
pub fn stats(
    conn: &mut DbConnection,
    from_day: Option<NaiveDate>,
    to_day: Option<NaiveDate>,
    limits: &SlaLimits,
    now: DateTime<Utc>,
) -> Result<ConsultationStats, ApiError> {
    let (from, to) = bounds(from_day, to_day);
    let rows = store::created_between(conn, from, to)?;
    let mut by_status: BTreeMap<String, i64> = ConsultationState::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    let mut by_kind: BTreeMap<String, i64> = ConsultationKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), 0))
        .collect();
    let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        *by_status.entry(row.status.clone()).or_default() += 1;
        *by_kind.entry(row.kind.clone()).or_default() += 1;
        let month = row
            .created_at
            .and_utc()
            .with_timezone(&jst())
            .format("%Y-%m")
            .to_string();
        *by_month.entry(month).or_default() += 1;
    }
    let first: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.first_response_at.map(|t| days(r.created_at, t)))
        .collect();
    let decided: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.decided_at.map(|t| days(r.created_at, t)))
        .collect();
    let mut overdue = Vec::new();
    for (row, _, duties) in sla::overdue(conn, limits, now)? {
        for duty in duties {
            overdue.push(OverdueDuty {
                consultation_id: row.id.parse().map_err(ApiError::internal)?,
                subject: row.subject.clone(),
                registry_code: duty.registry_code,
                who_must_act: party_name(duty.party).to_string(),
                step: duty.step.to_string(),
                since: duty.since,
                due: duty.due,
                far_overdue: duty.lateness == Lateness::FarOverdue,
                business_days_late: business_days::business_days_between(duty.due, now),
            });
        }
    }
    Ok(ConsultationStats {
        from: from_day,
        to: to_day,
        total: rows.len() as i64,
        by_status,
        by_kind,
        by_month: by_month
            .into_iter()
            .map(|(month, submitted)| MonthCount { month, submitted })
            .collect(),
        median_days_to_first_response: median(first),
        median_days_to_decision: median(decided),
        overdue,
    })
}

/// One CSV field: quoted when needed, and never read as a formula.
fn field(value: &str) -> String {
    let mut value = value.to_string();
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        value.insert(0, '\'');
    }
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn stamp(t: Option<NaiveDateTime>) -> String {
    t.map(|t| {
        t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
    .unwrap_or_default()
}

/// The CSV of the inquiries submitted in `[from, to)`, oldest first.
pub fn csv(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<String, ApiError> {
    let rows: Vec<ConsultationRow> = store::created_between(conn, from, to)?;
    let mut ids: Vec<String> = rows.iter().map(|r| r.requester_id.clone()).collect();
    ids.extend(rows.iter().filter_map(|r| r.assignee_id.clone()));
    ids.sort();
    ids.dedup();
    let people = store::users_by_id(conn, &ids)?;
    let email = |id: &str| {
        people
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.email.clone())
            .unwrap_or_default()
    };
    let mut out = String::from("\u{feff}");
    out.push_str("id,submitted_at,organisation,requester_email,kind,subject,status,registries,assignee_email,first_response_at,decided_at,days_to_first_response,days_to_decision\r\n");
    for row in &rows {
        let codes: Vec<String> = store::targets(conn, &row.id)?
            .into_iter()
            .map(|t| t.registry_code)
            .collect();
        let line = [
            row.id.clone(),
            stamp(Some(row.created_at)),
            row.organisation.clone().unwrap_or_default(),
            email(&row.requester_id),
            row.kind.clone(),
            row.subject.clone(),
            row.status.clone(),
            codes.join(" "),
            row.assignee_id.as_deref().map(email).unwrap_or_default(),
            stamp(row.first_response_at),
            stamp(row.decided_at),
            row.first_response_at
                .map(|t| days(row.created_at, t).to_string())
                .unwrap_or_default(),
            row.decided_at
                .map(|t| days(row.created_at, t).to_string())
                .unwrap_or_default(),
        ]
        .iter()
        .map(|v| field(v))
        .collect::<Vec<_>>()
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_days() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let a = NaiveDate::from_ymd_opt(2027, 1, 4)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(days(a, a + Duration::hours(36)), 1.5);
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=1+1"), "'=1+1");
    }

    #[test]
    fn ranges_are_japan_days() {
        let d = |m, day| NaiveDate::from_ymd_opt(2027, m, day).unwrap();
        let (from, to) = bounds(Some(d(1, 1)), Some(d(1, 31)));
        assert_eq!(from.to_string(), "2026-12-31 15:00:00");
        assert_eq!(to.to_string(), "2027-01-31 15:00:00");
        let (from, to) = bounds(Some(d(2, 1)), Some(d(1, 1)));
        assert_eq!(from, to);
    }
}
