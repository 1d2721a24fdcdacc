//! Soundness of the continuation circuit (issue 13): the honest witness satisfies it, and a
//! witness (or public input) that breaks exactly one rule of the continuation statement, with
//! everything else made consistent, leaves it unsatisfied, while the native check refuses it
//! naming that rule.

use ark_ff::UniformRand;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use rand::{rngs::StdRng, SeedableRng};
use zkclaim_circuits::{
    claim::{ClaimWitness, RuleViolation, Shape},
    continuation::{
        ContinuationPublicInputs, ContinuationViolation as V, ContinuationWitness, MAX_RANK,
    },
    gadget::continuation::ContinuationCircuit,
    invoice::{self, Invoice, Item},
    keys::{self, SecretKey},
    nullifier::{nullifier_k, rho_k},
    policy::{self, Policy},
    sample, settled,
    tree::IncrementalTree,
    Fr,
};

/// The default statement's size; changing the circuit must change this number on purpose.
const CONSTRAINTS: usize = 21_601;
/// The same for 4 items and trees of depth 8.
const SMALL_CONSTRAINTS: usize = 9_530;

struct Fixture {
    rng: StdRng,
    sk: SecretKey,
    invoice: Invoice,
    /// The policies that paid, rank by rank.
    paid: Vec<Policy>,
    /// The next payer's.
    policy: Policy,
    rank: u8,
    paid_before: u64,
    earlier: Vec<Fr>,
    /// Replaces the previous rank's leaf in the settled tree.
    previous_leaf: Option<Fr>,
}

fn terms(rng: &mut StdRng, insurer_id: u32, rate_bp: u64, deductible: u64) -> Policy {
    Policy {
        rate_bp,
        deductible,
        ..sample::policy(rng, insurer_id)
    }
}

/// Rank 2 after a primary claim at 80% over a 100-yuan deductible and a rank-1 claim at 20%:
/// the next payer (10%) is held to what is left of the invoice (8,001 fen, below its own
/// 29,303).
fn fixture() -> Fixture {
    let mut rng = StdRng::seed_from_u64(13);
    let sk = SecretKey::random(&mut rng);
    let amounts = [(3, 9_700), (5, 250_000), (9, 33_333)];
    let invoice = Invoice {
        serial: Fr::rand(&mut rng),
        hospital_id: 7,
        patient_pk: sk.public_key(),
        issued_on: 20_777,
        items: amounts
            .iter()
            .map(|&(category, amount)| Item {
                detail: Fr::rand(&mut rng),
                category,
                amount,
            })
            .collect(),
    };
    let paid = vec![
        terms(&mut rng, 2, 8_000, 10_000),
        terms(&mut rng, 3, 2_000, 0),
    ];
    let policy = terms(&mut rng, 4, 1_000, 0);
    let mut f = Fixture {
        rng,
        sk,
        invoice,
        paid: vec![],
        policy,
        rank: 0,
        paid_before: 0,
        earlier: vec![],
        previous_leaf: None,
    };
    for p in paid {
        f.settle(p);
    }
    assert_eq!((f.rank, f.paid_before), (2, 226_426 + 58_606));
    f
}

impl Fixture {
    fn items(&self) -> Vec<Item> {
        let mut items = self.invoice.items.clone();
        items.resize(Shape::default().items, Item::default());
        items
    }

    /// `p` pays its share: the next rank starts after it.
    fn settle(&mut self, p: Policy) {
        let remaining = invoice::total(&self.items()) - self.paid_before;
        self.paid_before += policy::payout(&p, &self.items()).amount.min(remaining);
        self.earlier.push(policy::policy_hash(&p));
        self.paid.push(p);
        self.rank += 1;
    }

    /// The previous rank's leaf by the raw formulas.
    fn previous_leaf(&self) -> Fr {
        let (sk, serial) = (self.sk.expose(), &self.invoice.serial);
        let previous = self.rank.wrapping_sub(1);
        settled::leaf(
            &nullifier_k(sk, serial, previous),
            self.paid_before,
            &rho_k(sk, serial, previous),
            &settled::payers_of(&self.earlier).unwrap_or_default(),
        )
    }
}

