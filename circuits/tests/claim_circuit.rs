//! Soundness of the claim circuit: the honest witness satisfies it, and a witness (or public
//! input) that breaks exactly one rule of the statement, with everything else made
//! consistent, leaves it unsatisfied.

use ark_ff::UniformRand;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use rand::{rngs::StdRng, SeedableRng};
use zkclaim_circuits::{
    claim::{ClaimWitness, PublicInputs, RuleViolation, Shape},
    gadget::claim::ClaimCircuit,
    invoice::{self, Invoice, Item},
    keys::{self, SecretKey},
    nullifier,
    policy::{self, Policy},
    sample,
    tree::IncrementalTree,
    Fr,
};

/// The default statement's size; changing the circuit must change this number on purpose.
const CONSTRAINTS: usize = 10_846;

struct Fixture {
    rng: StdRng,
    sk: SecretKey,
    invoice: Invoice,
    policy: Policy,
}

fn fixture() -> Fixture {
    let mut rng = StdRng::seed_from_u64(7);
    let sk = SecretKey::random(&mut rng);
    let invoice = Invoice {
        serial: Fr::rand(&mut rng),
        hospital_id: 7,
        patient_pk: sk.public_key(),
        issued_on: 20_777,
        items: vec![
            Item {
                detail: Fr::rand(&mut rng),
                category: 3,
                amount: 9_700,
            },
            Item {
                detail: Fr::rand(&mut rng),
                category: 5,
                amount: 250_000,
            },
            Item {
                detail: Fr::rand(&mut rng),
                category: 9,
                amount: 33_333,
            },
        ],
    };
    let policy = sample::policy(&mut rng, 2);
    Fixture {
        rng,
        sk,
        invoice,
        policy,
    }
}

/// Builds the circuit with every public input and the advice recomputed from the (possibly
/// invalid) witness by the raw formulas, skipping the native validation, so that exactly
/// the tampered rule is wrong. The invoice sits among other leaves in a depth-32 tree.
fn consistent(f: &mut Fixture) -> ClaimCircuit {
    let shape = Shape::default();
    let mut inv = f.invoice.clone();
    inv.items.resize(shape.items, Item::default());
    let leaf = invoice::commitment(
        &inv.serial,
        inv.hospital_id,
        &inv.patient_pk,
        inv.issued_on,
        &inv.items,
    );
    let mut tree = IncrementalTree::new(shape.depth);
    for _ in 0..5 {
        tree.append(Fr::rand(&mut f.rng)).unwrap();
    }
    let index = tree.append(leaf).unwrap();
    tree.append(Fr::rand(&mut f.rng)).unwrap();
    let sk = *f.sk.expose();
    let pay = policy::payout(&f.policy, &inv.items);
    let public = PublicInputs {
        invoice_root: tree.root(),
        nullifier: nullifier::nullifier(&sk, &inv.serial),
        claimant_tag: keys::claimant_tag(&sk, f.policy.insurer_id),
        policy_hash: policy::policy_hash(&f.policy),
        claim_amount: pay.amount,
        insurer_id: f.policy.insurer_id,
    };
    let witness = ClaimWitness {
        sk: f.sk.clone(),
        invoice: inv,
        path: tree.path(index).unwrap(),
        policy: f.policy.clone(),
    };
    ClaimCircuit {
        shape,
        witness,
        public,
        advice: pay,
    }
}

fn satisfied(c: ClaimCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

#[test]
fn honest_claim_satisfies_and_pins_the_constraint_count() {
    let mut f = fixture();
    let c = consistent(&mut f);
    // The native statement agrees with the circuit's view of the same witness.
    assert_eq!(c.witness.public_inputs(c.shape).unwrap(), c.public);
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.clone().generate_constraints(cs.clone()).unwrap();
    assert!(cs.is_satisfied().unwrap());
    assert_eq!(cs.num_constraints(), CONSTRAINTS);
    assert_eq!(cs.num_instance_variables(), 1 + PublicInputs::COUNT);
    // Key generation's blank circuit has the same structure.
    let blank = ConstraintSystem::<Fr>::new_ref();
    ClaimCircuit::blank(c.shape)
        .generate_constraints(blank.clone())
        .unwrap();
    assert_eq!(blank.num_constraints(), CONSTRAINTS);
}

#[test]
fn wrong_secret_key() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.witness.sk = SecretKey::random(&mut f.rng);
    assert!(!satisfied(c));
}

#[test]
fn other_patients_invoice() {
    // The invoice (and tree) belong to another key; our key derives everything else.
    let mut f = fixture();
    f.invoice.patient_pk = SecretKey::random(&mut f.rng).public_key();
    let c = consistent(&mut f);
    assert_eq!(
        c.witness.public_inputs(c.shape),
        Err(RuleViolation::NotPatientsInvoice)
    );
    assert!(!satisfied(c));
}

