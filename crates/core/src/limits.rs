//! Request quotas on this node: Cognito's operation categories, each limited per pool and per
//! client address, and wrong client secrets limited per app client (docs/operations.md,
//! "Rate limits"). The front doors name the category; this module decides.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::DefaultKeyedRateLimiter;
use governor::clock::{Clock, DefaultClock};

/// Cognito's request-rate categories ("Amazon Cognito user pools API operation categories and
/// request rate quotas"), as the pages, the OAuth endpoints and the API share them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Sign-in: `InitiateAuth`, `AdminInitiateAuth`, the sign-in pages' posts.
    UserAuthentication,
    /// Answers to sign-in challenges: Cognito gives them three times the sign-in quota.
    UserAuthenticationChallenge,
    /// `SignUp`, `ConfirmSignUp`, `AdminCreateUser`, `AdminConfirmSignUp`, the sign-up pages.
    UserCreation,
    /// Forgotten passwords and resent codes.
    UserAccountRecovery,
    /// Sign-ins through outside providers (`/oauth2/idpresponse`, `/saml2/idpresponse`).
    UserFederation,
    /// `/oauth2/token`, `/oauth2/revoke`, `RevokeToken`, `GetTokensFromRefreshToken`.
    UserToken,
    /// One user read: `GetUser`, `AdminGetUser`, `/oauth2/userInfo`.
    UserRead,
    /// `ListUsers`, `ListUsersInGroup`.
    UserList,
    /// A user's own or an administrator's changes to one user.
    UserUpdate,
    /// Reads of pools and their resources (clients, domains, groups, providers, …).
    UserPoolRead,
    /// Changes to pools and their resources.
    UserPoolUpdate,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Self::UserAuthentication,
        Self::UserAuthenticationChallenge,
        Self::UserCreation,
        Self::UserAccountRecovery,
        Self::UserFederation,
        Self::UserToken,
        Self::UserRead,
        Self::UserList,
        Self::UserUpdate,
        Self::UserPoolRead,
        Self::UserPoolUpdate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::UserAuthentication => "UserAuthentication",
            Self::UserAuthenticationChallenge => "UserAuthenticationChallenge",
            Self::UserCreation => "UserCreation",
            Self::UserAccountRecovery => "UserAccountRecovery",
            Self::UserFederation => "UserFederation",
            Self::UserToken => "UserToken",
            Self::UserRead => "UserRead",
            Self::UserList => "UserList",
            Self::UserUpdate => "UserUpdate",
            Self::UserPoolRead => "UserPoolRead",
            Self::UserPoolUpdate => "UserPoolUpdate",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// What a quota counts requests of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// All requests to one pool.
    Pool,
    /// One client address (an IPv6 client by its /64).
    Address,
}

/// Requests per second, and how many may come at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_second: u32,
    pub burst: u32,
}

impl Quota {
    const fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }

    fn governor(self) -> Option<governor::Quota> {
        let rate = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst.max(self.per_second))?;
        Some(governor::Quota::per_second(rate).allow_burst(burst))
    }
}

/// The quotas in force: each category and scope has one or none.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    quotas: HashMap<(Category, Scope), Quota>,
    /// Wrong client secrets per app client and client address (OAuth 2.0, RFC 6749 §2.3.1:
    /// brute force must be prevented at the token endpoint).
    pub client_failures: Option<Quota>,
}

impl Default for Settings {
    /// [I] No pool quota: a pool may use the whole node. Per client address, the categories a
    /// flood abuses (guessing, sign-up and message spam) are limited at rates no person reaches;
    /// machine traffic (tokens, reads, admin calls) is not.
    fn default() -> Self {
        let quotas = [
            (Category::UserAuthentication, Quota::new(30, 150)),
            (Category::UserAuthenticationChallenge, Quota::new(90, 450)),
            (Category::UserCreation, Quota::new(10, 100)),
            (Category::UserAccountRecovery, Quota::new(5, 50)),
            (Category::UserFederation, Quota::new(30, 150)),
        ]
        .into_iter()
        .map(|(c, q)| ((c, Scope::Address), q))
        .collect();
        Self {
            quotas,
            client_failures: Some(Quota::new(1, 20)),
        }
    }
}

impl Settings {
    /// No quota at all (benchmarks, and operators who limit at a proxy).
    pub fn off() -> Self {
        Self {
            quotas: HashMap::new(),
            client_failures: None,
        }
    }

    pub fn quota(&self, category: Category, scope: Scope) -> Option<Quota> {
        self.quotas.get(&(category, scope)).copied()
    }

