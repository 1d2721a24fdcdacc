//! `zkclaim loadtest`: concurrent patients against a running node. For each client count it
//! enrols each patient at insurer A, registers one invoice per patient (hospital 1), has the
//! patients request their proofs from the node, and has insurer A settle the claims, each
//! phase with that many concurrent clients; then it reads every settled claim back. It reports proof request latency
//! (queueing and any retries after 429 included) and settlement throughput.
//!
//! It drives nodes on this machine only (loopback addresses), so a load test never floods
//! someone else's node; its counts are bounded by the options, each request by the client's
//! timeouts.

use crate::{
    bench::{self, machine},
    client::Client,
    consortium::{DataDir, HOSPITALS, INSURERS},
    demo,
    error::Error,
    output::Output,
    serve::actions::{Package, ProofRequest},
};
use rand::rngs::OsRng;
use serde::Serialize;
use serde_json::json;
use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Barrier, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};
use zkclaim_circuits::{
    field,
    keys::{self, KeyFile, SecretKey},
    sample,
};
use zkclaim_insurer::Application;
use zkclaim_ledger::{MemberKey, Transaction};

pub struct Options {
    pub clients: Vec<usize>,
    pub patients: usize,
    /// After the rounds, this many proof requests at once, not retried.
    pub flood: Option<usize>,
    pub csv: Option<PathBuf>,
}

/// How long a client waits after a 429 before asking again: the node's `Retry-After`.
const BUSY_BACKOFF: Duration = Duration::from_secs(1);
/// Retries of one proof request before the load test gives up.
const BUSY_RETRIES: usize = 60;

/// One round: a client count and what it measured. Also a CSV row.
#[derive(Serialize)]
struct Round {
    clients: usize,
    patients: usize,
    proof_p50_ms: f64,
    proof_p99_ms: f64,
    proofs_per_s: f64,
    /// 429 answers the patients' clients retried after.
    busy_retries: usize,
    settle_p50_ms: f64,
    settle_p99_ms: f64,
    settlements_per_s: f64,
    /// Settled claims read back from the node by their nullifiers.
    confirmed: usize,
}

/// The consortium members the load test acts as, from DATA.
struct Members {
    chain_id: String,
    items: usize,
    hospital: MemberKey,
    insurer: MemberKey,
}

/// What a flood of proof requests got back.
#[derive(Serialize)]
struct Flood {
    requests: usize,
    proved: usize,
    /// Refused busy (429).
    busy: usize,
    /// 503.
    unavailable: usize,
    /// Failed otherwise.
    other: usize,
}

impl std::fmt::Display for Flood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Flood {
            requests,
            proved,
            busy,
            unavailable,
            other,
        } = self;
        write!(
            f,
            "Flood: {requests} proof requests at once: {proved} proved, {busy} refused busy \
             (429), {unavailable} unavailable (503), {other} failed otherwise."
        )
    }
}

/// Runs the rounds, then the flood; prints the table (with `--json`, the rounds and the
/// flood as one object).
pub fn run(
    client: &Client,
    data: &DataDir,
    options: &Options,
    output: Output,
) -> Result<(), Error> {
    loopback_only(client)?;
    let genesis = data.load_genesis()?;
    let members = Members {
        chain_id: genesis.chain_id,
        items: genesis.shape.items,
        hospital: data.load_key(HOSPITALS[0])?,
        insurer: data.load_key(INSURERS[0])?,
    };
    let mut rounds = Vec::new();
    for &clients in &options.clients {
        let patients = (0..options.patients)
            .map(|_| patient(client, &members))
            .collect::<Result<Vec<_>, _>>()?;
        rounds.push(round(client, &members, clients, &patients)?);
    }
    if let Some(path) = &options.csv {
        write_csv(path, &rounds)?;
    }
    let flood = match options.flood {
        Some(n) => {
            // A registered invoice not yet claimed: the node refuses a claimed one unproved.
            let patient = patient(client, &members)?;
            register(client, &members, &patient)?;
            Some(flood(client, &patient, n))
        }
        None => None,
    };
    let mut text = markdown(client, &rounds);
    if let Some(flood) = &flood {
        text += &format!("\n{flood}");
    }
    output.result(json!({"rounds": rounds, "flood": flood}), text);
    Ok(())
}

