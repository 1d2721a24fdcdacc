//! `zkclaim demo`: the whole story on an embedded ledger, with what each party saw and how
//! long each step took.
//!
//! Two hospitals register a few hundred invoices; insurers A and B enrol the patient in
//! their registry (A: basic medical insurance; B: a supplementary plan paying what is left);
//! the patient proves a claim against the ledger's root under A's policy and submits it to
//! A's intake, which settles it; the same invoice claimed again as a primary claim at
//! insurer B is refused as a duplicate; a claim with a tampered amount, one against an
//! unknown root and one under a policy the patient wrote are refused. Coordination of
//! benefits (statement v2): A's policy again as a continuation is refused (no policy pays
//! twice); the continuation at B (rank 1) settles the rest of the invoice; a third payment,
//! under an employer's plan the patient also holds at A, is refused once the invoice total
//! is reached. The hospital then voids the invoice
//! (refund and correction): the voided invoice has no path any more, is never registered
//! again, and its correction (the same serial) cannot be claimed again; the regulator's
//! audit replays the chain.

use crate::consortium::{self, DataDir, HOSPITALS, INSURERS, REGULATOR};
use crate::serve::{
    actions::{self, Package, ProofRequest},
    insurer,
};
use crate::{commands::setup::load_or_setup, error::Error};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};
use zkclaim_circuits::{
    claim::ClaimWitness,
    date::{self, Day},
    field, invoice,
    invoice::Invoice,
    keys::{self, KeyFile, SecretKey},
    policy::{self, Policy},
    sample,
    tree::IncrementalTree,
    Circuit,
};
use zkclaim_insurer::{Application, Status, Terms};
use zkclaim_ledger::{Ledger, LedgerError, MemberKey, Transaction};
use zkclaim_prover::ClaimParams;
use zkclaim_verifier::ClaimPackage;

/// What the 2018 plaintext system took to settle one claim.
const PLAINTEXT_2018: Duration = Duration::from_secs(5);

struct Steps(Vec<(String, Duration)>);

impl Steps {
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.0.push((name.to_string(), start.elapsed()));
        out
    }

    fn get(&self, name: &str) -> Duration {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Duration::ZERO, |(_, d)| *d)
    }
}

const ENROL: &str = "insurers A and B: enrol the patient (registry, fsync)";
const PROVE: &str = "patient: fetch path from the ledger, prove";
const INTAKE: &str = "insurer A: intake (verify proof, insurer rule, settle in a durable block)";
const VOID: &str = "hospital: void the patient's invoice (a durable block)";
const CONTINUE: &str = "patient: fetch the settled path, prove the continuation (rank 1)";
const INTAKE_B: &str = "insurer B: intake of the continuation (verify, insurer rule, settle)";

