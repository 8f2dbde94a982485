//! Prometheus metrics. Request metrics are labelled by the matched route
//! pattern (`/api/v1/registries/{code}`), never the raw path, so that the
//! number of series stays bounded whatever clients send. The gauges that
//! describe state (index lag, outbox, pool) are read when scraped.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::error::ApiError;
use crate::search::SearchService;
use crate::store::{changes, outbox, Store, StoreError};

/// Latency buckets in seconds, from a cached search to a slow import.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    pub search_seconds: Histogram,
    index_lag: IntGauge,
    index_applied: IntGauge,
    outbox: IntGaugeVec,
    pool: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let requests = IntCounterVec::new(
            Opts::new("cin_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("a valid metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "cin_http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route", "status"],
        )
        .expect("a valid metric");
        let search_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "cin_search_duration_seconds",
                "Time the search index takes for one query with its facet counts",
            )
            .buckets(BUCKETS.to_vec()),
        )
        .expect("a valid metric");
        let index_lag = IntGauge::new(
            "cin_search_index_lag",
            "Change-log entries written to the database that this instance's index has not applied",
        )
        .expect("a valid metric");
        let index_applied = IntGauge::new(
            "cin_search_index_applied_seq",
            "The last change-log sequence number this instance's index reflects",
        )
        .expect("a valid metric");
        let outbox = IntGaugeVec::new(
            Opts::new(
                "cin_outbox_messages",
                "Mails in the outbox by status (pending, sending, sent, dead)",
            ),
            &["status"],
        )
        .expect("a valid metric");
        let pool = IntGaugeVec::new(
            Opts::new(
                "cin_db_pool_connections",
                "Database pool connections: open, idle, in use, and the maximum",
            ),
            &["state"],
        )
        .expect("a valid metric");
        let registry = Registry::new();
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(search_seconds.clone()),
            Box::new(index_lag.clone()),
            Box::new(index_applied.clone()),
            Box::new(outbox.clone()),
            Box::new(pool.clone()),
        ] {
            registry.register(collector).expect("each metric once");
        }
        Metrics {
            registry,
            requests,
            request_seconds,
            search_seconds,
            index_lag,
            index_applied,
            outbox,
            pool,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.request_seconds
            .with_label_values(&labels)
            .observe(seconds);
    }

    /// Reads the state gauges and renders everything in the Prometheus text format.
    pub fn render(&self, store: &Store, search: &SearchService) -> Result<String, ApiError> {
        let pool = store.pool_state();
        for (state, value) in [
            ("open", pool.connections),
            ("idle", pool.idle),
            ("in_use", pool.connections.saturating_sub(pool.idle)),
            ("max", pool.max),
        ] {
            self.pool.with_label_values(&[state]).set(i64::from(value));
        }
        let (last, counts) = store.read_blocking(|conn| {
            Ok::<_, StoreError>((changes::last(conn)?, outbox::count_by_status(conn)?))
        })?;
        let applied = search.index().applied().map_err(ApiError::internal)?;
        self.index_applied.set(applied);
        self.index_lag.set((last - applied).max(0));
        for status in [outbox::PENDING, outbox::SENDING, outbox::SENT, outbox::DEAD] {
            let count = counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.outbox.with_label_values(&[status]).set(count);
        }
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .map_err(ApiError::internal)?;
        String::from_utf8(text).map_err(ApiError::internal)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