/// A load test sends its traffic to this machine only.
fn loopback_only(client: &Client) -> Result<(), Error> {
    if client.is_loopback() {
        Ok(())
    } else {
        Err(Error::Loadtest(format!(
            "{} is not a loopback address: the load test drives a node on this machine only",
            client.base()
        )))
    }
}

/// A new patient with an invoice from hospital 1 issued today, enrolled at insurer A
/// through the node (the insurer rule settles only an enrolled policy), with the policy
/// file it issued.
fn patient(client: &Client, members: &Members) -> Result<ProofRequest, Error> {
    let sk = SecretKey::random(&mut OsRng);
    let today = zkclaim_insurer::today();
    let mut invoice = sample::spec_invoice(&mut OsRng, sk.public_key(), HOSPITALS[0]);
    invoice.issued_on = today;
    let application = Application {
        claimant_tag: keys::claimant_tag(sk.expose(), INSURERS[0]),
        terms: demo::terms(INSURERS[0], (today - 180, today + 180)),
        claims_until: None,
        payout_ref: "loadtest".into(),
    };
    let body = serde_json::to_string(&application).expect("applications serialize");
    let enrolled = client.post_signed("/v1/enrolments", &body, &members.insurer)?;
    let policy = serde_json::from_value(enrolled["policy"].clone())
        .map_err(|e| Error::Node(format!("the enrolment's policy file: {e}")))?;
    Ok(ProofRequest {
        invoice,
        policy,
        key: KeyFile::new(&sk),
        // One hospital registers every invoice here, so no other hospital's registration
        // would ever hide one: the load test measures proving and settling, not root choice.
        claim_now: true,
        previous: vec![],
    })
}

fn round(
    client: &Client,
    members: &Members,
    clients: usize,
    patients: &[ProofRequest],
) -> Result<Round, Error> {
    let json = |stx| serde_json::to_string(&stx).expect("transactions serialize");
    concurrently(clients, patients, |p| register(client, members, p))?;

    let (proved, proving) = concurrently(clients, patients, |p| prove(client, p))?;
    let busy_retries = proved.iter().map(|(_, (_, busy))| busy).sum();
    let (packages, proof_latencies): (Vec<Package>, Vec<Duration>) = proved
        .into_iter()
        .map(|(t, (package, _))| (package, t))
        .unzip();

    let (settled, settling) = concurrently(clients, &packages, |package| {
        let stx = package
            .clone()
            .settlement()
            .sign(&members.chain_id, &members.insurer);
        client.post_signed("/v1/claims", &json(stx), &members.insurer)
    })?;

    let mut confirmed = 0;
    for package in &packages {
        let nullifier = field::format(&package.common().nullifier);
        let record = client.get(&format!("/v1/claims/{nullifier}"))?;
        if record["insurer"] == members.insurer.member_id() {
            confirmed += 1;
        }
    }
    let settle_latencies: Vec<Duration> = settled.into_iter().map(|(t, _)| t).collect();
    let (proof_p50, proof_p99) = percentiles(proof_latencies);
    let (settle_p50, settle_p99) = percentiles(settle_latencies);
    let n = patients.len() as f64;
    // Microseconds and thousandths are as fine as a loopback measurement means anything.
    let ms = |d: Duration| (bench::ms(d) * 1e3).round() / 1e3;
    let rate = |wall: Duration| (n / wall.as_secs_f64() * 1e3).round() / 1e3;
    Ok(Round {
        clients,
        patients: patients.len(),
        proof_p50_ms: ms(proof_p50),
        proof_p99_ms: ms(proof_p99),
        proofs_per_s: rate(proving),
        busy_retries,
        settle_p50_ms: ms(settle_p50),
        settle_p99_ms: ms(settle_p99),
        settlements_per_s: rate(settling),
        confirmed,
    })
}

