//! The node's cache of the documents providers publish for reuse: discovery documents
//! (OpenID Connect Discovery 1.0 §4) and key sets (OpenID Connect Core 1.0 §10.1.1). A copy
//! is used for [`POLICY`]'s `ttl`; a token naming a key we lack asks for a newer copy, at most
//! once per `pause`; a failing provider is served the last copy for `grace` more; and one
//! fetch at a time runs per document, the other callers waiting for its outcome.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use userpool_core::federation::FederationError;
use userpool_core::time::Timestamp;

/// The lifetimes of cached copies, in seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// A copy is used this long without asking the provider again.
    pub ttl: i64,
    /// Past `ttl`, a copy stands in this much longer while fetching it fails.
    pub grace: i64,
    /// No fetch of a document starts this soon after a failed one, nor a second refetch for
    /// an unknown key after one: a flood of requests cannot become a flood of calls.
    pub pause: i64,
}

/// An hour keeps a provider's endpoint change or key removal visible within the hour, while
/// sign-ins cost no discovery or JWKS call; a day of grace outlasts a provider's usual outage.
pub(crate) const POLICY: Policy = Policy {
    ttl: 3600,
    grace: 24 * 3600,
    pause: 30,
};

/// What a caller needs from the cache.
pub(crate) enum Want<'a, T> {
    /// A copy within its TTL.
    Fresh,
    /// A newer copy than this one: a token named a key it lacks (Core 1.0 §10.1.1, rotation).
    NewerThan(&'a Arc<T>),
}

/// What the cache answers: a shared copy, or the failure of the last fetch.
pub(crate) type Outcome<T> = Result<Arc<T>, FederationError>;

/// Cached documents of one kind, keyed by where they come from.
pub(crate) struct Cache<T> {
    /// The kind of document, for the log.
    what: &'static str,
    policy: Policy,
    slots: Mutex<HashMap<String, Slot<T>>>,
}

struct Slot<T> {
    /// The last good copy and when it was fetched.
    copy: Option<(Timestamp, Arc<T>)>,
    /// When a refetch for an unknown key last started.
    forced_at: Option<Timestamp>,
    /// When the last fetch failed, and how.
    failed: Option<(Timestamp, FederationError)>,
    /// The fetch under way, if any.
    flight: Option<Arc<Flight<T>>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            copy: None,
            forced_at: None,
            failed: None,
            flight: None,
        }
    }
}

/// What the caller does after looking at its slot.
enum Step<T> {
    Done(Outcome<T>),
    Wait(Arc<Flight<T>>),
    Lead(Arc<Flight<T>>),
}

