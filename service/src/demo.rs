//! `zkclaim demo`: the whole story on an embedded ledger, with what each party saw and how
//! long each step took.
//!
//! Two hospitals register a few hundred invoices; a patient proves a claim against the
//! ledger's root; insurer A settles it; the same invoice claimed at insurer B is refused as a
//! duplicate; a claim with a tampered amount and one against an unknown root are refused;
//! the regulator's audit replays the chain.

use crate::consortium::{self, DataDir, HOSPITALS, INSURERS, REGULATOR};
use crate::{commands::setup::load_or_setup, error::Error};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};
use zkclaim_circuits::{
    claim::ClaimWitness,
    field,
    invoice::Invoice,
    keys::{self, SecretKey},
    policy::{self, Policy},
    sample,
    tree::IncrementalTree,
};
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

const PROVE: &str = "patient: fetch path from the ledger, prove";
const VERIFY: &str = "insurer A: check policy and tag, verify proof";
const SETTLE: &str = "insurer A: settle on the ledger (verify + durable block)";

pub fn run(data: &Path, params_dir: &Path, n_invoices: u32) -> Result<(), Error> {
    let mut steps = Steps(Vec::new());
    let params = steps.time("load or generate parameters", || {
        load_or_setup(&DataDir(data.into()), params_dir)
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
    let genesis = steps.time("consortium: genesis and member keys", || dir.init(&params))?;
    let ledger = dir.open_ledger(&params.prepared, None, REGULATOR)?;
    let chain = genesis.chain_id.clone();
    let hospital_keys = [dir.load_key(HOSPITALS[0])?, dir.load_key(HOSPITALS[1])?];
    let insurer_keys = [dir.load_key(INSURERS[0])?, dir.load_key(INSURERS[1])?];

    let mut rng = StdRng::from_entropy();
    let sk = SecretKey::random(&mut rng);
    let issued_on = sample::PERIOD.0 + 300;
    let ours = sample::invoice(&mut rng, sk.public_key(), issued_on, shape.items);
    let mut invoices: Vec<Invoice> = (1..n_invoices.max(1))
        .map(|_| {
            let other = SecretKey::random(&mut rng).public_key();
            let day = issued_on - rng.gen_range(0..300);
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

    // Each insurer holds a policy for this patient, registered with the patient's tag.
    let policies = [
        sample::policy(&mut rng, INSURERS[0]),
        sample::policy(&mut rng, INSURERS[1]),
    ];
    let enrolled = |p: &Policy| {
        (
            keys::claimant_tag(sk.expose(), p.insurer_id),
            policy::policy_hash(p),
        )
    };

    let commitment = ours.commitment(shape.items)?;
    let witness_for = |p: &Policy| -> Result<ClaimWitness, Error> {
        let index = ledger
            .leaf_index(commitment)
            .ok_or_else(|| Error::NotInTree(field::format(&commitment)))?;
        Ok(ClaimWitness {
            sk: sk.clone(),
            invoice: ours.clone(),
            path: ledger.merkle_path(index)?,
            policy: p.clone(),
        })
    };
    let package = steps.time(PROVE, || -> Result<ClaimPackage, Error> {
        Ok(zkclaim_prover::prove(
            &params,
            witness_for(&policies[0])?,
            &mut rng,
        )?)
    })?;
    steps.time(VERIFY, || {
        insurer_checks(&params, &ledger, enrolled(&policies[0]), &package)
    })?;

    // Refusals first, so that each shows its own reason.
    let mut tampered = package.clone();
    tampered.public_inputs.claim_amount += 100_000;
    let tampered = settle(&ledger, &chain, &insurer_keys[0], tampered);
    let mut local = IncrementalTree::new(shape.depth);
    local.append(commitment)?;
    let mut foreign_root = witness_for(&policies[0])?;
    foreign_root.path = local.path(0)?;
    let unknown_root = zkclaim_prover::prove(&params, foreign_root, &mut rng)?;
    let unknown_root = settle(&ledger, &chain, &insurer_keys[0], unknown_root);

    let receipt = steps.time(SETTLE, || {
        settle(&ledger, &chain, &insurer_keys[0], package.clone())
    })?;
    let at_b = zkclaim_prover::prove(&params, witness_for(&policies[1])?, &mut rng)?;
    insurer_checks(&params, &ledger, enrolled(&policies[1]), &at_b)?;
    let duplicate = settle(&ledger, &chain, &insurer_keys[1], at_b.clone());
    // The regulator audits the store as it is on disk, with the node shut down.
    ledger.close();
    drop(ledger);
    let report = steps.time("regulator: audit the whole chain", || {
        consortium::audit(&dir, &params.prepared, None)
    })?;

    // What each party saw.
    let p = &package.public_inputs;
    println!("\n## What each party saw\n");
    println!("| party | saw |");
    println!("|---|---|");
    println!(
        "| hospitals | their own invoices; registered {} commitments in {} blocks |",
        invoices.len(),
        blocks_after_registration
    );
    println!(
        "| patient | the invoice opening (hospital, date, {} items), sk, both policies |",
        ours.items.len()
    );
    println!(
        "| insurer A | invoice_root {} |",
        field::format(&p.invoice_root)
    );
    println!("|  | nullifier {} |", field::format(&p.nullifier));
    println!(
        "|  | claimant_tag {} (its enrolled policyholder) |",
        field::format(&p.claimant_tag)
    );
    println!(
        "|  | policy_hash {} (its own policy) |",
        field::format(&p.policy_hash)
    );
    println!(
        "|  | claim_amount {} fen ({:.2} yuan), proof {} bytes |",
        p.claim_amount,
        p.claim_amount as f64 / 100.0,
        package.proof.to_bytes().len()
    );
    println!(
        "| insurer B | a claim with the same nullifier and its own tag {} |",
        field::format(&at_b.public_inputs.claimant_tag)
    );
    println!("| ledger members | {} commitments, 1 spent nullifier, 1 claim record (public inputs + proof), {} signed blocks |", report.invoices, report.blocks);
    println!("| nobody but the patient | hospital, date, line items, diagnosis |");

    println!("\n## What the ledger decided\n");
    println!("| claim | result |");
    println!("|---|---|");
    println!("| tampered amount (+1000 yuan) | {} |", outcome(&tampered));
    println!(
        "| against a root the ledger never had | {} |",
        outcome(&unknown_root)
    );
    println!(
        "| the patient's claim at insurer A | settled in block {} ({}) |",
        receipt.height,
        hex_prefix(&receipt.block_hash)
    );
    println!(
        "| the same invoice at insurer B | {} |",
        outcome(&duplicate)
    );
    println!("| audit (regulator) | {} blocks, {} invoices, {} claims: every hash, signature, root and proof checks |", report.blocks, report.invoices, report.claims);

    println!("\n## Time of each step\n");
    println!("| step | time |");
    println!("|---|---|");
    for (name, d) in &steps.0 {
        println!("| {name} | {:.1} ms |", d.as_secs_f64() * 1e3);
    }
    let end_to_end = steps.get(PROVE) + steps.get(VERIFY) + steps.get(SETTLE);
    println!(
        "\nEnd to end, from the patient's request to a durable settlement: {:.0} ms, against {} s for the\n\
         2018 plaintext system ({:.1}x faster), and nothing medical left the patient's device.",
        end_to_end.as_secs_f64() * 1e3,
        PLAINTEXT_2018.as_secs(),
        PLAINTEXT_2018.as_secs_f64() / end_to_end.as_secs_f64()
    );

    let expected = matches!(tampered, Err(LedgerError::InvalidProof))
        && matches!(unknown_root, Err(LedgerError::StaleRoot))
        && matches!(duplicate, Err(LedgerError::DuplicateClaim { first_height }) if first_height == receipt.height);
    if !expected {
        return Err(Error::Demo(
            "a refusal did not happen as it should (see the table above)".into(),
        ));
    }
    Ok(())
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

/// The insurer rule: the claim's tag and policy hash are those it enrolled, the root is one
/// the ledger accepts, and the proof verifies.
fn insurer_checks(
    params: &ClaimParams,
    ledger: &Ledger,
    (tag, policy_hash): (zkclaim_circuits::Fr, zkclaim_circuits::Fr),
    claim: &ClaimPackage,
) -> Result<(), Error> {
    let p = &claim.public_inputs;
    if p.claimant_tag != tag
        || p.policy_hash != policy_hash
        || !ledger.roots().contains(&p.invoice_root)
    {
        return Err(Error::Demo(
            "the claim does not match the insurer's enrolment or the ledger".into(),
        ));
    }
    claim.verify(&params.prepared).map_err(Error::Rejected)
}

fn settle(
    ledger: &Ledger,
    chain: &str,
    insurer: &MemberKey,
    claim: ClaimPackage,
) -> Result<zkclaim_ledger::Receipt, LedgerError> {
    ledger.submit(Transaction::SettleClaim { claim }.sign(chain, insurer))
}

fn outcome<T>(r: &Result<T, LedgerError>) -> String {
    match r {
        Ok(_) => "ACCEPTED (this is a bug)".into(),
        Err(e) => format!("refused: {e}"),
    }
}

fn hex_prefix(bytes: &[u8; 32]) -> String {
    bytes[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        + "…"
}
