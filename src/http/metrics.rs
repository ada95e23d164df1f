//! Prometheus metrics: request counts and latency per route and status, pool state.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub pool_connections: IntGauge,
    pub pool_idle: IntGauge,
    /// tickets past an SLA deadline that was not met, counted at scrape time
    pub tickets_overdue: IntGauge,
    /// network KPIs over the last 30 days, by name (fill_rate_units: request fill by units,
    /// stock_out_rate, ...; the names and definitions of `GET /api/v1/reports/kpis`)
    pub kpis: prometheus::GaugeVec,
    /// when the KPI gauges were last computed (they are refreshed at most once a minute)
    pub kpis_at: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// webhook deliveries waiting to be made or retried, counted at scrape time
    pub webhook_pending: IntGauge,
    /// webhook delivery attempts by subscription and outcome (delivered, failed)
    pub webhook_attempts: IntCounterVec,
    /// how long receivers took to answer
    pub webhook_latency: prometheus::Histogram,
    /// parts requests planned from the station as the process kept it and written in one
    /// round trip (the others read the station first)
    pub parts_requests_one_trip: prometheus::IntCounter,
    /// the read replica's gauges, registered at the first scrape of a process that has one
    /// (a process without a replica shows none, rather than a lag of 0)
    replica: std::sync::Arc<std::sync::OnceLock<ReplicaGauges>>,
}

/// `echelon_replica_up`, `echelon_replica_lag_bytes`, `echelon_replica_lag_seconds`,
/// `echelon_replica_reads_total{served_by}`.
#[derive(Clone)]
struct ReplicaGauges {
    up: IntGauge,
    lag_bytes: IntGauge,
    lag_seconds: prometheus::Gauge,
    reads: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("echelon".into()), None).expect("valid prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered, by route and status"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["method", "route"],
        )
        .expect("valid metric");
        let pool_connections =
            IntGauge::new("db_pool_connections", "open database connections").expect("valid metric");
        let pool_idle =
            IntGauge::new("db_pool_idle_connections", "idle database connections").expect("valid metric");
        let tickets_overdue =
            IntGauge::new("tickets_overdue", "service tickets past an SLA deadline that was not met")
                .expect("valid metric");
        let kpis = prometheus::GaugeVec::new(
            Opts::new("kpi", "network KPIs over the last 30 days (ratios 0-1, hours, turnover)"),
            &["name"],
        )
        .expect("valid metric");
        let webhook_pending =
            IntGauge::new("webhook_deliveries_pending", "webhook deliveries waiting to be made or retried")
                .expect("valid metric");
        let webhook_attempts = IntCounterVec::new(
            Opts::new("webhook_attempts_total", "webhook delivery attempts by subscription and outcome"),
            &["subscription", "outcome"],
        )
        .expect("valid metric");
        let webhook_latency = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "webhook_delivery_duration_seconds",
                "how long webhook receivers took to answer",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )
        .expect("valid metric");
        let parts_requests_one_trip = prometheus::IntCounter::new(
            "parts_requests_one_round_trip_total",
            "parts requests written in one round trip, planned from the station as this process kept it",
        )
        .expect("valid metric");
        for c in [
            Box::new(kpis.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(parts_requests_one_trip.clone()),
            Box::new(webhook_pending.clone()),
            Box::new(webhook_attempts.clone()),
            Box::new(webhook_latency.clone()),
            Box::new(requests.clone()),
            Box::new(latency.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(tickets_overdue.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Metrics {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            tickets_overdue,
            kpis,
            kpis_at: Default::default(),
            webhook_pending,
            webhook_attempts,
            webhook_latency,
            parts_requests_one_trip,
            replica: Default::default(),
        }
    }

    /// Sets the replica's gauges from its status and the read path's counts.
    pub fn replica(
        &self,
        status: &crate::db::replica::ReplicaStatus,
        counts: Option<&crate::db::replica::ReadCounts>,
    ) {
        let g = self.replica.get_or_init(|| {
            let g = ReplicaGauges {
                up: IntGauge::new("replica_up", "1 when the read replica answers, else 0")
                    .expect("valid metric"),
                lag_bytes: IntGauge::new(
                    "replica_lag_bytes",
                    "WAL written on the primary that the read replica has not replayed yet",
                )
                .expect("valid metric"),
                lag_seconds: prometheus::Gauge::new(
                    "replica_lag_seconds",
                    "age of the replica's last replayed transaction while it has WAL left to replay",
                )
                .expect("valid metric"),
                reads: IntCounterVec::new(
                    Opts::new(
                        "replica_reads_total",
                        "reads by where they ran: replica, primary_behind (the replica had not replayed \
                         the caller's writes), primary_down (the replica could not be reached or failed the read)",
                    ),
                    &["served_by"],
                )
                .expect("valid metric"),
            };
            for c in [
                Box::new(g.up.clone()) as Box<dyn prometheus::core::Collector>,
                Box::new(g.lag_bytes.clone()),
                Box::new(g.lag_seconds.clone()),
                Box::new(g.reads.clone()),
            ] {
                // a second registration (another Metrics sharing the registry) is harmless
                let _ = self.registry.register(c);
            }
            g
        });
        let up = !matches!(status.state, "unreachable");
        g.up.set(up as i64);
        if let Some(b) = status.lag_bytes {
            g.lag_bytes.set(b);
        }
        if let Some(s) = status.lag_seconds {
            g.lag_seconds.set(s);
        }
        if let Some(c) = counts {
            use std::sync::atomic::Ordering::Relaxed;
            for (label, n) in
                [("replica", &c.replica), ("primary_behind", &c.behind), ("primary_down", &c.down)]
            {
                let counter = g.reads.with_label_values(&[label]);
                let now = n.load(Relaxed);
                counter.inc_by(now.saturating_sub(counter.get()));
            }
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.latency.with_label_values(&[method, route]).observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf).expect("text encoding");
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