/// Builds the circuit with every public input and the advice recomputed from the (possibly
/// invalid) witness by the raw formulas, skipping the native validation, so that exactly the
/// tampered rule is wrong. The invoice and the previous leaf sit among other leaves in
/// depth-32 trees.
fn consistent(f: &mut Fixture) -> ContinuationCircuit {
    let shape = Shape::default();
    let mut inv = f.invoice.clone();
    inv.items = f.items();
    let leaf = invoice::commitment(
        &inv.serial,
        inv.hospital_id,
        &inv.patient_pk,
        inv.issued_on,
        &inv.items,
    );
    let mut tree = IncrementalTree::new(shape.depth);
    let mut settled_tree = IncrementalTree::new(shape.depth);
    for _ in 0..5 {
        tree.append(Fr::rand(&mut f.rng)).unwrap();
        settled_tree.append(Fr::rand(&mut f.rng)).unwrap();
    }
    let index = tree.append(leaf).unwrap();
    let previous = f.previous_leaf.unwrap_or_else(|| f.previous_leaf());
    let settled_index = settled_tree.append(previous).unwrap();
    tree.append(Fr::rand(&mut f.rng)).unwrap();
    settled_tree.append(Fr::rand(&mut f.rng)).unwrap();

    let (sk, serial, k) = (*f.sk.expose(), inv.serial, f.rank);
    let own = policy::payout(&f.policy, &inv.items);
    let remaining = invoice::total(&inv.items).wrapping_sub(f.paid_before);
    let claim_amount = own.amount.min(remaining);
    let policy_hash = policy::policy_hash(&f.policy);
    let payers_before = settled::payers_of(&f.earlier).unwrap_or_default();
    let public = ContinuationPublicInputs {
        invoice_root: tree.root(),
        settled_root: settled_tree.root(),
        nullifier: nullifier_k(&sk, &serial, k),
        claimant_tag: keys::claimant_tag(&sk, f.policy.insurer_id),
        policy_hash,
        claim_amount,
        settled_leaf: settled::leaf(
            &nullifier_k(&sk, &serial, k),
            f.paid_before.wrapping_add(claim_amount),
            &rho_k(&sk, &serial, k),
            &settled::payers(&payers_before, &policy_hash),
        ),
        insurer_id: f.policy.insurer_id,
    };
    let witness = ContinuationWitness {
        claim: ClaimWitness {
            sk: f.sk.clone(),
            invoice: inv,
            path: tree.path(index).unwrap(),
            policy: f.policy.clone(),
        },
        rank: k,
        paid_before: f.paid_before,
        earlier: f.earlier.clone(),
        settled_path: settled_tree.path(settled_index).unwrap(),
    };
    ContinuationCircuit {
        shape,
        witness,
        public,
        advice: own,
    }
}

/// Sets the claimed amount and the settled leaf that goes with it (by the raw formula).
fn claim(c: &mut ContinuationCircuit, amount: u64) {
    let w = &c.witness;
    let (sk, serial) = (w.claim.sk.expose(), &w.claim.invoice.serial);
    let payers = settled::payers(
        &settled::payers_of(&w.earlier).unwrap(),
        &c.public.policy_hash,
    );
    c.public.claim_amount = amount;
    c.public.settled_leaf = settled::leaf(
        &c.public.nullifier,
        w.paid_before + amount,
        &rho_k(sk, serial, w.rank),
        &payers,
    );
}

