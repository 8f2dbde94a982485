//! The in-process scheduler: the reminder pass and the mail sender on their
//! intervals. Every instance may run both; the outbox's keys and claims keep
//! that to one mail per step and one delivery per mail.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::mail::sender::{self, DeliveryReport, SenderSettings};
use crate::mail::Mailer;
use crate::reminders::{self, ReminderReport, ReminderSettings};
use crate::store::Store;

/// What the reminder pass and the sender need.
pub struct MailJobs {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Signs the confirmation links.
    pub keys: TokenKeys,
    pub reminders: ReminderSettings,
    pub mailer: Mailer,
    pub sender: SenderSettings,
}

impl MailJobs {
    /// One reminder pass at the clock's time.
    pub async fn remind(self: &Arc<Self>) -> Result<ReminderReport, ApiError> {
        let jobs = self.clone();
        tokio::task::spawn_blocking(move || {
            reminders::run_pass(&jobs.store, &jobs.reminders, &jobs.keys, jobs.clock.now())
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Delivers what is due in the outbox.
    pub async fn send(&self) -> Result<DeliveryReport, ApiError> {
        sender::deliver_due(&self.store, &self.mailer, &self.sender, self.clock.as_ref()).await
    }
}

/// Starts the loops; an interval of zero leaves that job off. Each loop ends
/// when `stopped` turns true, after the pass or batch it is in.
pub fn spawn(
    jobs: Arc<MailJobs>,
    send_every: Duration,
    remind_every: Duration,
    stopped: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if !remind_every.is_zero() {
        let jobs = jobs.clone();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(remind_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                match jobs.remind().await {
                    Ok(report) if report.reminders + report.escalations > 0 => {
                        tracing::info!(?report, "reminder pass");
                        // Reminders need not wait for the sender's next turn.
                        if let Err(e) = jobs.send().await {
                            tracing::warn!(error = %e, "mail sender failed; retrying later");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "reminder pass failed; retrying later"),
                }
            }
        }));
    }
    if !send_every.is_zero() {
        let mut stopped = stopped;
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(send_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                match jobs.send().await {
                    Ok(report) if report != DeliveryReport::default() => {
                        tracing::info!(?report, "mail sender");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "mail sender failed; retrying later"),
                }
            }
        }));
    }
    tasks
}
