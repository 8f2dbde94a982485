//! What operating the service needs around the routes: request ids and
//! structured request logs, Prometheus metrics, security headers and size
//! limits, CORS. Each piece is one middleware that `startup` wraps the app in.

pub mod cors;
pub mod headers;
pub mod metrics;
pub mod request_id;
pub mod telemetry;
