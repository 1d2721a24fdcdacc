//! `zkclaim demo`: the whole story on generated data, with what each party saw and how long
//! each step took.

use crate::{error::Error, load_or_setup};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};
use zkclaim_circuits::{
    claim::ClaimWitness,
    date, field,
    keys::{self, SecretKey},
    policy, sample,
    tree::IncrementalTree,
};
use zkclaim_verifier::VerifyError;

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
}

pub fn run(params_dir: &Path, n_invoices: u32) -> Result<(), Error> {
    let mut steps = Steps(Vec::new());
    let params = steps.time("load or generate parameters", || load_or_setup(params_dir))?;
    let shape = params.shape;
    let mut rng = StdRng::from_entropy();
    let issued_on = date::parse("2026-11-20").expect("valid date");

    // The patient and the policy their insurer (id 2) holds for them.
    let sk = SecretKey::random(&mut rng);
    let policy = sample::policy(&mut rng, 2);

    // Hospitals register everyone's invoices; ours is one leaf among many.
    eprintln!("hospitals register {n_invoices} invoices …");
    let ours = sample::invoice(&mut rng, sk.public_key(), issued_on, shape.items);
    let position = rng.gen_range(0..n_invoices.max(1));
    let tree = steps.time(
        &format!("hospitals commit {n_invoices} invoices"),
        || -> Result<_, Error> {
            let mut tree = IncrementalTree::new(shape.depth);
            for i in 0..n_invoices.max(1) {
                let inv = if i == position {
                    ours.clone()
                } else {
                    let other = SecretKey::random(&mut rng).public_key();
                    let day = issued_on - rng.gen_range(0..300);
                    sample::invoice(&mut rng, other, day, shape.items)
                };
                tree.append(inv.commitment(shape.items)?)?;
            }
            Ok(tree)
        },
    )?;

    let witness = ClaimWitness {
        sk: sk.clone(),
        invoice: ours.clone(),
        path: tree.path(position.into())?,
        policy: policy.clone(),
    };
    let package = steps.time("patient proves the claim", || {
        zkclaim_prover::prove(&params, witness, &mut rng)
    })?;
    steps
        .time("insurer verifies the proof", || {
            package.verify(&params.prepared)
        })
        .map_err(Error::Rejected)?;

    // The insurer's own checks: its policy for this claimant, and the ledger root.
    let tag = keys::claimant_tag(sk.expose(), policy.insurer_id);
    assert_eq!(
        package.public_inputs.claimant_tag, tag,
        "the claimant's registered pseudonym"
    );
    assert_eq!(
        package.public_inputs.policy_hash,
        policy::policy_hash(&policy),
        "the insurer's policy"
    );
    assert_eq!(
        package.public_inputs.invoice_root,
        tree.root(),
        "a root the hospitals registered"
    );

    let mut tampered = package.clone();
    tampered.public_inputs.claim_amount += 100_000;
    let rejected = matches!(
        tampered.verify(&params.prepared),
        Err(VerifyError::InvalidProof)
    );

    let p = &package.public_inputs;
    println!("\nWhat the insurer saw (and nothing else):");
    println!("| public input  | value |");
    println!("|---------------|-------|");
    println!("| invoice_root  | {} |", field::format(&p.invoice_root));
    println!("| nullifier     | {} |", field::format(&p.nullifier));
    println!("| claimant_tag  | {} |", field::format(&p.claimant_tag));
    println!("| policy_hash   | {} |", field::format(&p.policy_hash));
    println!(
        "| claim_amount  | {} fen ({:.2} yuan) |",
        p.claim_amount,
        p.claim_amount as f64 / 100.0
    );
    println!(
        "| proof         | {} bytes |",
        package.proof.to_bytes().len()
    );
    println!(
        "\nWhat stayed with the patient: hospital, date, {} line items, diagnosis.",
        ours.items.len()
    );
    println!(
        "Tampered claim amount: {}",
        if rejected {
            "rejected (InvalidProof)"
        } else {
            "ACCEPTED (bug)"
        }
    );

    println!("\n| step | time |");
    println!("|------|------|");
    for (name, d) in &steps.0 {
        println!("| {name} | {:.1} ms |", d.as_secs_f64() * 1e3);
    }
    let settle: Duration = steps.0.iter().skip(2).map(|(_, d)| *d).sum();
    println!(
        "\nProve + verify: {:.0} ms, {:.1}x faster than the {} s plaintext settlement of 2018.",
        settle.as_secs_f64() * 1e3,
        PLAINTEXT_2018.as_secs_f64() / settle.as_secs_f64(),
        PLAINTEXT_2018.as_secs()
    );
    if !rejected {
        return Err(Error::Rejected(VerifyError::InvalidProof));
    }
    Ok(())
}