    /// Applies one `--rate-limit` rule: `off` (no quotas at all), or
    /// `{Category}[@ip]={rate}[/{burst}]` and `{Category}[@ip]=off` (a pool quota, or with
    /// `@ip` a client-address one), or `InvalidClient={rate}[/{burst}]|off`.
    pub fn apply(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule == "off" {
            *self = Self::off();
            return Ok(());
        }
        let (name, value) = rule
            .split_once('=')
            .ok_or_else(|| format!("rate limit '{rule}': expected NAME=RATE[/BURST] or off"))?;
        let quota = parse_quota(value.trim()).map_err(|e| format!("rate limit '{rule}': {e}"))?;
        if name == "InvalidClient" {
            self.client_failures = quota;
            return Ok(());
        }
        let (category, scope) = match name.strip_suffix("@ip") {
            Some(c) => (c, Scope::Address),
            None => (name, Scope::Pool),
        };
        let category = Category::ALL
            .into_iter()
            .find(|c| c.name() == category)
            .ok_or_else(|| {
                let names: Vec<_> = Category::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "rate limit '{rule}': unknown category '{category}' (one of {}, or InvalidClient)",
                    names.join(", ")
                )
            })?;
        match quota {
            Some(q) => self.quotas.insert((category, scope), q),
            None => self.quotas.remove(&(category, scope)),
        };
        Ok(())
    }
}

fn parse_quota(value: &str) -> Result<Option<Quota>, String> {
    if value == "off" {
        return Ok(None);
    }
    let (rate, burst) = match value.split_once('/') {
        Some((r, b)) => (r, Some(b)),
        None => (value, None),
    };
    let number = |s: &str| {
        s.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("'{s}' is not a positive whole number"))
    };
    let per_second = number(rate)?;
    let burst = burst.map(number).transpose()?.unwrap_or(per_second);
    if burst < per_second {
        return Err("the burst must be at least the rate".into());
    }
    Ok(Some(Quota::new(per_second, burst)))
}

/// A refusal: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub retry_after: Duration,
}