/// Registers the patient's invoice through hospital 1.
fn register(
    client: &Client,
    members: &Members,
    patient: &ProofRequest,
) -> Result<serde_json::Value, Error> {
    let commitment = patient.invoice.commitment(members.items)?;
    let stx =
        Transaction::RegisterInvoice { commitment }.sign(&members.chain_id, &members.hospital);
    let body = serde_json::to_string(&stx).expect("transactions serialize");
    client.post_signed("/v1/invoices", &body, &members.hospital)
}

/// A proof from the node, asking again after each 429; and how many 429s it met.
fn prove(client: &Client, request: &ProofRequest) -> Result<(Package, usize), Error> {
    let mut busy = 0;
    loop {
        match client.prove(request, false) {
            Err(Error::Refused { code, .. }) if code == "busy" && busy < BUSY_RETRIES => {
                busy += 1;
                std::thread::sleep(BUSY_BACKOFF);
            }
            answer => return Ok((answer?, busy)),
        }
    }
}

/// Runs `task` on every item with `clients` threads, each taking the next item not yet
/// taken. Returns each item's answer with its latency, in the items' order, and the wall
/// time of the whole; or the first error, after which no item is started.
fn concurrently<T: Sync, R: Send>(
    clients: usize,
    items: &[T],
    task: impl Fn(&T) -> Result<R, Error> + Sync,
) -> Result<(Vec<(Duration, R)>, Duration), Error> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(items.len()));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let t = Instant::now();
                let answer = task(item).map(|r| (t.elapsed(), r));
                if answer.is_err() {
                    next.store(items.len(), Ordering::Relaxed);
                }
                done.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((i, answer));
            });
        }
    });
    let wall = start.elapsed();
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_by_key(|(i, _)| *i);
    let answers = done
        .into_iter()
        .map(|(_, answer)| answer)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((answers, wall))
}

/// The median and the 99th percentile (nearest rank) of non-empty samples.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let rank = |p: f64| samples[((p * samples.len() as f64).ceil() as usize).max(1) - 1];
    (rank(0.5), rank(0.99))
}

fn markdown(client: &Client, rounds: &[Round]) -> String {
    let mut s = format!(
        "Load test of {} from this machine: {}.\n\
         Proof latency: request to claim package, queueing and retries after 429 included. \
         Settlement: verify and durable block, each claim its own signed request.\n\n\
         | clients | patients | proof p50 ms | proof p99 ms | proofs/s | 429 retries | settle p50 ms | settle p99 ms | settlements/s | read back |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        client.base(),
        machine()
    );
    for r in rounds {
        s += &format!(
            "| {} | {} | {:.0} | {:.0} | {:.2} | {} | {:.1} | {:.1} | {:.0} | {} |\n",
            r.clients,
            r.patients,
            r.proof_p50_ms,
            r.proof_p99_ms,
            r.proofs_per_s,
            r.busy_retries,
            r.settle_p50_ms,
            r.settle_p99_ms,
            r.settlements_per_s,
            r.confirmed
        );
    }
    s
}

fn write_csv(path: &std::path::Path, rounds: &[Round]) -> Result<(), Error> {
    let err = |e: csv::Error| Error::BadFile {
        path: path.into(),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    for r in rounds {
        w.serialize(r).map_err(err)?;
    }
    w.flush().map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

/// `n` proof requests at once, not retried: what the node answers a flood.
fn flood(client: &Client, request: &ProofRequest, n: usize) -> Flood {
    let start = Barrier::new(n);
    let answers: Vec<Result<Package, Error>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    client.prove(request, false)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a flood thread panicked"))
            .collect()
    });
    // proved, refused busy (429), unavailable (503), anything else
    let mut counts = [0; 4];
    for answer in &answers {
        counts[match answer {
            Ok(_) => 0,
            Err(Error::Refused { code, .. }) if code == "busy" => 1,
            Err(Error::Refused { code, .. }) if code == "unavailable" => 2,
            Err(_) => 3,
        }] += 1;
    }
    let [proved, busy, unavailable, other] = counts;
    Flood {
        requests: n,
        proved,
        busy,
        unavailable,
        other,
    }
}
