//! Memory figures of a benchmark process, from Linux's `/proc/self`.

/// The resident set's high-water mark since the last reset, in MB.
#[allow(dead_code)] // Used by some benchmarks only; each compiles this module on its own.
pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// The resident set now, in MB.
#[allow(dead_code)] // Used by some benchmarks only; each compiles this module on its own.
pub fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// The resident set of another process now, in MB (0 when it is gone).
#[allow(dead_code)] // Used by some benchmarks only; each compiles this module on its own.
pub fn rss_mb_of(pid: u32) -> f64 {
    read_mb(&format!("/proc/{pid}/status"), "VmRSS:")
}

fn status_mb(field: &str) -> f64 {
    read_mb("/proc/self/status", field)
}

fn read_mb(path: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts a new high-water mark at the current resident set.
#[allow(dead_code)] // Used by some benchmarks only; each compiles this module on its own.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