fn satisfied(c: &ContinuationCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.clone().generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

fn native(c: &ContinuationCircuit) -> Result<(), V> {
    c.witness.check(c.shape, &c.public)
}

/// The rule is enforced twice: by the circuit and, naming it, by the native check.
fn refused(c: &ContinuationCircuit, rule: V) {
    assert_eq!(native(c), Err(rule.clone()));
    assert!(!satisfied(c), "the circuit accepts what breaks: {rule}");
}

#[test]
fn honest_continuation_satisfies_and_pins_the_constraint_count() {
    let mut f = fixture();
    let c = consistent(&mut f);
    assert_eq!(c.public.claim_amount, 8_001, "what is left binds");
    // The native statement agrees with the circuit's view of the same witness.
    assert_eq!(c.witness.public_inputs(c.shape).unwrap(), c.public);
    assert_eq!(native(&c), Ok(()));
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.clone().generate_constraints(cs.clone()).unwrap();
    assert!(cs.is_satisfied().unwrap());
    assert_eq!(cs.num_constraints(), CONSTRAINTS);
    assert_eq!(
        cs.num_instance_variables(),
        1 + ContinuationPublicInputs::COUNT
    );
    // The inputs are allocated in the order of the one serializer.
    assert_eq!(
        cs.instance_assignment().unwrap()[1..],
        c.public.to_field_elements()
    );
    // Key generation's blank circuit has the same structure.
    let blank = ConstraintSystem::<Fr>::new_ref();
    ContinuationCircuit::blank(c.shape)
        .generate_constraints(blank.clone())
        .unwrap();
    assert_eq!(blank.num_constraints(), CONSTRAINTS);
}

#[test]
fn every_rank_satisfies_with_the_same_structure() {
    let mut rng = StdRng::seed_from_u64(1);
    for (shape, constraints) in [
        (Shape::default(), CONSTRAINTS),
        (Shape { items: 4, depth: 8 }, SMALL_CONSTRAINTS),
    ] {
        for rank in 1..=MAX_RANK {
            let c = ContinuationCircuit::new(shape, sample::continuation(&mut rng, shape, rank, 3))
                .unwrap();
            let cs = ConstraintSystem::<Fr>::new_ref();
            c.generate_constraints(cs.clone()).unwrap();
            assert!(cs.is_satisfied().unwrap(), "rank {rank}");
            assert_eq!(cs.num_constraints(), constraints, "rank {rank}, {shape:?}");
        }
    }
}

#[test]
fn own_payout_binds_below_the_remaining_balance() {
    let mut f = fixture();
    f.policy.cap = 1_000;
    let c = consistent(&mut f);
    assert_eq!(c.public.claim_amount, 1_000);
    assert_eq!(native(&c), Ok(()));
    assert!(satisfied(&c));
}

#[test]
fn rank_zero_or_four() {
    // Rank 0 would spend the primary's nullifier again through the continuation circuit.
    let mut f = fixture();
    f.rank = 0;
    f.earlier.clear();
    let c = consistent(&mut f);
    assert_eq!(
        c.public.nullifier,
        zkclaim_circuits::nullifier::nullifier(f.sk.expose(), &f.invoice.serial)
    );
    refused(&c, V::RankOutOfRange { rank: 0 });
    // Rank 4, a fifth payer, after a third continuation that settled (the circuit has
    // three slots for earlier payers; the statement's list would have four).
    let mut f = fixture();
    let third = terms(&mut f.rng, 5, 500, 0);
    f.settle(third);
    f.rank = 4;
    refused(&consistent(&mut f), V::RankOutOfRange { rank: 4 });
}

#[test]
fn previous_leaf_not_in_the_settled_tree() {
    let mut f = fixture();
    f.previous_leaf = Some(Fr::rand(&mut f.rng));
    refused(&consistent(&mut f), V::NotSettled);
    // A real leaf, through a wrong path.
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.witness.settled_path.siblings[31] += Fr::from(1u64);
    refused(&c, V::NotSettled);
    let mut c = consistent(&mut f);
    c.witness.settled_path.index ^= 1;
    refused(&c, V::NotSettled);
}

#[test]
fn paid_before_off_by_one() {
    for delta in [1i64, -1] {
        let mut f = fixture();
        f.previous_leaf = Some(f.previous_leaf());
        f.paid_before = f.paid_before.checked_add_signed(delta).unwrap();
        refused(&consistent(&mut f), V::NotSettled);
    }
}

#[test]
fn paid_before_above_total() {
    // The previous leaf is consistent with the inflated sum: only the range rule breaks.
    let mut f = fixture();
    let total = invoice::total(&f.items());
    f.paid_before = total + 1;
    refused(
        &consistent(&mut f),
        V::PaidBeforeAboveTotal {
            paid_before: total + 1,
            total,
        },
    );
    // Exactly paid: a continuation pays nothing.
    f.paid_before = total;
    let c = consistent(&mut f);
    assert_eq!(c.public.claim_amount, 0);
    assert_eq!(native(&c), Ok(()));
    assert!(satisfied(&c));
}

#[test]
fn payout_above_the_remaining_balance() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    let own = c.advice.amount;
    assert_eq!((own, c.public.claim_amount), (29_303, 8_001));
    claim(&mut c, own);
    refused(
        &c,
        V::WrongAmount {
            claimed: own,
            payout: 8_001,
        },
    );
    claim(&mut c, 8_002);
    assert!(!satisfied(&c));
    claim(&mut c, 8_001);
    assert!(satisfied(&c));
}

