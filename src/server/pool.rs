//! Expensive work on its own bounded pool, so that single lookups never wait behind it.
//!
//! Single lookups (a full postcode, a point) run on the actix workers and take microseconds.
//! Everything that can take far longer runs here instead:
//! - bulk requests (`POST /v1/lookup`), area summaries (`GET /v1/lookup?postcode=NR1`), place
//!   searches (`?q=Wymondham`) and band drawings (`bands.geojson`) run as one job each on a
//!   `rayon` pool of [`Limits::pool_thread_count`] threads, one fewer than the cores by default;
//! - batch uploads (`POST /v1/batch`) each get a turn: a driver thread that scans, reads and
//!   writes the CSV while the pool answers its rows.
//!
//! Both are bounded by `tokio` semaphores taken before any work (or, for a batch, before its
//! body is read): at most [`Limits::pool_queue`] jobs running or waiting, and at most
//! [`Limits::batch_concurrency`] batches answered with [`Limits::batch_queue`] more waiting.
//! Beyond that the request gets 503 `queue_full` with `Retry-After` at once, rather than
//! slowing everyone down. With [`Limits::pool_low_priority`] the pool's and drivers' threads
//! run at the lowest OS priority, so the kernel gives the CPU to the actix workers whenever
//! single lookups want it.
//!
//! Memory follows from the same bounds: only batches with a turn hold their bodies, so
//! concurrent uploads hold at most `batch_concurrency` times the body cap.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

use crate::server::config::Limits;
use crate::server::error::{ApiError, Cause};

/// The bounded pool and its queues. One per [`crate::server::AppState`].
pub struct WorkPool {
    /// The pool, or why it could not be started.
    pool: Result<Arc<rayon::ThreadPool>, String>,
    /// Jobs running or waiting on the pool.
    queue: Arc<Semaphore>,
    /// Batches answered or waiting.
    batch_waiting: Arc<Semaphore>,
    /// Batches answered.
    batch_running: Arc<Semaphore>,
    threads: usize,
    low_priority: bool,
    retry_after_s: u64,
}

/// A batch's turn: held for as long as the batch is read and answered.
#[derive(Debug)]
pub struct BatchTurn {
    _waiting: OwnedSemaphorePermit,
    _running: OwnedSemaphorePermit,
}

/// The pool's threads could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the expensive-work pool: {0}")]
pub struct PoolError(String);

/// Lowers the calling thread to the lowest normal OS priority (raising it again would need
/// privileges, so this is for threads that only ever do expensive work).
fn lower_priority() {
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::warn!(error = %e, "cannot lower the priority of an expensive-work thread");
    }
}

