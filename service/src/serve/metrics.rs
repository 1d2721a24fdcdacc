//! Prometheus metrics of the service, served as text on `/metrics`.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// Seconds from a proof request's queueing to its proof (queue wait included).
    pub proof_seconds: Histogram,
    pub queue_depth: IntGauge,
    pub invoices: IntCounter,
    pub voids: IntCounter,
    pub settlements: IntCounter,
    /// Refused requests by error code (`stale_root`, `busy`, `rate_limited`, ...).
    pub rejections: IntCounterVec,
    /// Queued proof jobs dropped unproved, by reason: `abandoned` (nobody waits for the
    /// answer any more) or `expired` (waited in the queue beyond its patience).
    pub proof_jobs_skipped: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let proof_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "zkclaim_proof_seconds",
                "Proof latency, queue wait included",
            )
            .buckets(vec![0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0]),
        )
        .expect("valid histogram");
        let queue_depth = IntGauge::new(
            "zkclaim_prover_queue_depth",
            "Proof requests waiting for a worker",
        )
        .expect("valid gauge");
        let invoices = IntCounter::new(
            "zkclaim_invoices_registered_total",
            "Invoice commitments registered",
        )
        .expect("valid counter");
        let voids = IntCounter::new(
            "zkclaim_invoices_voided_total",
            "Invoice commitments voided",
        )
        .expect("valid counter");
        let settlements =
            IntCounter::new("zkclaim_settlements_total", "Claims settled").expect("valid counter");
        let rejections = IntCounterVec::new(
            Opts::new("zkclaim_rejections_total", "Refused requests by reason"),
            &["reason"],
        )
        .expect("valid counter");
        let proof_jobs_skipped = IntCounterVec::new(
            Opts::new(
                "zkclaim_proof_jobs_skipped_total",
                "Queued proof jobs dropped unproved, by reason",
            ),
            &["reason"],
        )
        .expect("valid counter");
        let registry = Registry::new();
        for c in [
            Box::new(proof_seconds.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(queue_depth.clone()),
            Box::new(invoices.clone()),
            Box::new(voids.clone()),
            Box::new(settlements.clone()),
            Box::new(rejections.clone()),
            Box::new(proof_jobs_skipped.clone()),
        ] {
            registry.register(c).expect("unique metric names");
        }
        Self {
            registry,
            proof_seconds,
            queue_depth,
            invoices,
            voids,
            settlements,
            rejections,
            proof_jobs_skipped,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .expect("text encoding of our metrics")
    }
}
