//! Members, genesis, circuit parameters, and patients that can prove claims.

use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::{Arc, OnceLock};
use zkclaim_circuits::Circuit;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    invoice::Invoice,
    keys::SecretKey,
    nullifier, sample,
};
use zkclaim_ledger::{
    tx_root, Block, BlockHeader, BlockStore, EtcdStore, Genesis, Ledger, Member, MemberKey,
    MemoryStore, Role, SignedTransaction, Transaction, VerifyingKeys,
};
use zkclaim_prover::{prove, ClaimParams};
use zkclaim_verifier::ClaimPackage;

pub const SHAPE: Shape = Shape { items: 2, depth: 8 };
pub const CHAIN: &str = "zkclaim-test";
pub const HOSPITAL: u32 = 1;
pub const HOSPITAL_2: u32 = 2;
pub const INSURER: u32 = 10;
pub const INSURER_2: u32 = 11;
pub const REGULATOR: u32 = 20;

pub fn params() -> &'static ClaimParams {
    static P: OnceLock<ClaimParams> = OnceLock::new();
    P.get_or_init(|| {
        ClaimParams::setup(Circuit::Primary, SHAPE, &mut StdRng::seed_from_u64(1)).unwrap()
    })
}

/// Member keys are fixed per id, so a genesis can be rebuilt in another process.
pub fn key(id: u32) -> MemberKey {
    MemberKey::generate(id, &mut StdRng::seed_from_u64(1000 + u64::from(id)))
}

pub fn genesis(root_window: u32, block_window_ms: u64) -> Genesis {
    genesis_for(
        params().verifying_key.digest(),
        root_window,
        block_window_ms,
    )
}

/// A genesis pinning the verifying key with this digest.
pub fn genesis_for(
    verifying_key_digest: [u8; 32],
    root_window: u32,
    block_window_ms: u64,
) -> Genesis {
    let members = [
        (HOSPITAL, Role::Hospital),
        (HOSPITAL_2, Role::Hospital),
        (INSURER, Role::Insurer),
        (INSURER_2, Role::Insurer),
        (REGULATOR, Role::Regulator),
    ];
    Genesis {
        chain_id: CHAIN.into(),
        members: members
            .iter()
            .map(|&(id, role)| Member {
                id,
                name: format!("member {id}"),
                role,
                public_key: key(id).public_key(),
            })
            .collect(),
        verifying_key_digest,
        proving_key_digest: None,
        ceremony: None,
        continuation: None,
        shape: SHAPE,
        root_window,
        root_max_age_ms: zkclaim_ledger::DEFAULT_ROOT_MAX_AGE_MS,
        hospital_root_quota: None,
        block_window_ms,
    }
}

/// The verifying keys of the circuits `genesis` pins.
pub fn keys(genesis: &Genesis) -> VerifyingKeys {
    VerifyingKeys::new(genesis, params().prepared.clone(), None).unwrap()
}

/// The regulator proposes blocks.
pub fn open(store: Arc<dyn BlockStore>, genesis: Genesis) -> Ledger {
    let keys = keys(&genesis);
    Ledger::open(store, genesis, keys, key(REGULATOR)).unwrap()
}

pub fn memory_ledger(root_window: u32, block_window_ms: u64) -> (Ledger, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (
        open(store.clone(), genesis(root_window, block_window_ms)),
        store,
    )
}

/// A fresh store: in memory, or on the etcd cluster named by `ZKCLAIM_TEST_ETCD`
/// (`etcd://HOST:PORT,…`), under a key prefix of its own, so that the ledger's rules are
/// tested on both backends.
pub fn fresh_store() -> Arc<dyn BlockStore> {
    match std::env::var("ZKCLAIM_TEST_ETCD") {
        Ok(url) => {
            let prefix = format!("zkclaim-test-{}", rand::random::<u64>());
            Arc::new(EtcdStore::connect(&format!("{url}/{prefix}"), CHAIN).unwrap())
        }
        Err(_) => Arc::new(MemoryStore::new()),
    }
}

pub fn test_ledger(root_window: u32, block_window_ms: u64) -> (Ledger, Arc<dyn BlockStore>) {
    let store = fresh_store();
    (
        open(store.clone(), genesis(root_window, block_window_ms)),
        store,
    )
}

pub fn register(commitment: Fr, hospital: u32) -> SignedTransaction {
    Transaction::RegisterInvoice { commitment }.sign(CHAIN, &key(hospital))
}

pub fn void(commitment: Fr, hospital: u32) -> SignedTransaction {
    Transaction::VoidInvoice { commitment }.sign(CHAIN, &key(hospital))
}

pub fn settle(claim: ClaimPackage, insurer: u32) -> SignedTransaction {
    Transaction::SettleClaim { claim }.sign(CHAIN, &key(insurer))
}

/// A patient with one invoice.
pub struct Patient {
    pub sk: SecretKey,
    pub invoice: Invoice,
}

impl Patient {
    pub fn new(rng: &mut StdRng) -> Self {
        let sk = SecretKey::random(rng);
        let invoice = sample::spec_invoice(rng, sk.public_key(), HOSPITAL);
        Self { sk, invoice }
    }

    pub fn commitment(&self) -> Fr {
        self.invoice.commitment(SHAPE.items).unwrap()
    }

    pub fn nullifier(&self) -> Fr {
        nullifier::nullifier(self.sk.expose(), &self.invoice.serial)
    }

    /// Proves a claim at `insurer` against the ledger's current root.
    pub fn claim(&self, ledger: &Ledger, insurer: u32, rng: &mut StdRng) -> ClaimPackage {
        let index = ledger.leaf_index(self.commitment()).expect("registered");
        let witness = ClaimWitness {
            sk: self.sk.clone(),
            invoice: self.invoice.clone(),
            path: ledger.leaf_path(index).unwrap().path,
            policy: sample::policy(rng, insurer),
        };
        let claim = prove(params(), witness, rng).unwrap();
        assert_eq!(claim.public_inputs.invoice_root, ledger.root());
        claim
    }
}

/// When a forged header is edited.
pub enum Edit {
    BeforeSigning,
    AfterSigning,
}

/// A block for slot `height` signed by `proposer`, chained onto `head` with a correct
/// tx_root, a later time and `head`'s invoice and settled roots, unless `edit` changes them.
pub fn forged(
    head: &BlockHeader,
    height: u64,
    proposer: &MemberKey,
    transactions: Vec<SignedTransaction>,
    when: Edit,
    edit: impl FnOnce(&mut BlockHeader),
) -> Block {
    let ids: Vec<_> = transactions.iter().map(|t| t.id(CHAIN)).collect();
    let mut header = BlockHeader {
        height,
        prev_hash: head.hash(),
        tx_root: tx_root(&ids),
        invoice_root: head.invoice_root,
        settled_root: head.settled_root,
        time_ms: head.time_ms + 1,
        proposer: 0,
        signature: [0; 64],
    };
    match when {
        Edit::BeforeSigning => {
            edit(&mut header);
            header.sign(proposer);
        }
        Edit::AfterSigning => {
            header.sign(proposer);
            edit(&mut header);
        }
    }
    Block {
        header,
        transactions,
    }
}