pub fn run(data: &Path, params_dir: &Path, n_invoices: u32) -> Result<(), Error> {
    let mut steps = Steps(Vec::new());
    let (params, continuation) = steps.time("load or generate parameters", || {
        let params = load_or_setup(&DataDir(data.into()), params_dir)?;
        let continuation = continuation_params(params_dir, params.shape)?;
        Ok::<_, Error>((params, continuation))
    })?;
    let shape = params.shape;

    // A fresh consortium and chain for every run; the parameters are kept.
    let dir = DataDir(data.join("demo"));
    if dir.0.exists() {
        std::fs::remove_dir_all(&dir.0).map_err(|source| Error::Io {
            path: dir.0.clone(),
            source,
        })?;
    }
    let genesis = steps.time("consortium: genesis and member keys", || {
        dir.init(
            &params,
            Some(consortium::circuit_pin(&continuation, None)),
            None,
        )
    })?;
    let keys = (&params.prepared, Some(&continuation.prepared));
    let ledger = dir.open_ledger(keys, None, REGULATOR)?;
    let chain = genesis.chain_id.clone();
    let hospital_keys = [dir.load_key(HOSPITALS[0])?, dir.load_key(HOSPITALS[1])?];
    let insurer_keys = [dir.load_key(INSURERS[0])?, dir.load_key(INSURERS[1])?];

    let mut rng = StdRng::from_entropy();
    let sk = SecretKey::random(&mut rng);
    // The policies run around today, so that the insurer rule's claims window holds.
    let today = zkclaim_insurer::today();
    let period = (today - 300, today + 64);
    // The patient's invoice: one the basic insurance pays something on (a cosmetic-only
    // invoice, or one under the deductible, would pay 0, and its correction's claim would then
    // be the same claim again rather than the refusal the story shows).
    let typical = sample::policy(&mut rng, INSURERS[0]);
    let ours = loop {
        let invoice = sample::invoice(&mut rng, sk.public_key(), today, shape.items);
        if policy::payout(&typical, &invoice.padded_items(shape.items)?).amount > 0 {
            break invoice;
        }
    };
    let mut invoices: Vec<Invoice> = (1..n_invoices.max(1))
        .map(|_| {
            let other = SecretKey::random(&mut rng).public_key();
            let day = today - rng.gen_range(0..300);
            sample::invoice(&mut rng, other, day, shape.items)
        })
        .collect();
    let position = rng.gen_range(0..=invoices.len());
    invoices.insert(position, ours.clone());

    steps.time(
        &format!("hospitals: register {} invoices", invoices.len()),
        || register(&ledger, &chain, &hospital_keys, &invoices),
    )?;
    let blocks_after_registration = ledger.height();

    // Each insurer enrols the patient under the tag the patient gives it, and hands over
    // the policy file its registry issued.
    let registry = dir.open_registry()?;
    let enrol = |id: u32, terms: Terms| {
        let application = Application {
            claimant_tag: keys::claimant_tag(sk.expose(), id),
            terms,
            claims_until: None,
            payout_ref: format!("demo: the patient's account at insurer {id}"),
        };
        insurer::enroll(&registry, id, application)
    };
    // A: basic insurance (the typical policy); B: a supplementary plan that pays what is
    // left, every category at 100%.
    let [at_a, at_b] = steps.time(ENROL, || {
        [
            enrol(INSURERS[0], terms(INSURERS[0], period)),
            enrol(INSURERS[1], supplementary(INSURERS[1], period)),
        ]
    });
    let (at_a, at_b) = (at_a?, at_b?);
    // An employer's plan the patient also holds at insurer A: a third payer.
    let employer = enrol(INSURERS[0], terms(INSURERS[0], period))?;
    // A policy the patient wrote: insurer A's file with its terms rewritten to 100%, no
    // deductible, every category.
    let self_made = Policy {
        rate_bp: policy::RATE_ONE,
        deductible: 0,
        cap: (1 << policy::MONEY_BITS) - 1,
        category_mask: u16::MAX,
        ..at_a.policy.clone()
    };

    let commitment = ours.commitment(shape.items)?;
    // The demo proves at once against the current root (claim now, docs/protocol.md "Root
    // choice"); it prints how many other hospitals' registrations hide the invoice's block.
    let witness_of = |invoice: &Invoice, p: &Policy| -> Result<ClaimWitness, Error> {
        let leaf = invoice.commitment(shape.items)?;
        let index = ledger
            .leaf_index(leaf)
            .ok_or_else(|| Error::NotInTree(field::format(&leaf)))?;
        Ok(ClaimWitness {
            sk: sk.clone(),
            invoice: invoice.clone(),
            path: ledger.leaf_path(index)?.path,
            policy: p.clone(),
        })
    };
    let witness_for = |p: &Policy| witness_of(&ours, p);
    let prove = |p: &Policy, rng: &mut StdRng| -> Result<ClaimPackage, Error> {
        Ok(zkclaim_prover::prove(&params, witness_for(p)?, rng)?)
    };
    let ours_index = ledger.leaf_index(commitment).expect("registered above");
    let later_by_others = ledger.leaf_path(ours_index)?.later_by_others;
    let package = steps.time(PROVE, || prove(&at_a.policy, &mut rng))?;
    // The patient's claims go to the insurer's intake, which signs them with its key.
    let intake = |key: &MemberKey, claim: ClaimPackage| {
        insurer::intake(&ledger, &registry, key, Package::Primary(claim)).map_err(Error::from)
    };

    // Refusals first, so that each shows its own reason.
    let mut tampered = package.clone();
    tampered.public_inputs.claim_amount += 100_000;
    let tampered = intake(&insurer_keys[0], tampered);
    let mut local = IncrementalTree::new(shape.depth);
    local.append(commitment)?;
    let mut foreign_root = witness_for(&at_a.policy)?;
    foreign_root.path = local.path(0)?;
    let unknown_root = zkclaim_prover::prove(&params, foreign_root, &mut rng)?;
    let unknown_root = intake(&insurer_keys[0], unknown_root);
    let self_made_claim = prove(&self_made, &mut rng)?;
    let self_made_amount = self_made_claim.public_inputs.claim_amount;
    let self_made = intake(&insurer_keys[0], self_made_claim);

    let settled = steps.time(INTAKE, || intake(&insurer_keys[0], package.clone()))?;
    let at_b_claim = prove(&at_b.policy, &mut rng)?;
    let b_tag = at_b_claim.public_inputs.claimant_tag;
    let duplicate = intake(&insurer_keys[1], at_b_claim);

    // Coordination of benefits: each later payer's claim continues the one before it.
    let request = |policy: &Policy, previous: Vec<Package>| ProofRequest {
        invoice: ours.clone(),
        key: KeyFile::new(&sk),
        policy: policy.clone(),
        claim_now: true,
        previous,
    };
    let after_a = vec![Package::Primary(package.clone())];
    let a_again = actions::witness(&ledger, shape, request(&at_a.policy, after_a.clone()))
        .map_err(Error::from);
    let rank_1 = steps.time(CONTINUE, || {
        actions::witness(&ledger, shape, request(&at_b.policy, after_a.clone()))?
            .prove(&params, Some(&continuation))
            .map_err(Error::from)
    })?;
    let Package::Continuation(rank_1_claim) = rank_1.clone() else {
        return Err(Error::Demo(
            "a continuation request proved a primary claim".into(),
        ));
    };
    let settled_b = steps.time(INTAKE_B, || {
        insurer::intake(&ledger, &registry, &insurer_keys[1], rank_1).map_err(Error::from)
    })?;
    let after_b = [after_a, vec![Package::Continuation(rank_1_claim.clone())]].concat();
    let third =
        actions::witness(&ledger, shape, request(&employer.policy, after_b)).map_err(Error::from);
    let total = invoice::total(&ours.items);
    // The hospital voids the patient's invoice and registers its correction (the same
    // serial, a smaller amount): the voided one has no path, is never registered again, and
    // the correction shares its nullifier, so the claim settled above stands alone.
    let hospital = &hospital_keys[(ours.hospital_id as usize + 1) % 2];
    let void = Transaction::VoidInvoice { commitment }.sign(&chain, hospital);
    let voided = steps.time(VOID, || ledger.submit(void))?;
    let voided_path = ledger.leaf_path(ours_index);
    let again = Transaction::RegisterInvoice { commitment }.sign(&chain, hospital);
    let registered_again = ledger.submit(again);
    let mut corrected = ours.clone();
    for item in &mut corrected.items {
        item.amount /= 2;
    }
    let correction = Transaction::RegisterInvoice {
        commitment: corrected.commitment(shape.items)?,
    };
    ledger.submit(correction.sign(&chain, hospital))?;
    let corrected_claim =
        zkclaim_prover::prove(&params, witness_of(&corrected, &at_a.policy)?, &mut rng)?;
    let corrected_claim = intake(&insurer_keys[0], corrected_claim);
    let max_age = Duration::from_millis(genesis.root_max_age_ms);
    let report_a = registry.report(INSURERS[0], 10)?;
    // The regulator audits the store as it is on disk, with the node shut down.
    ledger.close();
    drop(ledger);
    let report = steps.time("regulator: audit the whole chain", || {
        consortium::audit(&dir, keys, None)
    })?;

    // What each party saw.
    let p = &package.public_inputs;
    println!("\n## What each party saw\n");
    println!("| party | saw |");
    println!("|---|---|");
    println!(
        "| every party | today {} (UTC); the policies run {} to {}, claims accepted until {} |",
        date::format(today),
        date::format(period.0),
        date::format(period.1),
        date::format(at_a.enrolment.claims_until)
    );
    println!(
        "| hospitals | their own invoices; registered {} commitments in {} blocks |",
        invoices.len(),
        blocks_after_registration
    );
    println!(
        "| patient | the invoice opening (hospital, date, {} items), sk, both policy files |",
        ours.items.len()
    );
    println!(
        "| insurer A | at enrolment: the patient's tag, the terms, the payout reference; \
         the policy's salt only in the file it handed over |"
    );
    println!(
        "|  | invoice_root {} (proved at once: its block is followed by {} registrations by \
         the other hospital) |",
        field::format(&p.invoice_root),
        later_by_others
    );
    println!("|  | nullifier {} |", field::format(&p.nullifier));
    println!(
        "|  | claimant_tag {} (its enrolled policyholder) |",
        field::format(&p.claimant_tag)
    );
    println!(
        "|  | policy_hash {} (the policy it issued) |",
        field::format(&p.policy_hash)
    );
    println!(
        "|  | claim_amount {} fen ({:.2} yuan), proof {} bytes |",
        p.claim_amount,
        p.claim_amount as f64 / 100.0,
        package.proof.to_bytes().len()
    );
    println!(
        "|  | its registry's report: {} settled, {} refused ({}) |",
        report_a.settled.len(),
        report_a.refused.len(),
        report_a
            .refused
            .iter()
            .filter_map(|o| match &o.status {
                Status::Refused { code, .. } => Some(code.as_str()),
                Status::Settled { .. } => None,
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| insurer B | a claim with the same nullifier and its own tag {} |",
        field::format(&b_tag)
    );
    let c = &rank_1_claim.public_inputs;
    println!(
        "| insurer B | the continuation: settled_root {} (hides which claim it continues), \
         nullifier {}, its own payout {} fen; not what A paid |",
        field::format(&c.settled_root),
        field::format(&c.nullifier),
        c.claim_amount
    );
    println!("| ledger members | {} commitments, 2 spent nullifiers, 2 claim records (public inputs + proof), 2 settled leaves, {} signed blocks |", report.invoices, report.blocks);
    println!("| nobody but the patient | hospital, date, line items, diagnosis |");

    println!("\n## What the insurers and the ledger decided\n");
    println!("| claim | result |");
    println!("|---|---|");
    println!("| tampered amount (+1000 yuan) | {} |", outcome(&tampered));
    println!(
        "| against a root the ledger never had | {} |",
        outcome(&unknown_root)
    );
    println!(
        "| under a policy the patient wrote (100%, no deductible: {} fen) at insurer A | {} |",
        self_made_amount,
        outcome(&self_made)
    );
    println!(
        "| the patient's claim at insurer A | settled in block {} ({}…): {} fen to the enrolled account |",
        settled.receipt.height,
        &settled.receipt.block_hash[..16],
        settled.claim_amount
    );
    println!(
        "| the same invoice as a new primary claim at insurer B (enrolled there too) | {} |",
        outcome(&duplicate)
    );
    println!(
        "| A's basic policy again, as a continuation | {} |",
        outcome(&a_again)
    );
    println!(
        "| the continuation (rank 1) at insurer B, the supplementary plan | settled in block {}: \
         {} fen; A and B paid {} of the invoice's {} fen |",
        settled_b.receipt.height,
        settled_b.claim_amount,
        settled.claim_amount + settled_b.claim_amount,
        total
    );
    println!(
        "| a third payment (rank 2, the employer's plan at insurer A) | {} |",
        outcome(&third)
    );
    println!(
        "| the hospital voids the patient's invoice | voided in block {}; claims proved against \
         an earlier root settle for {} s more (root_max_age_ms): then the void is fully effective |",
        voided.height,
        max_age.as_secs()
    );
    println!(
        "| a path for the voided invoice | {} |",
        ledger_outcome(voided_path.as_ref().map(drop))
    );
    println!(
        "| the voided invoice registered again | {} |",
        ledger_outcome(registered_again.as_ref().map(drop))
    );
    println!(
        "| its correction (same serial, every amount halved) claimed at insurer A | {} |",
        outcome(&corrected_claim)
    );
    println!("| audit (regulator) | {} blocks, {} invoices, {} claims ({} continuation): every hash, signature, root and proof checks |", report.blocks, report.invoices, report.claims, report.continuations);

    println!("\n## Time of each step\n");
    println!("| step | time |");
    println!("|---|---|");
    for (name, d) in &steps.0 {
        println!("| {name} | {:.1} ms |", d.as_secs_f64() * 1e3);
    }
    let end_to_end = steps.get(PROVE) + steps.get(INTAKE);
    println!(
        "\nEnd to end, from the patient's request to a durable settlement: {:.0} ms, against {} s for the\n\
         2018 plaintext system ({:.1}x faster), and nothing medical left the patient's device.",
        end_to_end.as_secs_f64() * 1e3,
        PLAINTEXT_2018.as_secs(),
        PLAINTEXT_2018.as_secs_f64() / end_to_end.as_secs_f64()
    );

    let duplicate_of_ours = format!("block {})", settled.receipt.height);
    let expected = refused(&tampered, "invalid_proof", "")
        && refused(&unknown_root, "stale_root", "")
        && refused(&self_made, "unknown_policy", "")
        && refused(&duplicate, "duplicate_claim", &duplicate_of_ours)
        && refused(&a_again, "unsatisfiable_witness", "already paid")
        && settled.claim_amount + settled_b.claim_amount == total
        && refused(&third, "fully_reimbursed", "")
        && matches!(voided_path, Err(LedgerError::VoidedLeaf { .. }))
        && matches!(registered_again, Err(LedgerError::VoidedCommitment { .. }))
        && refused(&corrected_claim, "duplicate_claim", &duplicate_of_ours);
    if !expected {
        return Err(Error::Demo(
            "a refusal did not happen as it should (see the table above)".into(),
        ));
    }
    Ok(())
}

/// The typical policy's terms ([`sample::policy`]) at `insurer_id` over `period`.
pub fn terms(insurer_id: u32, period: (Day, Day)) -> Terms {
    let typical = sample::policy(&mut rand::rngs::OsRng, insurer_id);
    Terms {
        insurer_id,
        period_start: period.0,
        period_end: period.1,
        deductible: typical.deductible,
        rate_bp: typical.rate_bp,
        cap: typical.cap,
        category_mask: typical.category_mask,
    }
}

/// A supplementary plan at `insurer_id` over `period`: every category at 100%, no
/// deductible, a cap no invoice reaches, so that it pays whatever the earlier payers left.
fn supplementary(insurer_id: u32, period: (Day, Day)) -> Terms {
    Terms {
        deductible: 0,
        rate_bp: policy::RATE_ONE,
        cap: (1 << policy::MONEY_BITS) - 1,
        category_mask: u16::MAX,
        ..terms(insurer_id, period)
    }
}

/// The continuation circuit's parameters in `dir` (statement v2), generated (development
/// only, with a notice) when `dir` holds none: parameters from before continuation claims.
fn continuation_params(
    dir: &Path,
    shape: zkclaim_circuits::claim::Shape,
) -> Result<ClaimParams, Error> {
    if ClaimParams::files(dir, Circuit::Continuation)
        .iter()
        .any(|f| f.exists())
    {
        return Ok(ClaimParams::load(dir, Circuit::Continuation)?);
    }
    eprintln!(
        "no continuation parameters in {}: generating single-party development parameters now",
        ClaimParams::folder(dir, Circuit::Continuation).display()
    );
    let params = ClaimParams::setup(Circuit::Continuation, shape, &mut rand::rngs::OsRng)?;
    params.save(dir)?;
    Ok(params)
}

/// Hospitals register concurrently, so the ledger cuts many registrations into each block.
fn register(
    ledger: &Ledger,
    chain: &str,
    keys: &[MemberKey; 2],
    invoices: &[Invoice],
) -> Result<(), Error> {
    let bar = ProgressBar::new(invoices.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} invoices registered")
            .expect("valid template"),
    );
    let shape = ledger.genesis().shape;
    let workers = 32;
    let chunk = invoices.len().div_ceil(workers);
    let result = std::thread::scope(|scope| {
        let handles: Vec<_> = invoices
            .chunks(chunk.max(1))
            .map(|part| {
                let bar = &bar;
                scope.spawn(move || -> Result<(), Error> {
                    for inv in part {
                        let key = &keys[(inv.hospital_id as usize + 1) % 2];
                        let tx = Transaction::RegisterInvoice {
                            commitment: inv.commitment(shape.items)?,
                        };
                        ledger.submit(tx.sign(chain, key))?;
                        bar.inc(1);
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("registration thread"))
    });
    bar.finish_and_clear();
    result
}

/// A ledger refusal as the demo's tables show it.
fn ledger_outcome(r: Result<(), &LedgerError>) -> String {
    match r {
        Ok(()) => "ACCEPTED (this is a bug)".into(),
        Err(e) => format!("refused: {e}"),
    }
}

fn outcome<T>(r: &Result<T, Error>) -> String {
    match r {
        Ok(_) => "ACCEPTED (this is a bug)".into(),
        Err(Error::Refused { code, message }) => format!("refused ({code}): {message}"),
        Err(e) => format!("failed: {e}"),
    }
}

/// Whether `r` is a refusal with this code, its message holding `says`.
fn refused<T>(r: &Result<T, Error>, code: &str, says: &str) -> bool {
    matches!(r, Err(Error::Refused { code: c, message }) if c == code && message.contains(says))
}
