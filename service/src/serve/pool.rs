//! The proving pool: a fixed set of threads outside tokio's, fed by a bounded queue.
//!
//! A proof takes a core-saturating third of a second: on tokio's workers it would stall every
//! other request, including `/healthz`. Each worker runs one `prove` at a time (which uses
//! rayon inside); requests beyond the queue's depth are refused at once (429) instead of
//! waiting unboundedly.

use super::{error::ServiceError, metrics::Metrics};
use rand::rngs::OsRng;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, SyncSender, TrySendError},
        Arc, Mutex, PoisonError,
    },
    thread::JoinHandle,
    time::Instant,
};
use tokio::sync::oneshot;
use zkclaim_circuits::claim::ClaimWitness;
use zkclaim_prover::{ClaimParams, ProveError};
use zkclaim_verifier::ClaimPackage;

/// Proving builds deep call stacks (constraint synthesis, MSMs): more than a thread's default.
const STACK_BYTES: usize = 32 << 20;

type Reply = oneshot::Sender<Result<ClaimPackage, ProveError>>;

struct Job {
    witness: ClaimWitness,
    queued: Instant,
    reply: Reply,
    /// Set when a worker takes the job (an asynchronous proof's "running").
    started: Option<Arc<AtomicBool>>,
}

pub struct ProverPool {
    queue: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl ProverPool {
    pub fn start(
        params: Arc<ClaimParams>,
        workers: usize,
        depth: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let (queue, inbox) = mpsc::sync_channel::<Job>(depth);
        let inbox = Arc::new(Mutex::new(inbox));
        let handles = (0..workers)
            .map(|i| {
                let (params, inbox, metrics) = (params.clone(), inbox.clone(), metrics.clone());
                std::thread::Builder::new()
                    .name(format!("zkclaim-prover-{i}"))
                    .stack_size(STACK_BYTES)
                    .spawn(move || work(&params, &inbox, &metrics))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            queue: Mutex::new(Some(queue)),
            workers: Mutex::new(handles),
        })
    }

    /// Queues a proof: 429 when the queue is full, 503 once the pool is closed.
    pub fn submit(
        &self,
        witness: ClaimWitness,
        metrics: &Metrics,
    ) -> Result<oneshot::Receiver<Result<ClaimPackage, ProveError>>, ServiceError> {
        self.enqueue(witness, None, metrics)
    }

    /// [`Self::submit`], setting `started` when a worker takes the proof.
    pub fn submit_watched(
        &self,
        witness: ClaimWitness,
        started: Arc<AtomicBool>,
        metrics: &Metrics,
    ) -> Result<oneshot::Receiver<Result<ClaimPackage, ProveError>>, ServiceError> {
        self.enqueue(witness, Some(started), metrics)
    }

    fn enqueue(
        &self,
        witness: ClaimWitness,
        started: Option<Arc<AtomicBool>>,
        metrics: &Metrics,
    ) -> Result<oneshot::Receiver<Result<ClaimPackage, ProveError>>, ServiceError> {
        let closed = || ServiceError::Unavailable("the prover is shutting down".into());
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queue.as_ref().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            witness,
            queued: Instant::now(),
            reply,
            started,
        };
        // Counted before sending, so a worker that picks the job at once never sees -1.
        metrics.queue_depth.inc();
        match queue.try_send(job) {
            Ok(()) => Ok(answer),
            Err(e) => {
                metrics.queue_depth.dec();
                Err(match e {
                    TrySendError::Full(_) => ServiceError::Busy,
                    TrySendError::Disconnected(_) => closed(),
                })
            }
        }
    }

    /// Refuses new proofs, lets the workers finish what is queued, and waits for them.
    pub fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let handles =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in handles {
            // A panicked worker dropped its reply: that request saw a 500 already.
            let _ = handle.join();
        }
    }
}

fn work(params: &ClaimParams, inbox: &Mutex<Receiver<Job>>, metrics: &Metrics) {
    loop {
        let job = inbox.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        metrics.queue_depth.dec();
        if let Some(started) = &job.started {
            started.store(true, Ordering::SeqCst);
        }
        let result = zkclaim_prover::prove(params, job.witness, &mut OsRng);
        metrics
            .proof_seconds
            .observe(job.queued.elapsed().as_secs_f64());
        // The client may have gone (timeout): its proof is dropped.
        let _ = job.reply.send(result);
    }
}
