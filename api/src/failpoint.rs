//! Named places where a fault test can stop the process: `CIN_FAILPOINT=<name>`
//! makes the process hang at that place until it is killed. Unset, a check
//! of one environment variable read at start.

use std::sync::LazyLock;

static ACTIVE: LazyLock<Option<String>> = LazyLock::new(|| std::env::var("CIN_FAILPOINT").ok());

pub fn hit(name: &str) {
    if ACTIVE.as_deref() == Some(name) {
        tracing::warn!(failpoint = name, "failpoint reached: waiting to be killed");
        loop {
            std::thread::park();
        }
    }
}
