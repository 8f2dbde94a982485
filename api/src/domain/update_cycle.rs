//! The periodic update of a registry entry: when it is due, what its update
//! status is, and which reminder step applies at a given time. No I/O.

use chrono::{DateTime, Duration, Months, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How often entries must be confirmed and when holders are reminded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderPolicy {
    /// A confirmation holds for this many months.
    pub cycle_months: u32,
    /// The first reminder goes this many days before the due date.
    pub before_days: u32,
    /// While overdue, another reminder every this many days.
    pub overdue_every_days: u32,
    /// This many days overdue, the office is told.
    pub escalate_after_days: u32,
}

impl Default for ReminderPolicy {
    fn default() -> Self {
        ReminderPolicy {
            cycle_months: 12,
            before_days: 30,
            overdue_every_days: 14,
            escalate_after_days: 60,
        }
    }
}

/// Where an entry stands in its cycle (vocabulary `update_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Confirmed within the cycle, and not yet near its end.
    Current,
    /// Within the reminder window before the due date.
    Due,
    /// Past the due date without a confirmation.
    Overdue,
}

impl UpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Current => "current",
            UpdateStatus::Due => "due",
            UpdateStatus::Overdue => "overdue",
        }
    }

    pub fn parse(s: &str) -> Option<UpdateStatus> {
        match s {
            "current" => Some(UpdateStatus::Current),
            "due" => Some(UpdateStatus::Due),
            "overdue" => Some(UpdateStatus::Overdue),
            _ => None,
        }
    }
}

/// One reminder of a cycle. Each is sent at most once per cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderStep {
    /// `before_days` ahead of the due date.
    Ahead,
    /// On the due date.
    DueDate,
    /// The n-th reminder while overdue (n from 1), every `overdue_every_days`.
    Overdue(u32),
    /// To the office, `escalate_after_days` after the due date.
    Escalation,
}

impl ReminderStep {
    /// A stable name, part of the reminder's idempotency key.
    pub fn key(self) -> String {
        match self {
            ReminderStep::Ahead => "ahead".to_string(),
            ReminderStep::DueDate => "due".to_string(),
            ReminderStep::Overdue(n) => format!("overdue-{n}"),
            ReminderStep::Escalation => "escalation".to_string(),
        }
    }
}

impl ReminderPolicy {
    /// Refuses policies whose reminder window is longer than the cycle itself.
    pub fn check(&self) -> Result<(), String> {
        if self.cycle_months == 0 {
            return Err("the update cycle must be at least one month".into());
        }
        if self.overdue_every_days == 0 || self.escalate_after_days == 0 {
            return Err(
                "the overdue interval and the escalation delay must be at least one day".into(),
            );
        }
        if i64::from(self.before_days) >= i64::from(self.cycle_months) * 28 {
            return Err("the first reminder must come after the cycle starts".into());
        }
        Ok(())
    }

    /// When an entry confirmed (or created) at `cycle_start` is due again.
    pub fn due_at(&self, cycle_start: DateTime<Utc>) -> DateTime<Utc> {
        cycle_start
            .checked_add_months(Months::new(self.cycle_months))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    pub fn status(&self, cycle_start: DateTime<Utc>, now: DateTime<Utc>) -> UpdateStatus {
        let due = self.due_at(cycle_start);
        if now >= due {
            UpdateStatus::Overdue
        } else if now >= due - Duration::days(self.before_days.into()) {
            UpdateStatus::Due
        } else {
            UpdateStatus::Current
        }
    }

    /// When a step of the cycle that is due at `due` falls.
    pub fn step_at(&self, due: DateTime<Utc>, step: ReminderStep) -> DateTime<Utc> {
        match step {
            ReminderStep::Ahead => due - Duration::days(self.before_days.into()),
            ReminderStep::DueDate => due,
            ReminderStep::Overdue(n) => {
                due + Duration::days(i64::from(self.overdue_every_days) * i64::from(n))
            }
            ReminderStep::Escalation => due + Duration::days(self.escalate_after_days.into()),
        }
    }

    /// The holders' reminder that applies at `now`: the latest step reached,
    /// if any. A step missed while no pass ran is not sent late beside a
    /// newer one: the holder hears once, about where things stand now.
    pub fn holder_step(
        &self,
        cycle_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<ReminderStep> {
        let due = self.due_at(cycle_start);
        match self.status(cycle_start, now) {
            UpdateStatus::Current => None,
            UpdateStatus::Due => Some(ReminderStep::Ahead),
            UpdateStatus::Overdue => {
                let days = (now - due).num_days();
                let n =
                    u32::try_from(days / i64::from(self.overdue_every_days)).unwrap_or(u32::MAX);
                Some(if n == 0 {
                    ReminderStep::DueDate
                } else {
                    ReminderStep::Overdue(n)
                })
            }
        }
    }

    /// Whether the office must be told about this cycle at `now`.
    pub fn escalated(&self, cycle_start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now >= self.step_at(self.due_at(cycle_start), ReminderStep::Escalation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_cycle_is_twelve_calendar_months() {
        let policy = ReminderPolicy::default();
        assert_eq!(policy.due_at(at(2025, 3, 31)), at(2026, 3, 31));
        // A leap day's cycle ends on the last day of February.
        assert_eq!(policy.due_at(at(2024, 2, 29)), at(2025, 2, 28));
    }

    #[test]
    fn status_moves_from_current_to_due_to_overdue() {
        let policy = ReminderPolicy::default();
        let start = at(2025, 4, 1);
        assert_eq!(policy.status(start, at(2026, 3, 1)), UpdateStatus::Current);
        assert_eq!(policy.status(start, at(2026, 3, 2)), UpdateStatus::Due);
        assert_eq!(policy.status(start, at(2026, 4, 1)), UpdateStatus::Overdue);
    }

    #[test]
    fn holder_steps_follow_the_policy() {
        let policy = ReminderPolicy::default();
        let start = at(2025, 4, 1);
        let due = at(2026, 4, 1);
        let step = |d: DateTime<Utc>| policy.holder_step(start, d);
        assert_eq!(step(due - Duration::days(31)), None);
        assert_eq!(step(due - Duration::days(30)), Some(ReminderStep::Ahead));
        assert_eq!(step(due - Duration::seconds(1)), Some(ReminderStep::Ahead));
        assert_eq!(step(due), Some(ReminderStep::DueDate));
        assert_eq!(step(due + Duration::days(13)), Some(ReminderStep::DueDate));
        assert_eq!(
            step(due + Duration::days(14)),
            Some(ReminderStep::Overdue(1))
        );
        assert_eq!(
            step(due + Duration::days(60)),
            Some(ReminderStep::Overdue(4))
        );
        assert!(!policy.escalated(start, due + Duration::days(59)));
        assert!(policy.escalated(start, due + Duration::days(60)));
    }

    #[test]
    fn step_keys_are_distinct() {
        let keys: std::collections::BTreeSet<String> = [
            ReminderStep::Ahead,
            ReminderStep::DueDate,
            ReminderStep::Overdue(1),
            ReminderStep::Overdue(2),
            ReminderStep::Escalation,
        ]
        .iter()
        .map(|s| s.key())
        .collect();
        assert_eq!(keys.len(), 5);
    }

    #[test]
    fn windows_longer_than_the_cycle_are_refused() {
        let policy = ReminderPolicy {
            cycle_months: 1,
            before_days: 30,
            ..ReminderPolicy::default()
        };
        assert!(policy.check().is_err());
        assert!(ReminderPolicy::default().check().is_ok());
    }
}