impl WorkPool {
    /// A pool sized and bounded by `limits`. A pool that cannot start is reported by
    /// [`WorkPool::check`] and refuses every job with a 500.
    #[must_use]
    pub fn new(limits: &Limits) -> Self {
        let threads = limits.pool_thread_count();
        let low_priority = limits.pool_low_priority;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("careband-work-{i}"))
            .start_handler(move |_| {
                if low_priority {
                    lower_priority();
                }
            })
            .build()
            .map(Arc::new)
            .map_err(|e| e.to_string());
        Self {
            pool,
            queue: Arc::new(Semaphore::new(limits.pool_queue)),
            batch_waiting: Arc::new(Semaphore::new(
                limits.batch_concurrency.saturating_add(limits.batch_queue),
            )),
            batch_running: Arc::new(Semaphore::new(limits.batch_concurrency)),
            threads,
            low_priority,
            retry_after_s: limits.retry_after_s,
        }
    }

    /// Whether the pool started.
    ///
    /// # Errors
    /// [`PoolError`] with the reason it did not.
    pub fn check(&self) -> Result<(), PoolError> {
        self.pool
            .as_ref()
            .map(|_| ())
            .map_err(|e| PoolError(e.clone()))
    }

    /// The pool's thread count.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Room left in the queue: jobs that can still be taken before the next is refused.
    #[must_use]
    pub fn queue_free(&self) -> usize {
        self.queue.available_permits()
    }

    /// Room left for batches: turns that can still be given or waited for before the next
    /// batch is refused.
    #[must_use]
    pub fn batch_queue_free(&self) -> usize {
        self.batch_waiting.available_permits()
    }

    /// The pool itself, for work that spreads over its threads (a batch's rows).
    ///
    /// # Errors
    /// A 500 when the pool did not start.
    pub fn rayon(&self) -> Result<Arc<rayon::ThreadPool>, ApiError> {
        self.pool
            .as_ref()
            .map(Arc::clone)
            .map_err(|e| ApiError::internal("starting the expensive-work pool", Cause(e.clone())))
    }

    fn busy(&self, what: &str) -> ApiError {
        ApiError::Busy {
            message: format!(
                "the server is busy with other {what}: try again in {} seconds",
                self.retry_after_s
            ),
            retry_after_s: self.retry_after_s,
        }
    }

    /// Runs `work` as one job on the pool and returns its result, or refuses at once with
    /// 503 `queue_full` when [`Limits::pool_queue`] jobs are already running or waiting.
    ///
    /// # Errors
    /// [`ApiError::Busy`] when the queue is full; a 500 when the pool did not start or the work
    /// panicked.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = match Arc::clone(&self.queue).try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => {
                return Err(self.busy(
                    "long requests (bulk lookups, area summaries, place searches, band drawings)",
                ));
            }
        };
        let pool = self.rayon()?;
        let (tx, rx) = oneshot::channel();
        pool.spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(work));
            // The permit is given back only once the work is done, whether or not the
            // request is still waiting for it.
            drop(permit);
            let _ = tx.send(result);
        });
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(ApiError::internal(
                "running expensive work",
                Cause("the work panicked".into()),
            )),
            Err(e) => Err(ApiError::internal("running expensive work", e)),
        }
    }

    /// Waits for a batch's turn, or refuses at once with 503 `queue_full` when
    /// [`Limits::batch_concurrency`] batches are being answered and [`Limits::batch_queue`]
    /// more are waiting. Take it before reading the body: bodies of waiting batches stay with
    /// their clients.
    ///
    /// # Errors
    /// [`ApiError::Busy`] when the batch queue is full.
    pub async fn batch_turn(&self) -> Result<BatchTurn, ApiError> {
        let waiting = Arc::clone(&self.batch_waiting)
            .try_acquire_owned()
            .map_err(|_| self.busy("batch uploads"))?;
        let running = Arc::clone(&self.batch_running)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal("waiting for a batch turn", e))?;
        Ok(BatchTurn {
            _waiting: waiting,
            _running: running,
        })
    }

    /// Runs a batch's driver (scan, read, write; its rows go to [`WorkPool::rayon`]) on a
    /// thread of its own, at low priority when so configured, holding `turn` until it ends.
    ///
    /// # Errors
    /// A 500 when the thread cannot be started.
    pub fn drive(
        &self,
        turn: BatchTurn,
        driver: impl FnOnce() + Send + 'static,
    ) -> Result<(), ApiError> {
        let low_priority = self.low_priority;
        std::thread::Builder::new()
            .name("careband-batch".into())
            .spawn(move || {
                if low_priority {
                    lower_priority();
                }
                if catch_unwind(AssertUnwindSafe(driver)).is_err() {
                    tracing::error!("a batch driver panicked");
                }
                drop(turn);
            })
            .map(|_| ())
            .map_err(|e| ApiError::internal("starting a batch thread", e))
    }
}

impl std::fmt::Debug for WorkPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkPool")
            .field("threads", &self.threads)
            .field("queue_free", &self.queue.available_permits())
            .field("batch_free", &self.batch_running.available_permits())
            .finish_non_exhaustive()
    }
}
