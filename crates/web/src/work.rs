//! The node-local halves of core's `auth` ports: the Argon2 work queue (dedicated threads; a
//! place travels with its work), the striped lockout turns, and a mailer that never makes an
//! answer wait for delivery.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, oneshot};
use userpool_core::auth::{Busy, Turns, WorkQueue};
use userpool_core::lifecycle::Mailer;

/// Argon2 work on `width` dedicated threads (each takes 19 MiB and ~50 ms of a core), waiting
/// at most `wait` for a place. Dedicated threads keep their Argon2 memory for reuse (see
/// `core::password`), so the memory of hashing is fixed at `width` buffers.
pub(crate) struct BlockingQueue {
    places: Arc<Semaphore>,
    wait: Duration,
    jobs: std::sync::mpsc::SyncSender<Job>,
}

/// A piece of work with the place it holds until it ends.
type Job = (
    Box<dyn FnOnce() + Send>,
    OwnedSemaphorePermit,
    oneshot::Sender<()>,
);

impl BlockingQueue {
    pub(crate) fn new(width: usize, wait: Duration) -> Self {
        let width = width.max(1);
        // At most `width` places are out, so the channel never holds more than `width` jobs.
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(width);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..width {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok((work, place, done)) = next else {
                            return;
                        };
                        // A panicking job loses its answer (the caller gets Busy), never
                        // the worker.
                        let finished = std::panic::catch_unwind(AssertUnwindSafe(work)).is_ok();
                        drop(place);
                        if finished {
                            done.send(()).ok();
                        }
                    }
                })
                .expect("an Argon2 worker thread");
        }
        Self {
            places: Arc::new(Semaphore::new(width)),
            wait,
            jobs,
        }
    }
}

#[async_trait]
impl WorkQueue for BlockingQueue {
    async fn run(&self, work: Box<dyn FnOnce() + Send>) -> Result<(), Busy> {
        let _waiting = QueueDepth::enter();
        let place = tokio::time::timeout(self.wait, self.places.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        // The place goes with the work: if the caller stops waiting (the client went away),
        // the work still holds it until it ends.
        let (done, finished) = oneshot::channel();
        self.jobs.send((work, place, done)).map_err(|_| Busy)?;
        finished.await.map_err(|_| Busy)
    }
}

/// Counts a hash in the queue (waiting or running) for as long as it lives.
struct QueueDepth;

impl QueueDepth {
    fn enter() -> Self {
        userpool_core::metrics::METRICS.hash_queue.inc();
        QueueDepth
    }
}

impl Drop for QueueDepth {
    fn drop(&mut self) {
        userpool_core::metrics::METRICS.hash_queue.dec();
    }
}

/// Lockout turns striped over a fixed set of mutexes: unrelated names rarely wait for each
/// other, and memory does not grow with the names seen. A turn is waited for at most `wait`.
pub(crate) struct StripedTurns {
    stripes: Vec<Arc<Mutex<()>>>,
    wait: Duration,
}

impl StripedTurns {
    pub(crate) fn new(wait: Duration) -> Self {
        Self {
            stripes: (0..64).map(|_| Arc::new(Mutex::new(()))).collect(),
            wait,
        }
    }
}

#[async_trait]
impl Turns for StripedTurns {
    async fn turn(&self, key: &str) -> Option<Box<dyn Send>> {
        let digest = userpool_core::crypto::sha256(key.as_bytes());
        let stripe = &self.stripes[usize::from(digest[0]) % self.stripes.len()];
        let guard = tokio::time::timeout(self.wait, stripe.clone().lock_owned()).await;
        guard.ok().map(|g| Box::new(g) as Box<dyn Send>)
    }
}

/// Sends in the background, so an answer takes the same time whether or not a message goes
/// out, and a slow mail server slows no page.
pub(crate) struct DetachedMailer(pub(crate) Arc<dyn Mailer>);

#[async_trait]
impl Mailer for DetachedMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let (mailer, to, subject, body) = (
            self.0.clone(),
            to.to_string(),
            subject.to_string(),
            body.to_string(),
        );
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&to, &subject, &body).await {
                tracing::error!(error = %e, "sending a message failed");
            }
        });
        Ok(())
    }

    fn sends_sms(&self) -> bool {
        self.0.sends_sms()
    }

    async fn send_sms(&self, to: &str, body: &str) -> Result<(), String> {
        let (mailer, to, body) = (self.0.clone(), to.to_string(), body.to_string());
        tokio::spawn(async move {
            if let Err(e) = mailer.send_sms(&to, &body).await {
                tracing::error!(error = %e, "sending a text message failed");
            }
        });
        Ok(())
    }
}
