//! Asynchronous proofs. `POST /v1/proofs/jobs` checks the request as `POST /v1/proofs`
//! does, queues the proof on the same [`ProverPool`] and answers 202 with a job id;
//! `GET /v1/proofs/jobs/{id}` then tells pending, running, done (with the claim package) or
//! failed (with the refusal, as the synchronous route would have answered it).
//!
//! The table is bounded in size (`max_jobs`: beyond it, 429) and in time: a proof that is
//! not done within the proof timeout fails with `timeout`, and a finished job is forgotten
//! `job_ttl` after it finished (then 404). Ids are 128 random bits: whoever holds one may read
//! the package, as whoever sent the request would have.

use super::{
    actions::{Package, Witness},
    admission::Slot,
    error::{ErrorDetail, ServiceError},
    pool::ProverPool,
};
use serde::Serialize;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

/// Where a job stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum JobStatus {
    /// Queued for a prover.
    Pending,
    /// A prover is working on it.
    Running,
    /// Proved: the claim package (of either circuit), as `POST /v1/proofs` answers it.
    Done { package: Box<Package> },
    /// Refused or failed: the error `POST /v1/proofs` would have answered.
    Failed { error: ErrorDetail },
}

/// A job just accepted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// 32 hex digits.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub id: String,
    /// Where to poll: `/v1/proofs/jobs/{id}`, also in the `Location` header.
    pub location: String,
}

struct Job {
    started: Arc<AtomicBool>,
    /// Done or failed, and when.
    finished: Option<(JobStatus, Instant)>,
}

pub struct Jobs {
    table: Arc<Mutex<HashMap<String, Job>>>,
    capacity: usize,
    ttl: Duration,
}

impl Jobs {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            table: Arc::default(),
            capacity,
            ttl,
        }
    }

    /// Queues `witness` on `pool` as a new job, failed as `timeout` unless proved within
    /// `limit`; the client's admission `slot` is held until the job ends. 429 when the table
    /// is full (of jobs not yet expired) or the queue is.
    pub fn submit(
        &self,
        pool: &ProverPool,
        witness: Witness,
        limit: Duration,
        slot: Slot,
    ) -> Result<Accepted, ServiceError> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let started = Arc::new(AtomicBool::new(false));
        {
            let mut table = self.lock();
            let ttl = self.ttl;
            table.retain(|_, job| {
                job.finished
                    .as_ref()
                    .is_none_or(|(_, at)| at.elapsed() <= ttl)
            });
            if table.len() >= self.capacity {
                return Err(ServiceError::Busy);
            }
            let answer = pool.submit_watched(witness, started.clone())?;
            table.insert(
                id.clone(),
                Job {
                    started,
                    finished: None,
                },
            );
            let (table, id) = (self.table.clone(), id.clone());
            tokio::spawn(async move {
                // The job counts against its client's proofs in flight until it ends.
                let _slot = slot;
                let failed = |e: ServiceError| JobStatus::Failed {
                    error: e.into_parts().1,
                };
                let outcome = match tokio::time::timeout(limit, answer).await {
                    Ok(Ok(package)) => JobStatus::Done {
                        package: Box::new(package),
                    },
                    Ok(Err(e)) => failed(e),
                    Err(_) => failed(ServiceError::Timeout),
                };
                let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(job) = table.get_mut(&id) {
                    job.finished = Some((outcome, Instant::now()));
                }
            });
        }
        Ok(Accepted {
            location: format!("/v1/proofs/jobs/{id}"),
            id,
        })
    }

    /// The job's status; 404 for an id never given or forgotten.
    pub fn status(&self, id: &str) -> Result<JobStatus, ServiceError> {
        let table = self.lock();
        let unknown = || ServiceError::NotFound("no such proof job (unknown, or expired)".into());
        let job = table.get(id).ok_or_else(unknown)?;
        Ok(match &job.finished {
            Some((_, at)) if at.elapsed() > self.ttl => return Err(unknown()),
            Some((outcome, _)) => outcome.clone(),
            None if job.started.load(Ordering::SeqCst) => JobStatus::Running,
            None => JobStatus::Pending,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