#[test]
fn payout_above_the_policys_own_formula() {
    let mut f = fixture();
    f.policy.cap = 1_000;
    let mut c = consistent(&mut f);
    claim(&mut c, 8_001);
    refused(
        &c,
        V::WrongAmount {
            claimed: 8_001,
            payout: 1_000,
        },
    );
    claim(&mut c, 1_001);
    assert!(!satisfied(&c));
}

#[test]
fn wrong_rho() {
    // The previous leaf blinded as a primary's (rho 0) or with this rank's rho.
    let (sk, serial) = {
        let f = fixture();
        (*f.sk.expose(), f.invoice.serial)
    };
    for rho in [Fr::from(0u64), rho_k(&sk, &serial, 2)] {
        let mut f = fixture();
        f.previous_leaf = Some(settled::leaf(
            &nullifier_k(&sk, &serial, 1),
            f.paid_before,
            &rho,
            &settled::payers_of(&f.earlier).unwrap(),
        ));
        refused(&consistent(&mut f), V::NotSettled);
    }
    // This claim's leaf left unblinded, so that anyone could try every paid_total.
    let mut f = fixture();
    let mut c = consistent(&mut f);
    let payers = settled::payers(
        &settled::payers_of(&f.earlier).unwrap(),
        &c.public.policy_hash,
    );
    c.public.settled_leaf = settled::leaf(
        &c.public.nullifier,
        f.paid_before + c.public.claim_amount,
        &Fr::from(0u64),
        &payers,
    );
    refused(&c, V::WrongSettledLeaf);
}

#[test]
fn a_policy_that_already_paid() {
    // The primary's policy again, as a continuation; then the rank-1 payer's again.
    for rank in 0..2 {
        let mut f = fixture();
        f.policy = f.paid[rank].clone();
        refused(&consistent(&mut f), V::PolicyAlreadyPaid { rank });
    }
    // The primary's own policy at rank 1.
    let mut f = fixture();
    f.paid.truncate(1);
    f.earlier.truncate(1);
    f.rank = 1;
    f.paid_before = 226_426;
    assert!(satisfied(&consistent(&mut f)), "another policy at rank 1");
    f.policy = f.paid[0].clone();
    refused(&consistent(&mut f), V::PolicyAlreadyPaid { rank: 0 });
}

#[test]
fn wrong_list_of_earlier_policies() {
    // The previous leaf stays the honest one; the list given differs from what it commits to.
    let mut f = fixture();
    let honest = f.previous_leaf();
    let other = policy::policy_hash(&terms(&mut f.rng, 2, 10_000, 0));
    let lists = [
        vec![other, f.earlier[1]],
        vec![f.earlier[0], other],
        vec![f.earlier[1], f.earlier[0]],
    ];
    for earlier in lists {
        let mut f = fixture();
        f.previous_leaf = Some(honest);
        f.earlier = earlier;
        refused(&consistent(&mut f), V::NotSettled);
    }
    // One hash short, or one too many, for the rank.
    for len in [1, 3] {
        let mut f = fixture();
        f.previous_leaf = Some(honest);
        f.earlier.resize(len, other);
        let c = consistent(&mut f);
        assert_eq!(
            native(&c),
            Err(V::WrongEarlierCount {
                found: len,
                rank: 2
            })
        );
        assert!(!satisfied(&c), "{len} hashes");
    }
}