#[test]
fn wrong_sibling_or_index() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.witness.path.siblings[0] += Fr::from(1u64);
    assert!(!satisfied(c));
    let mut c = consistent(&mut f);
    c.witness.path.siblings[31] += Fr::from(1u64);
    assert!(!satisfied(c));
    let mut c = consistent(&mut f);
    c.witness.path.index ^= 1;
    assert!(!satisfied(c));
}

#[test]
fn amount_of_2_pow_40() {
    let mut f = fixture();
    f.invoice.items[1].amount = 1 << 40;
    assert!(!satisfied(consistent(&mut f)));
    f.invoice.items[1].amount = (1 << 40) - 1;
    assert!(satisfied(consistent(&mut f)), "the largest valid amount");
}

#[test]
fn category_16() {
    let mut f = fixture();
    f.invoice.items[0].category = 16;
    assert!(!satisfied(consistent(&mut f)));
    f.invoice.items[0].category = 15;
    assert!(satisfied(consistent(&mut f)));
}

#[test]
fn issued_outside_the_period() {
    let mut f = fixture();
    for (day, ok) in [
        (20_453, false),
        (20_454, true),
        (20_818, true),
        (20_819, false),
    ] {
        f.invoice.issued_on = day;
        assert_eq!(satisfied(consistent(&mut f)), ok, "day {day}");
    }
}

#[test]
fn rate_above_10000() {
    let mut f = fixture();
    f.policy.rate_bp = 10_001;
    assert!(!satisfied(consistent(&mut f)));
    f.policy.rate_bp = 10_000;
    assert!(satisfied(consistent(&mut f)));
    f.policy.rate_bp = 0;
    assert!(satisfied(consistent(&mut f)));
}

#[test]
fn remainder_of_10000_or_more() {
    let mut f = fixture();
    f.policy.rate_bp = 3_333;
    let mut c = consistent(&mut f);
    c.advice.quotient -= 1;
    c.advice.remainder += 10_000;
    assert!(!satisfied(c));
}

#[test]
fn claim_amount_off_by_one() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.public.claim_amount += 1;
    assert!(!satisfied(c));
    let mut c = consistent(&mut f);
    c.public.claim_amount -= 1;
    assert!(!satisfied(c));
}

#[test]
fn uncovered_category_counted() {
    let mut f = fixture();
    f.policy.category_mask = !(1 << 5);
    let mut c = consistent(&mut f);
    let mut all = f.policy.clone();
    all.category_mask = 0xffff;
    let inflated = policy::payout(&all, &c.witness.invoice.items);
    assert!(inflated.amount > c.public.claim_amount);
    c.public.claim_amount = inflated.amount;
    c.advice = inflated;
    assert!(!satisfied(c));
}

#[test]
fn deductible_ignored() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    let mut none = f.policy.clone();
    none.deductible = 0;
    let inflated = policy::payout(&none, &c.witness.invoice.items);
    c.public.claim_amount = inflated.amount;
    c.advice = inflated;
    assert!(!satisfied(c));
}

#[test]
fn deductible_above_eligible_pays_zero() {
    let mut f = fixture();
    f.policy.deductible = 1_000_000;
    let c = consistent(&mut f);
    assert_eq!(c.public.claim_amount, 0);
    assert!(satisfied(c));
}

#[test]
fn cap_ignored() {
    let mut f = fixture();
    f.policy.cap = 1_000;
    let mut c = consistent(&mut f);
    assert_eq!(c.public.claim_amount, 1_000, "cap binds");
    c.public.claim_amount = c.advice.quotient;
    assert!(!satisfied(c));
}

#[test]
fn wrong_insurer_in_the_tag() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.public.claimant_tag = keys::claimant_tag(f.sk.expose(), 3);
    assert!(!satisfied(c));
}

/// Statement v2: a claim names the policy's insurer, so that only that member can settle
/// it. Another member's id, with the tag and policy hash still the real insurer's, is
/// unprovable, and the native check names the rule.
#[test]
fn another_insurers_id() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    assert_eq!(c.public.insurer_id, 2);
    c.public.insurer_id = 11;
    assert_eq!(
        c.witness.check(c.shape, &c.public),
        Err(RuleViolation::WrongInsurer {
            claimed: 11,
            policy: 2
        })
    );
    assert!(!satisfied(c));
}

#[test]
fn wrong_salt() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.witness.policy.salt += Fr::from(1u64);
    assert!(!satisfied(c));
}

#[test]
fn each_public_input_changed() {
    let mut f = fixture();
    let base = consistent(&mut f);
    let one = Fr::from(1u64);
    let tampers: [fn(&mut PublicInputs, Fr); PublicInputs::COUNT] = [
        |p, d| p.invoice_root += d,
        |p, d| p.nullifier += d,
        |p, d| p.claimant_tag += d,
        |p, d| p.policy_hash += d,
        |p, _| p.claim_amount += 1,
        |p, _| p.insurer_id += 1,
    ];
    for (i, tamper) in tampers.iter().enumerate() {
        let mut c = base.clone();
        tamper(&mut c.public, one);
        assert!(!satisfied(c), "public input {i}");
    }
}
