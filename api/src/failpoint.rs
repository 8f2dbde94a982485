//! Named places where a fault test can stop the process. `CIN_FAILPOINT=<name>`
//! makes the process hang at that place until it is killed;
//! `CIN_FAILPOINT=<name>:until-shutdown` holds it there until a shutdown
//! begins (SIGTERM), then lets it go on. Unset, a check of one environment
//! variable read at start.

use std::sync::{Condvar, LazyLock, Mutex};

static ACTIVE: LazyLock<Option<String>> = LazyLock::new(|| std::env::var("CIN_FAILPOINT").ok());
static SHUTTING_DOWN: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

pub fn hit(name: &str) {
    let Some(active) = ACTIVE.as_deref() else {
        return;
    };
    if active == name {
        tracing::warn!(failpoint = name, "failpoint reached: waiting to be killed");
        loop {
            std::thread::park();
        }
    }
    if active.strip_suffix(":until-shutdown") == Some(name) {
        tracing::warn!(
            failpoint = name,
            "failpoint reached: holding until shutdown begins"
        );
        let (flag, begun) = &SHUTTING_DOWN;
        let mut shutting_down = flag.lock().unwrap_or_else(|p| p.into_inner());
        while !*shutting_down {
            shutting_down = begun.wait(shutting_down).unwrap_or_else(|p| p.into_inner());
        }
        tracing::warn!(failpoint = name, "failpoint released");
    }
}

/// Lets go of the places held until shutdown.
pub fn shutting_down() {
    let (flag, begun) = &SHUTTING_DOWN;
    *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
    begun.notify_all();
}