impl<T: Send + Sync> Cache<T> {
    pub(crate) fn new(what: &'static str, policy: Policy) -> Self {
        Self {
            what,
            policy,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The document at `key`: the cached copy when it serves `want`, else the outcome of one
    /// call of `fetch` (which concurrent callers share).
    pub(crate) async fn get<F, Fut>(
        &self,
        key: &str,
        now: Timestamp,
        want: Want<'_, T>,
        fetch: F,
    ) -> Outcome<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, FederationError>>,
    {
        let mut fetch = Some(fetch);
        loop {
            let flight = match self.step(key, now, &want) {
                Step::Done(outcome) => return outcome,
                Step::Wait(flight) => match (Wait { flight }).await {
                    Some(outcome) => return outcome,
                    // Its leader was dropped mid-fetch: look again.
                    None => continue,
                },
                Step::Lead(flight) => flight,
            };
            let lead = Lead {
                cache: self,
                key,
                flight,
                done: false,
            };
            let fetch = fetch.take().expect("a caller leads at most once");
            let result = fetch().await;
            return lead.finish(now, result);
        }
    }

    fn step(&self, key: &str, now: Timestamp, want: &Want<'_, T>) -> Step<T> {
        let p = self.policy;
        let mut slots = self.slots.lock().expect("cache lock");
        let slot = slots.entry(key.to_string()).or_default();
        let within = |limit: i64| {
            slot.copy
                .as_ref()
                .filter(|(at, _)| now - at < limit)
                .map(|(_, v)| v.clone())
        };
        let (fresh, usable) = (within(p.ttl), within(p.ttl + p.grace));
        match (want, fresh) {
            (Want::Fresh, Some(v)) => return Step::Done(Ok(v)),
            // Another caller has refetched since this one's copy.
            (Want::NewerThan(held), Some(v)) if !Arc::ptr_eq(held, &v) => {
                return Step::Done(Ok(v));
            }
            (Want::NewerThan(_), _) if slot.forced_at.is_some_and(|t| now - t < p.pause) => {
                if let Some(v) = usable {
                    return Step::Done(Ok(v));
                }
            }
            _ => {}
        }
        if let Some(flight) = &slot.flight {
            return Step::Wait(flight.clone());
        }
        if let Some((at, e)) = &slot.failed
            && now - at < p.pause
        {
            return Step::Done(usable.ok_or_else(|| e.clone()));
        }
        if matches!(want, Want::NewerThan(_)) {
            slot.forced_at = Some(now);
        }
        let flight = Arc::new(Flight::default());
        slot.flight = Some(flight.clone());
        Step::Lead(flight)
    }
}

/// The caller whose fetch the others wait for. Dropped before it finishes (its request was
/// cancelled), it releases them to look again.
struct Lead<'a, T: Send + Sync> {
    cache: &'a Cache<T>,
    key: &'a str,
    flight: Arc<Flight<T>>,
    done: bool,
}

impl<T: Send + Sync> Lead<'_, T> {
    fn finish(mut self, now: Timestamp, result: Result<T, FederationError>) -> Outcome<T> {
        let p = self.cache.policy;
        let mut slots = self.cache.slots.lock().expect("cache lock");
        let slot = slots.entry(self.key.to_string()).or_default();
        slot.flight = None;
        let outcome = match result {
            Ok(v) => {
                let v = Arc::new(v);
                slot.copy = Some((now, v.clone()));
                slot.failed = None;
                Ok(v)
            }
            Err(e) => {
                slot.failed = Some((now, e.clone()));
                match slot
                    .copy
                    .as_ref()
                    .filter(|(at, _)| now - at < p.ttl + p.grace)
                {
                    Some((at, v)) => {
                        tracing::warn!(
                            document = self.cache.what,
                            source = self.key,
                            age_seconds = now - at,
                            error = ?e,
                            "identity provider failing: using the cached copy"
                        );
                        Ok(v.clone())
                    }
                    None => Err(e),
                }
            }
        };
        // Documents of providers no longer asked for (configuration changed) go.
        slots.retain(|_, s| {
            s.flight.is_some()
                || s.copy
                    .as_ref()
                    .is_some_and(|(at, _)| now - at < p.ttl + p.grace)
                || s.failed.as_ref().is_some_and(|(at, _)| now - at < p.pause)
        });
        drop(slots);
        self.done = true;
        self.flight.complete(Some(outcome.clone()));
        outcome
    }
}

impl<T: Send + Sync> Drop for Lead<'_, T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Ok(mut slots) = self.cache.slots.lock()
            && let Some(slot) = slots.get_mut(self.key)
            && slot
                .flight
                .as_ref()
                .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            slot.flight = None;
        }
        self.flight.complete(None);
    }
}

/// One fetch under way: its outcome once known (`None` if its leader was dropped), and the
/// wakers of the callers waiting for it.
struct Flight<T> {
    state: Mutex<FlightState<T>>,
}

enum FlightState<T> {
    Running(Vec<Waker>),
    Done(Option<Outcome<T>>),
}

impl<T> Default for Flight<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(FlightState::Running(Vec::new())),
        }
    }
}

