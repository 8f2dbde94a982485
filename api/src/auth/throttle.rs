//! Sign-in throttling: a burst of attempts per account and per client
//! address, then one more each time a share of the window passes (GCRA, as
//! `governor` counts it). Every attempt counts, right or wrong, so that
//! guessing is slow whether it targets one account from many places or many
//! accounts from one.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{NotUntil, Quota, RateLimiter};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Past this many remembered keys, those whose limit has fully recovered are forgotten.
const KEYS_KEPT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    pub per_account: NonZeroU32,
    pub per_address: NonZeroU32,
    /// The time in which a full burst is earned back.
    pub window: Duration,
}

pub struct LoginThrottle {
    accounts: Keyed<String>,
    addresses: Keyed<IpAddr>,
    clock: DefaultClock,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> LoginThrottle {
        let quota = |burst: NonZeroU32| {
            let every = settings.window / burst.get();
            Quota::with_period(every.max(Duration::from_millis(1)))
                .expect("a non-zero period")
                .allow_burst(burst)
        };
        let clock = DefaultClock::default();
        LoginThrottle {
            accounts: RateLimiter::dashmap_with_clock(quota(settings.per_account), clock.clone()),
            addresses: RateLimiter::dashmap_with_clock(quota(settings.per_address), clock.clone()),
            clock,
        }
    }

    /// Counts one attempt for the account (a normalised email) and the
    /// address; `Err` holds the whole seconds to wait.
    pub fn attempt(&self, account: &str, address: Option<IpAddr>) -> Result<(), u64> {
        if self.accounts.len() > KEYS_KEPT {
            self.accounts.retain_recent();
        }
        if self.addresses.len() > KEYS_KEPT {
            self.addresses.retain_recent();
        }
        if let Some(address) = address {
            self.addresses
                .check_key(&address)
                .map_err(|n| self.wait(n))?;
        }
        self.accounts
            .check_key(&account.to_string())
            .map_err(|n| self.wait(n))
    }

    fn wait(&self, not_until: NotUntil<<DefaultClock as Clock>::Instant>) -> u64 {
        let wait = not_until.wait_time_from(self.clock.now());
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_account: u32, per_address: u32) -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            per_account: NonZeroU32::new(per_account).unwrap(),
            per_address: NonZeroU32::new(per_address).unwrap(),
            window: Duration::from_secs(3600),
        })
    }

    #[test]
    fn an_account_is_throttled_after_its_burst() {
        let throttle = throttle(2, 100);
        let here = Some("192.0.2.1".parse().unwrap());
        assert!(throttle.attempt("a@example.jp", here).is_ok());
        assert!(throttle.attempt("a@example.jp", here).is_ok());
        let wait = throttle.attempt("a@example.jp", here).unwrap_err();
        // One attempt is earned back every half hour.
        assert!((1..=1800).contains(&wait), "{wait}");
        assert!(throttle.attempt("b@example.jp", here).is_ok());
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let throttle = throttle(100, 2);
        let here = Some("192.0.2.1".parse().unwrap());
        assert!(throttle.attempt("a@example.jp", here).is_ok());
        assert!(throttle.attempt("b@example.jp", here).is_ok());
        assert!(throttle.attempt("c@example.jp", here).is_err());
        assert!(throttle
            .attempt("c@example.jp", Some("192.0.2.2".parse().unwrap()))
            .is_ok());
    }
}
