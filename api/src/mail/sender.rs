//! The sender: claims due outbox rows, hands each to the mail server, and
//! records the outcome, retrying with exponential backoff and dead-lettering
//! after the last attempt.
//!
//! Each claim is committed before any SMTP is spoken, with a lease. Two
//! senders (two instances) therefore never hold the same row. If a sender
//! dies after the server accepted a message but before the row was marked
//! sent, the row is sent again once its lease runs out: delivery is at least
//! once, and the copy carries the same `Message-ID` as the first (see
//! [`super::message_id`]). Without that retry a crash could lose a mail.

use chrono::{DateTime, Duration, Utc};

use super::Mailer;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::store::outbox;
use crate::store::Store;

#[derive(Debug, Clone, Copy)]
pub struct SenderSettings {
    /// Rows claimed at a time.
    pub batch: i64,
    /// After this many failed attempts a message is dead-lettered.
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles after each further one.
    pub first_retry: Duration,
    /// How long a claim holds before another sender may take the row over;
    /// renewed before each message, so it must exceed one SMTP attempt.
    pub lease: Duration,
}

impl Default for SenderSettings {
    fn default() -> Self {
        SenderSettings {
            batch: 50,
            max_attempts: 8,
            first_retry: Duration::seconds(60),
            lease: Duration::seconds(300),
        }
    }
}

impl SenderSettings {
    /// When to try again after `attempts` failed attempts, or `None` when
    /// that was the last one.
    pub fn retry_at(&self, attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
        Some(now + self.first_retry * 2_i32.pow(doublings))
    }
}

/// What one run of the sender did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    /// Failed attempts that will be retried.
    pub retrying: usize,
    /// Messages dead-lettered now.
    pub dead: usize,
}

/// Delivers every row due at the clock's time, batch by batch, until none is left.
pub async fn deliver_due(
    store: &Store,
    mailer: &Mailer,
    settings: &SenderSettings,
    clock: &dyn Clock,
) -> Result<DeliveryReport, ApiError> {
    let mut report = DeliveryReport::default();
    loop {
        let now = clock.now();
        let (batch, lease_until) = (settings.batch, (now + settings.lease).naive_utc());
        let claimed = store
            .write(move |conn| {
                outbox::claim(conn, now.naive_utc(), lease_until, batch).map_err(ApiError::from)
            })
            .await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        for row in claimed {
            let (id, attempt) = (row.id, row.attempts);
            let lease_until = (clock.now() + settings.lease).naive_utc();
            let held = store
                .write(move |conn| {
                    outbox::renew(conn, id, attempt, lease_until).map_err(ApiError::from)
                })
                .await?;
            if !held {
                tracing::warn!(
                    outbox_id = id,
                    "another sender took this message over while it waited in the batch"
                );
                continue;
            }
            let outcome = mailer.deliver(&row).await;
            let now = clock.now();
            let kept = match outcome {
                Ok(()) => {
                    // The window a crash test aims at: the server has the
                    // message, the database does not know yet.
                    crate::failpoint::hit("mail-after-smtp-accepted");
                    report.sent += 1;
                    let kept = store
                        .write(move |conn| {
                            outbox::mark_sent(conn, id, attempt, now.naive_utc())
                                .map_err(ApiError::from)
                        })
                        .await?;
                    // Between two messages of a batch: a crash here loses nothing.
                    crate::failpoint::hit("mail-after-sent-recorded");
                    kept
                }
                Err(failure) => {
                    let retry_at = if failure.permanent {
                        None
                    } else {
                        settings.retry_at(row.attempts, now)
                    };
                    match retry_at {
                        Some(_) => report.retrying += 1,
                        None => report.dead += 1,
                    }
                    tracing::warn!(
                        outbox_id = id,
                        attempts = row.attempts,
                        error = %failure.message,
                        dead = retry_at.is_none(),
                        "mail not delivered"
                    );
                    store
                        .write(move |conn| {
                            outbox::mark_failed(
                                conn,
                                id,
                                attempt,
                                &failure.message,
                                retry_at.map(|t| t.naive_utc()),
                            )
                            .map_err(ApiError::from)
                        })
                        .await?
                }
            };
            if !kept {
                tracing::warn!(
                    outbox_id = id,
                    "the claim ran out while sending; another sender has taken the message over"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_until_the_last_attempt() {
        let settings = SenderSettings {
            max_attempts: 4,
            first_retry: Duration::seconds(60),
            ..SenderSettings::default()
        };
        let now = Utc::now();
        let waits: Vec<Option<i64>> = (1..=4)
            .map(|n| settings.retry_at(n, now).map(|t| (t - now).num_seconds()))
            .collect();
        assert_eq!(waits, vec![Some(60), Some(120), Some(240), None]);
    }
}