impl<T> Flight<T> {
    fn complete(&self, outcome: Option<Outcome<T>>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let FlightState::Running(wakers) =
            std::mem::replace(&mut *state, FlightState::Done(outcome))
        {
            drop(state);
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// Waits for a flight's outcome.
struct Wait<T> {
    flight: Arc<Flight<T>>,
}

impl<T> Future for Wait<T> {
    type Output = Option<Outcome<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.flight.state.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *state {
            FlightState::Done(outcome) => Poll::Ready(outcome.clone()),
            FlightState::Running(wakers) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    const P: Policy = POLICY;
    const T0: Timestamp = 1_800_000_000;

    /// A cache of numbers whose fetches are counted and can be made to fail.
    struct Fixture {
        cache: Cache<u32>,
        calls: AtomicUsize,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                cache: Cache::new("test", P),
                calls: AtomicUsize::new(0),
            }
        }

        async fn get(
            &self,
            now: Timestamp,
            want: Want<'_, u32>,
            answer: Option<u32>,
        ) -> Outcome<u32> {
            self.cache
                .get("k", now, want, || async {
                    self.calls.fetch_add(1, Ordering::SeqCst);
                    answer.ok_or_else(|| FederationError::Connection("down".into()))
                })
                .await
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn a_copy_is_reused_for_its_ttl_then_fetched_again() {
        let f = Fixture::new();
        assert_eq!(*f.get(T0, Want::Fresh, Some(1)).await.unwrap(), 1);
        assert_eq!(
            *f.get(T0 + P.ttl - 1, Want::Fresh, Some(2)).await.unwrap(),
            1
        );
        assert_eq!(f.calls(), 1);
        assert_eq!(*f.get(T0 + P.ttl, Want::Fresh, Some(2)).await.unwrap(), 2);
        assert_eq!(f.calls(), 2);
        // Another key is another document.
        let other = f
            .cache
            .get("other", T0 + P.ttl, Want::Fresh, || async { Ok(9) })
            .await;
        assert_eq!(*other.unwrap(), 9);
    }

    #[tokio::test]
    async fn a_failing_provider_is_served_the_stale_copy_within_the_grace() {
        let f = Fixture::new();
        f.get(T0, Want::Fresh, Some(1)).await.unwrap();
        let t = T0 + P.ttl + 10;
        assert_eq!(
            *f.get(t, Want::Fresh, None).await.unwrap(),
            1,
            "stale, with a warning"
        );
        assert_eq!(f.calls(), 2);
        // Within the pause the failing provider is not asked again.
        assert_eq!(*f.get(t + P.pause - 1, Want::Fresh, None).await.unwrap(), 1);
        assert_eq!(f.calls(), 2);
        // After it, it is; and a good answer replaces the copy.
        assert_eq!(*f.get(t + P.pause, Want::Fresh, Some(3)).await.unwrap(), 3);
        assert_eq!(f.calls(), 3);
        // Past the grace, the failure is the caller's.
        let late = t + P.pause + P.ttl + P.grace;
        assert!(f.get(late, Want::Fresh, None).await.is_err());
        assert_eq!(f.calls(), 4);
    }

    #[tokio::test]
    async fn a_failure_without_a_copy_is_remembered_for_the_pause() {
        let f = Fixture::new();
        let e = f.get(T0, Want::Fresh, None).await.unwrap_err();
        assert_eq!(e, FederationError::Connection("down".into()));
        assert_eq!(f.get(T0 + P.pause - 1, Want::Fresh, Some(1)).await, Err(e));
        assert_eq!(f.calls(), 1);
        assert_eq!(*f.get(T0 + P.pause, Want::Fresh, Some(1)).await.unwrap(), 1);
        assert_eq!(f.calls(), 2);
    }

    #[tokio::test]
    async fn an_unknown_key_refetches_at_most_once_per_pause() {
        let f = Fixture::new();
        let first = f.get(T0, Want::Fresh, Some(1)).await.unwrap();
        // Right after the regular fetch, a token with a new key is still honoured.
        let second = f
            .get(T0 + 1, Want::NewerThan(&first), Some(2))
            .await
            .unwrap();
        assert_eq!((*second, f.calls()), (2, 2));
        // A flood of unknown keys: no more calls within the pause.
        for dt in 2..P.pause {
            let again = f
                .get(T0 + dt, Want::NewerThan(&second), Some(3))
                .await
                .unwrap();
            assert!(Arc::ptr_eq(&again, &second));
        }
        assert_eq!(f.calls(), 2);
        // A caller still holding the first copy gets the newer one without a call.
        let caught_up = f
            .get(T0 + 2, Want::NewerThan(&first), Some(4))
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&caught_up, &second));
        assert_eq!(f.calls(), 2);
        // After the pause, one more refetch; a failed one keeps the copy.
        let kept = f
            .get(T0 + 1 + P.pause, Want::NewerThan(&second), None)
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&kept, &second));
        assert_eq!(f.calls(), 3);
    }

    #[tokio::test]
    async fn simultaneous_misses_share_one_fetch() {
        let f = Fixture::new();
        let slow = || async {
            f.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(7)
        };
        let (a, b, c) = tokio::join!(
            f.cache.get("k", T0, Want::Fresh, slow),
            f.cache.get("k", T0, Want::Fresh, slow),
            f.cache.get("k", T0, Want::Fresh, slow),
        );
        assert_eq!((*a.unwrap(), *b.unwrap(), *c.unwrap()), (7, 7, 7));
        assert_eq!(f.calls(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_fetch_releases_its_waiters() {
        let f = Fixture::new();
        let hang = || async {
            f.calls.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<Result<u32, FederationError>>().await
        };
        let leader = tokio::time::timeout(
            Duration::from_millis(50),
            f.cache.get("k", T0, Want::Fresh, hang),
        );
        let follower = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            f.get(T0, Want::Fresh, Some(5)).await
        };
        let (led, followed) = tokio::join!(leader, follower);
        assert!(led.is_err(), "the leader timed out");
        assert_eq!(*followed.unwrap(), 5, "the waiter fetched itself");
        assert_eq!(f.calls(), 2);
    }
}
