//! What the server counts, for `GET /metrics` (Prometheus text, by `prometheus-client`): sign-ins
//! by outcome, tokens by the sign-in that asked, trigger calls, and what the front doors and the
//! binary add (requests per route, the hashing queue, the database pool). One process-wide set:
//! counting is an atomic add; the tokens' label sets are made once (the hottest path).

use std::sync::LazyLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::triggers::TokenSource;

/// A metric's labels.
pub type Labels = Vec<(&'static str, String)>;

fn histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    /// Requests by route, method and status: seconds to answer.
    pub requests: HistogramFamily,
    /// Sign-ins by outcome (`success`, `wrong_secret`, `locked`).
    sign_ins: Family<Labels, Counter>,
    /// Tokens issued, by the sign-in that asked, and the counter of each source (the same
    /// atomics the family holds).
    tokens: Family<Labels, Counter>,
    token_counters: [Counter; 6],
    /// Trigger calls by trigger and outcome (`ok`, `refused`, `failed`, `invalid`): seconds.
    pub triggers: HistogramFamily,
    /// Password hashes waiting for or holding a place in the hashing queue.
    pub hash_queue: Gauge,
    /// The database pool's open and idle connections (set when scraped).
    pub db_connections: Gauge,
    pub db_idle_connections: Gauge,
}

const SOURCES: [TokenSource; 6] = [
    TokenSource::HostedAuth,
    TokenSource::Authentication,
    TokenSource::NewPasswordChallenge,
    TokenSource::AuthenticateDevice,
    TokenSource::RefreshTokens,
    TokenSource::ClientCredentials,
];

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let tokens = Family::<Labels, Counter>::default();
    let token_counters = SOURCES.map(|s| {
        let name = s
            .as_str()
            .trim_start_matches("TokenGeneration_")
            .to_string();
        tokens.get_or_create(&vec![("source", name)]).clone()
    });
    Metrics {
        requests: Family::new_with_constructor(histogram),
        sign_ins: Family::default(),
        tokens,
        token_counters,
        triggers: Family::new_with_constructor(histogram),
        hash_queue: Gauge::default(),
        db_connections: Gauge::default(),
        db_idle_connections: Gauge::default(),
    }
});

impl Metrics {
    pub fn token_issued(&self, source: TokenSource) {
        if let Some(i) = SOURCES.iter().position(|s| *s == source) {
            self.token_counters[i].inc();
        }
    }

    pub fn sign_in(&self, outcome: &'static str) {
        self.sign_ins
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    /// A registry of every metric, named `userpool_*`.
    pub fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("userpool");
        r.register(
            "http_request_duration_seconds",
            "Requests by route, method and status",
            self.requests.clone(),
        );
        r.register("sign_ins", "Sign-ins by outcome", self.sign_ins.clone());
        r.register(
            "tokens_issued",
            "Tokens issued, by the sign-in that asked",
            self.tokens.clone(),
        );
        r.register(
            "trigger_call_duration_seconds",
            "Lambda trigger calls by trigger and outcome",
            self.triggers.clone(),
        );
        r.register(
            "hash_queue_depth",
            "Password hashes waiting for or holding a place in the hashing queue",
            self.hash_queue.clone(),
        );
        r.register(
            "db_connections",
            "Open database connections",
            self.db_connections.clone(),
        );
        r.register(
            "db_idle_connections",
            "Idle database connections",
            self.db_idle_connections.clone(),
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reach_the_exposition() {
        METRICS.token_issued(TokenSource::ClientCredentials);
        METRICS.sign_in("success");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &METRICS.registry()).unwrap();
        assert!(
            text.contains("userpool_tokens_issued_total{source=\"ClientCredentials\"}"),
            "{text}"
        );
        assert!(
            text.contains("userpool_sign_ins_total{outcome=\"success\"}"),
            "{text}"
        );
    }
}