impl Denied {
    /// Whole seconds for `Retry-After` (at least one).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// How a client address is counted: IPv6 clients hold whole /64s, so one counts as one.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

/// The counter of an app client's wrong secrets from one address.
fn client_key(client_id: &str, address: Option<IpAddr>) -> String {
    match address {
        Some(ip) => format!("{client_id} {}", address_key(ip)),
        None => client_id.to_string(),
    }
}

type Keyed<K> = DefaultKeyedRateLimiter<K>;

/// A limiter for each category that has a quota in `scope`.
fn keyed<K: std::hash::Hash + Eq + Clone>(
    settings: &Settings,
    scope: Scope,
) -> Vec<Option<Keyed<K>>> {
    Category::ALL
        .iter()
        .map(|c| Some(Keyed::keyed(settings.quota(*c, scope)?.governor()?)))
        .collect()
}

/// This node's counters.
pub struct Limits {
    by_pool: Vec<Option<Keyed<String>>>,
    by_address: Vec<Option<Keyed<IpAddr>>>,
    client_failures: Option<Keyed<String>>,
    /// App clients refused to an address until an instant: past its budget of wrong secrets,
    /// every request is refused before its secret is checked, so a right guess is not told
    /// apart.
    blocked_clients: Mutex<HashMap<String, Instant>>,
    clock: DefaultClock,
}

impl Limits {
    pub fn new(settings: &Settings) -> Self {
        Self {
            by_pool: keyed(settings, Scope::Pool),
            by_address: keyed(settings, Scope::Address),
            client_failures: settings
                .client_failures
                .and_then(Quota::governor)
                .map(Keyed::keyed),
            blocked_clients: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    /// Whether requests of `category` count against their pool (so the pool must be found).
    pub fn counts_pools(&self, category: Category) -> bool {
        self.by_pool[category.index()].is_some()
    }

    /// Counts one request of `category` against its client address's quota and its pool's.
    pub fn admit(
        &self,
        category: Category,
        pool_id: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<(), Denied> {
        let i = category.index();
        if let (Some(limiter), Some(ip)) = (&self.by_address[i], address) {
            limiter
                .check_key(&address_key(ip))
                .map_err(|n| self.denied(category.name(), n.wait_time_from(self.clock.now())))?;
        }
        if let (Some(limiter), Some(pool)) = (&self.by_pool[i], pool_id) {
            limiter
                .check_key(&pool.to_string())
                .map_err(|n| self.denied(category.name(), n.wait_time_from(self.clock.now())))?;
        }
        Ok(())
    }

    /// Whether requests of app client `client_id` from `address` are refused now, before its
    /// secret is read.
    pub fn client_refused(&self, client_id: &str, address: Option<IpAddr>) -> Option<Denied> {
        let blocked = self
            .blocked_clients
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let until = *blocked.get(&client_key(client_id, address))?;
        let now = Instant::now();
        (until > now).then(|| self.denied("InvalidClient", until - now))
    }

    /// Counts a wrong secret of `client_id` from `address`; past the budget that address is
    /// refused for the client for a while (other addresses are not: a stranger's guesses
    /// cannot lock the client's own servers out).
    pub fn client_failed(&self, client_id: &str, address: Option<IpAddr>) {
        let Some(limiter) = &self.client_failures else {
            return;
        };
        let key = client_key(client_id, address);
        if let Err(n) = limiter.check_key(&key) {
            let wait = n.wait_time_from(self.clock.now());
            let mut blocked = self
                .blocked_clients
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            blocked.insert(key, Instant::now() + wait);
        }
    }

    /// Forgets counters that are full again (called now and then, so memory follows the
    /// clients of the last moments, not of all time).
    pub fn forget_idle(&self) {
        for limiter in self.by_pool.iter().flatten() {
            limiter.retain_recent();
        }
        for limiter in self.by_address.iter().flatten() {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.client_failures {
            limiter.retain_recent();
        }
        let now = Instant::now();
        self.blocked_clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, until| *until > now);
    }

    fn denied(&self, category: &'static str, retry_after: Duration) -> Denied {
        crate::metrics::METRICS.throttled(category);
        Denied { retry_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rules: &[&str]) -> Limits {
        let mut s = Settings::off();
        for r in rules {
            s.apply(r).unwrap();
        }
        Limits::new(&s)
    }

    #[test]
    fn a_pool_quota_refuses_past_its_burst_and_other_pools_go_on() {
        let l = limits(&["UserAuthentication=2/3"]);
        for _ in 0..3 {
            l.admit(Category::UserAuthentication, Some("p1"), None)
                .unwrap();
        }
        let denied = l
            .admit(Category::UserAuthentication, Some("p1"), None)
            .unwrap_err();
        assert!(denied.retry_after > Duration::ZERO);
        assert_eq!(denied.retry_after_secs(), 1);
        l.admit(Category::UserAuthentication, Some("p2"), None)
            .unwrap();
        // Other categories have no quota here.
        for _ in 0..10 {
            l.admit(Category::UserToken, Some("p1"), None).unwrap();
        }
    }

    #[test]
    fn an_address_quota_counts_an_ipv6_client_by_its_64() {
        let l = limits(&["UserCreation@ip=1/2"]);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        l.admit(Category::UserCreation, None, Some(a)).unwrap();
        l.admit(Category::UserCreation, None, Some(b)).unwrap();
        assert!(l.admit(Category::UserCreation, None, Some(a)).is_err());
        l.admit(Category::UserCreation, None, Some(other)).unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        l.admit(Category::UserCreation, None, Some(mapped)).unwrap();
        l.admit(Category::UserCreation, None, Some(v4)).unwrap();
        assert!(l.admit(Category::UserCreation, None, Some(v4)).is_err());
    }

    #[test]
    fn wrong_secrets_past_the_budget_refuse_the_client_for_a_while() {
        let l = limits(&["InvalidClient=1/3"]);
        let guesser = Some("198.51.100.1".parse().unwrap());
        let owner = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert!(l.client_refused("c1", guesser).is_none());
            l.client_failed("c1", guesser);
        }
        assert!(
            l.client_refused("c1", guesser).is_none(),
            "three are within the burst"
        );
        l.client_failed("c1", guesser);
        let refused = l.client_refused("c1", guesser).expect("refused");
        assert!(refused.retry_after <= Duration::from_secs(1));
        assert!(l.client_refused("c2", guesser).is_none());
        assert!(
            l.client_refused("c1", owner).is_none(),
            "the client's own servers go on"
        );
    }

    #[test]
    fn rules_parse_and_bad_ones_say_why() {
        let mut s = Settings::default();
        assert!(
            s.quota(Category::UserAuthentication, Scope::Address)
                .is_some()
        );
        s.apply("UserAuthentication@ip=off").unwrap();
        assert!(
            s.quota(Category::UserAuthentication, Scope::Address)
                .is_none()
        );
        s.apply("UserToken=500/1000").unwrap();
        assert_eq!(
            s.quota(Category::UserToken, Scope::Pool),
            Some(Quota::new(500, 1000))
        );
        s.apply("InvalidClient=off").unwrap();
        assert_eq!(s.client_failures, None);
        s.apply("off").unwrap();
        assert_eq!(s, Settings::off());
        for bad in [
            "UserToken",
            "Nope=1",
            "UserToken=0",
            "UserToken=5/2",
            "UserToken=x",
        ] {
            assert!(s.apply(bad).is_err(), "{bad}");
        }
    }
}
