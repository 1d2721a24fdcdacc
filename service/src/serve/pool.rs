//! The proving pool: a fixed set of threads outside tokio's, fed by a bounded queue.
//!
//! A proof takes a core-saturating tenth of a second or more: on tokio's workers it would stall every
//! other request, including `/healthz`. Each worker takes one job at a time and runs its
//! `prove` whole, serial stretches included, on the pool's proving threads (a rayon pool of
//! one thread a core), which all workers share: with two workers, one proof's serial
//! stretches leave a core to the other's parallel work, and no more threads compete for the
//! cores than there are cores (8.6–9.1 against 8.1–8.7 proofs/s with one worker at 8
//! clients on a 2-core AMD EPYC, alternated). Requests beyond the queue's depth are refused
//! at once (429) instead of waiting unboundedly.
//!
//! Only jobs someone still waits for hold the queue: [`ProverPool::submit`] hands back a
//! [`Ticket`], and a job whose ticket was dropped (the client hung up, its request timed
//! out) leaves the queue unproved. A job that waited in the queue longer than the pool's
//! patience is answered 503 instead of being proved late. A proof a worker has started
//! cannot be stopped: it runs to its end.

use super::{
    actions::{Package, Witness},
    error::ServiceError,
    metrics::Metrics,
};
use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Condvar, Mutex, MutexGuard, PoisonError,
    },
    task::{Context, Poll},
    thread::JoinHandle,
    time::{Duration, Instant},
};
use tokio::sync::oneshot;
use zkclaim_prover::ClaimParams;

/// Proving builds deep call stacks (constraint synthesis, MSMs): more than a thread's default,
/// on each proving thread.
const STACK_BYTES: usize = 32 << 20;

type Outcome = Result<Package, ServiceError>;

/// The proving parameters of both circuits: the continuation's where the node has them.
pub struct Provers {
    pub primary: ClaimParams,
    pub continuation: Option<ClaimParams>,
}

impl Provers {
    /// The continuation circuit's parameters; 503 `no_proving_key` on a node without them.
    fn continuation(&self) -> Result<&ClaimParams, ServiceError> {
        self.continuation.as_ref().ok_or(ServiceError::NoProvingKey)
    }
}

struct Job {
    witness: Witness,
    queued: Instant,
    reply: oneshot::Sender<Outcome>,
    /// Set when a worker takes the job (an asynchronous proof's "running").
    started: Option<Arc<AtomicBool>>,
}

/// A queued proof: await it for the claim package; drop it to withdraw the job.
pub struct Ticket(oneshot::Receiver<Outcome>);

impl Future for Ticket {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        Pin::new(&mut self.0).poll(cx).map(|answer| {
            // A worker that panicked dropped the job's reply.
            answer.unwrap_or_else(|_| Err(ServiceError::Unavailable("the prover stopped".into())))
        })
    }
}

struct Queue {
    jobs: VecDeque<Job>,
    open: bool,
}

/// What the workers and [`ProverPool::submit`] share.
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    depth: usize,
    patience: Duration,
    metrics: Arc<Metrics>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `job` should still be proved; answers it (or counts it) if not.
    fn wanted(&self, job: Job) -> Option<Job> {
        let skipped = |reason| {
            self.metrics
                .proof_jobs_skipped
                .with_label_values(&[reason])
                .inc();
            None
        };
        if job.reply.is_closed() {
            skipped("abandoned")
        } else if job.queued.elapsed() > self.patience {
            let _ = job.reply.send(Err(ServiceError::QueueTimeout));
            skipped("expired")
        } else {
            Some(job)
        }
    }

    /// Drops the queued jobs nobody waits for any more, or that waited too long.
    fn purge(&self, queue: &mut Queue) {
        let jobs = std::mem::take(&mut queue.jobs);
        queue.jobs = jobs
            .into_iter()
            .filter_map(|job| self.wanted(job))
            .collect();
        self.metrics.queue_depth.set(queue.jobs.len() as i64);
    }
}

pub struct ProverPool {
    provers: Arc<Provers>,
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl ProverPool {
    /// `workers` proofs at a time on one proving thread a core; at most `depth` live jobs
    /// waiting, each for at most `patience`.
    pub fn start(
        params: Arc<Provers>,
        workers: usize,
        depth: usize,
        patience: Duration,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::with_capacity(depth),
                open: true,
            }),
            ready: Condvar::new(),
            depth,
            patience,
            metrics,
        });
        let threads = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("zkclaim-proving-{i}"))
                .stack_size(STACK_BYTES)
                .build()
                .map_err(std::io::Error::other)?,
        );
        let handles = (0..workers)
            .map(|i| {
                let (params, shared, threads) = (params.clone(), shared.clone(), threads.clone());
                std::thread::Builder::new()
                    .name(format!("zkclaim-prover-{i}"))
                    .spawn(move || work(&params, &shared, &threads))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            provers: params,
            shared,
            workers: Mutex::new(handles),
        })
    }

    /// Queues a proof: 429 when the queue holds `depth` live jobs, 503 once the pool is
    /// closed or for a continuation on a node without the continuation circuit's
    /// parameters.
    pub fn submit(&self, witness: Witness) -> Result<Ticket, ServiceError> {
        self.enqueue(witness, None)
    }

    /// [`Self::submit`], setting `started` when a worker takes the proof.
    pub fn submit_watched(
        &self,
        witness: Witness,
        started: Arc<AtomicBool>,
    ) -> Result<Ticket, ServiceError> {
        self.enqueue(witness, Some(started))
    }

    fn enqueue(
        &self,
        witness: Witness,
        started: Option<Arc<AtomicBool>>,
    ) -> Result<Ticket, ServiceError> {
        if let Witness::Continuation(_) = witness {
            self.provers.continuation()?;
        }
        let mut queue = self.shared.lock();
        if !queue.open {
            return Err(ServiceError::Unavailable(
                "the prover is shutting down".into(),
            ));
        }
        self.shared.purge(&mut queue);
        if queue.jobs.len() >= self.shared.depth {
            return Err(ServiceError::Busy);
        }
        let (reply, answer) = oneshot::channel();
        queue.jobs.push_back(Job {
            witness,
            queued: Instant::now(),
            reply,
            started,
        });
        self.shared.metrics.queue_depth.set(queue.jobs.len() as i64);
        self.shared.ready.notify_one();
        Ok(Ticket(answer))
    }

    /// Refuses new proofs, lets the workers finish what is queued, and waits for them.
    pub fn close(&self) {
        self.shared.lock().open = false;
        self.shared.ready.notify_all();
        let handles =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in handles {
            // A panicked worker dropped its reply: that request saw a 503 already.
            let _ = handle.join();
        }
    }
}

fn work(params: &Provers, shared: &Shared, threads: &rayon::ThreadPool) {
    loop {
        let job = {
            let mut queue = shared.lock();
            loop {
                if let Some(job) = queue.jobs.pop_front() {
                    shared.metrics.queue_depth.set(queue.jobs.len() as i64);
                    break job;
                }
                if !queue.open {
                    return;
                }
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let Some(job) = shared.wanted(job) else {
            continue;
        };
        if let Some(started) = &job.started {
            started.store(true, Ordering::SeqCst);
        }
        // The whole proof on the proving threads: the worker waits for it.
        let result = threads.install(|| {
            job.witness
                .prove(&params.primary, params.continuation.as_ref())
        });
        shared
            .metrics
            .proof_seconds
            .observe(job.queued.elapsed().as_secs_f64());
        // The client may have gone while it was proved: its proof is dropped.
        let _ = job.reply.send(result);
    }
}