#[test]
fn unused_slots_are_inert() {
    // Rank 1 reads slot 0 only: whatever the other slots hold (here the new policy's own
    // hash, which a used slot must differ from) changes nothing.
    let mut f = fixture();
    f.paid.truncate(1);
    f.earlier.truncate(1);
    f.rank = 1;
    f.paid_before = 226_426;
    let honest = consistent(&mut f);
    assert!(satisfied(&honest));
    let mut c = honest.clone();
    c.witness.earlier.extend([c.public.policy_hash; 2]);
    assert!(satisfied(&c));
    assert_eq!(native(&c), Err(V::WrongEarlierCount { found: 3, rank: 1 }));
}

#[test]
fn settled_leaf_not_matching() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.public.settled_leaf += Fr::from(1u64);
    refused(&c, V::WrongSettledLeaf);
    // A leaf that leaves this claim's payout out of the total paid.
    let mut c = consistent(&mut f);
    let amount = c.public.claim_amount;
    claim(&mut c, amount);
    let honest_leaf = c.public.settled_leaf;
    c.witness.paid_before -= amount;
    claim(&mut c, amount);
    c.witness.paid_before += amount;
    assert_ne!(c.public.settled_leaf, honest_leaf);
    refused(&c, V::WrongSettledLeaf);
    // The payers of the leaf without this policy.
    let mut c = consistent(&mut f);
    let (sk, serial) = (*f.sk.expose(), f.invoice.serial);
    c.public.settled_leaf = settled::leaf(
        &c.public.nullifier,
        f.paid_before + c.public.claim_amount,
        &rho_k(&sk, &serial, 2),
        &settled::payers_of(&f.earlier).unwrap(),
    );
    refused(&c, V::WrongSettledLeaf);
}

#[test]
fn wrong_secret_key_or_another_patients_invoice() {
    let mut f = fixture();
    let mut c = consistent(&mut f);
    c.witness.claim.sk = SecretKey::random(&mut f.rng);
    refused(&c, V::Claim(RuleViolation::NotPatientsInvoice));
    let mut f = fixture();
    f.invoice.issued_on = 20_819;
    refused(&consistent(&mut f), V::Claim(RuleViolation::OutsidePeriod));
}

/// Changes one public input (by the given field element, or by one).
type Tamper = fn(&mut ContinuationPublicInputs, Fr);

#[test]
fn each_public_input_changed() {
    let mut f = fixture();
    let base = consistent(&mut f);
    let one = Fr::from(1u64);
    let tampers: [(Tamper, V); 8] = [
        (
            |p, d| p.invoice_root += d,
            V::Claim(RuleViolation::NotInTree),
        ),
        (|p, d| p.settled_root += d, V::NotSettled),
        (|p, d| p.nullifier += d, V::WrongNullifier),
        (
            |p, d| p.claimant_tag += d,
            V::Claim(RuleViolation::WrongClaimantTag),
        ),
        (
            |p, d| p.policy_hash += d,
            V::Claim(RuleViolation::WrongPolicyHash),
        ),
        (
            |p, _| p.claim_amount += 1,
            V::WrongAmount {
                claimed: 8_002,
                payout: 8_001,
            },
        ),
        (|p, d| p.settled_leaf += d, V::WrongSettledLeaf),
        (
            |p, _| p.insurer_id += 1,
            V::Claim(RuleViolation::WrongInsurer {
                claimed: 5,
                policy: 4,
            }),
        ),
    ];
    for (tamper, rule) in tampers {
        let mut c = base.clone();
        tamper(&mut c.public, one);
        refused(&c, rule);
    }
    // The rank-1 nullifier on a rank-2 claim: a rank claimed twice under another number.
    let mut c = base.clone();
    c.public.nullifier = nullifier_k(f.sk.expose(), &f.invoice.serial, 1);
    refused(&c, V::WrongNullifier);
}
