//! What the server counts, for `GET /metrics` (Prometheus text, by `prometheus-client`): sign-ins
//! by outcome, tokens by the sign-in that asked, trigger calls, and what the front doors and the
//! binary add (requests per route, the hashing queue, the database pool). One process-wide set:
//! counting is an atomic add; the tokens' label sets are made once (the hottest path).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::time::Timestamp;
use crate::triggers::TokenSource;

/// A metric's labels.
pub type Labels = Vec<(&'static str, String)>;

fn histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// A request's labels, all `&'static` so that counting a request allocates nothing (it runs on
/// every request): the route (a template, interned once), the method and the status.
type RequestLabels = [(&'static str, &'static str); 3];

/// Each distinct route template, leaked once: there are as many as the router has routes.
fn interned(route: &str) -> &'static str {
    static ROUTES: LazyLock<RwLock<std::collections::HashSet<&'static str>>> =
        LazyLock::new(Default::default);
    if let Some(r) = ROUTES.read().unwrap_or_else(|e| e.into_inner()).get(route) {
        return r;
    }
    let mut routes = ROUTES.write().unwrap_or_else(|e| e.into_inner());
    match routes.get(route) {
        Some(r) => r,
        None => {
            let r: &'static str = Box::leak(route.into());
            routes.insert(r);
            r
        }
    }
}

/// Every HTTP status as a static string ("100" to "999").
fn status_text(status: u16) -> &'static str {
    static CODES: LazyLock<Vec<String>> =
        LazyLock::new(|| (100..1000).map(|c: u16| c.to_string()).collect());
    CODES
        .get(usize::from(status).wrapping_sub(100))
        .map_or("other", String::as_str)
}

pub struct Metrics {
    /// Requests by route, method and status: seconds to answer.
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
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
    /// Outbound calls to identity providers (token, userInfo, JWKS, discovery, SAML metadata)
    /// by provider type, call and outcome (`ok`, `failed`): seconds.
    federation: HistogramFamily,
    /// When the newest signing key of each pool was made; scraped as its age.
    key_created: Arc<KeyAges>,
    /// The database pool's open and idle connections (set when scraped).
    pub db_connections: Gauge,
    pub db_idle_connections: Gauge,
    /// Requests refused by a rate limit, by category (`InvalidClient` for wrong secrets).
    throttled: Family<Labels, Counter>,
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
        federation: Family::new_with_constructor(histogram),
        key_created: Arc::default(),
        hash_queue: Gauge::default(),
        db_connections: Gauge::default(),
        db_idle_connections: Gauge::default(),
        throttled: Family::default(),
    }
});

impl Metrics {
    /// One answered request: `route` is the matched route template (never a raw path), `method`
    /// a standard method's name.
    pub fn request(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let labels = [
            ("route", interned(route)),
            ("method", method),
            ("status", status_text(status)),
        ];
        self.requests.get_or_create(&labels).observe(seconds);
    }

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

    pub fn throttled(&self, category: &'static str) {
        self.throttled
            .get_or_create(&vec![("category", category.to_string())])
            .inc();
    }

    /// One outbound call to an identity provider of `provider_type` (`OIDC`, `Google`, `SAML`,
    /// …): which call (`token`, `userInfo`, `jwks`, `discovery`, `metadata`), and whether it
    /// answered usefully.
    pub fn federation_call(&self, provider_type: &str, call: &'static str, ok: bool, seconds: f64) {
        let outcome = if ok { "ok" } else { "failed" };
        self.federation
            .get_or_create(&vec![
                ("provider_type", provider_type.to_string()),
                ("call", call.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .observe(seconds);
    }

    /// The creation time of each pool's newest signing key (replaces what was known: pools
    /// gone are forgotten).
    pub fn newest_keys(&self, created: HashMap<String, Timestamp>) {
        *self
            .key_created
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner()) = created;
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
            "federation_call_duration_seconds",
            "Calls to identity providers by provider type, call and outcome",
            self.federation.clone(),
        );
        r.register_collector(Box::new(self.key_created.clone()));
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
        r.register(
            "throttled_requests",
            "Requests refused by a rate limit, by category",
            self.throttled.clone(),
        );
        r
    }
}

/// Each pool's newest key's creation time, encoded as `key_generation_age_seconds{pool}`: the
/// age is computed at each scrape, so it is never older than the scrape.
#[derive(Debug, Default)]
struct KeyAges(RwLock<HashMap<String, Timestamp>>);

impl Collector for KeyAges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let created = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut family = encoder.encode_descriptor(
            "key_generation_age_seconds",
            "Seconds since the newest signing key of each pool was made",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        let mut pools: Vec<_> = created.iter().collect();
        pools.sort();
        for (pool, at) in pools {
            let labels = [("pool", pool.as_str())];
            ConstGauge::new(now - at).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reach_the_exposition() {
        METRICS.token_issued(TokenSource::ClientCredentials);
        METRICS.sign_in("success");
        METRICS.federation_call("Google", "token", false, 0.002);
        let made = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 90;
        METRICS.newest_keys(HashMap::from([("us-east-1_Metrics1".to_string(), made)]));
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
        assert!(
            text.contains("userpool_federation_call_duration_seconds_count{provider_type=\"Google\",call=\"token\",outcome=\"failed\"} 1"),
            "{text}"
        );
        let age = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("userpool_key_generation_age_seconds{pool=\"us-east-1_Metrics1\"} ")
            })
            .and_then(|v| v.parse::<i64>().ok())
            .expect("the key's age");
        assert!((90..100).contains(&age), "{text}");
    }
}
