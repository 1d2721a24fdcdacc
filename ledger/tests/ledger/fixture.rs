//! Members, genesis, circuit parameters, and patients that can prove claims.

use crate::shared::SharedLog;
use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::{Arc, OnceLock};
use zkclaim_circuits::Circuit;
use zkclaim_circuits::{
    claim::{ClaimWitness, PublicInputs, Shape},
    continuation::{ContinuationPublicInputs, ContinuationWitness},
    invoice::Invoice,
    keys::SecretKey,
    nullifier, sample, settled,
    tree::MerklePath,
};
use zkclaim_ledger::{
    tx_root, Block, BlockHeader, BlockStore, CircuitPin, EtcdStore, Genesis, Ledger, Member,
    MemberKey, MemoryStore, Role, SignedTransaction, Transaction, VerifyingKeys,
};
use zkclaim_prover::{prove, prove_continuation, ClaimParams};
use zkclaim_verifier::{ClaimPackage, ContinuationPackage};

pub const SHAPE: Shape = Shape { items: 2, depth: 8 };
pub const CHAIN: &str = "zkclaim-test";
pub const HOSPITAL: u32 = 1;
pub const HOSPITAL_2: u32 = 2;
pub const INSURER: u32 = 10;
pub const INSURER_2: u32 = 11;
pub const REGULATOR: u32 = 20;

pub fn continuation_params() -> &'static ClaimParams {
    static P: OnceLock<ClaimParams> = OnceLock::new();
    P.get_or_init(|| {
        ClaimParams::setup(Circuit::Continuation, SHAPE, &mut StdRng::seed_from_u64(2)).unwrap()
    })
}

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

/// A genesis pinning both circuits' verifying keys.
pub fn genesis(root_window: u32, block_window_ms: u64) -> Genesis {
    let mut genesis = genesis_for(
        params().verifying_key.digest(),
        root_window,
        block_window_ms,
    );
    genesis.continuation = Some(CircuitPin {
        verifying_key_digest: continuation_params().verifying_key.digest(),
        proving_key_digest: None,
        ceremony: None,
    });
    genesis
}

/// A genesis pinning the primary circuit's verifying key with this digest, and no
/// continuation circuit.
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
    let continuation = genesis
        .continuation
        .as_ref()
        .map(|_| continuation_params().prepared.clone());
    VerifyingKeys::new(genesis, params().prepared.clone(), continuation).unwrap()
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

/// Two handles on one fresh shared log, for two nodes: two connections to one key prefix of
/// the etcd cluster named by `ZKCLAIM_TEST_ETCD`, or one in-memory log.
pub fn shared_stores() -> [Arc<dyn BlockStore>; 2] {
    match std::env::var("ZKCLAIM_TEST_ETCD") {
        Ok(url) => {
            let url = format!("{url}/zkclaim-test-{}", rand::random::<u64>());
            [(); 2]
                .map(|()| Arc::new(EtcdStore::connect(&url, CHAIN).unwrap()) as Arc<dyn BlockStore>)
        }
        Err(_) => {
            let log = Arc::<SharedLog>::default();
            [log.clone(), log]
        }
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

pub fn settle_next(claim: ContinuationPackage, insurer: u32) -> SignedTransaction {
    Transaction::SettleContinuation { claim }.sign(CHAIN, &key(insurer))
}

/// A proof of the continuation `witness`.
pub fn prove_next(witness: &ContinuationWitness, rng: &mut StdRng) -> ContinuationPackage {
    prove_continuation(continuation_params(), witness.clone(), rng).unwrap()
}

/// The path of a settled claim's leaf at the ledger's current settled root.
fn settled_path(ledger: &Ledger, leaf: Fr) -> MerklePath {
    let index = ledger.settled_index(leaf).expect("settled");
    ledger.settled_path(index).unwrap().path
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

    /// The invoice's path at the ledger's current root.
    fn path(&self, ledger: &Ledger) -> MerklePath {
        let index = ledger.leaf_index(self.commitment()).expect("registered");
        ledger.leaf_path(index).unwrap().path
    }

    /// The primary claim's witness at `insurer`, against the ledger's current root.
    pub fn witness(&self, ledger: &Ledger, insurer: u32, rng: &mut StdRng) -> ClaimWitness {
        ClaimWitness {
            sk: self.sk.clone(),
            invoice: self.invoice.clone(),
            path: self.path(ledger),
            policy: sample::policy(rng, insurer),
        }
    }

    /// Proves a claim at `insurer` against the ledger's current root.
    pub fn claim(&self, ledger: &Ledger, insurer: u32, rng: &mut StdRng) -> ClaimPackage {
        let claim = prove(params(), self.witness(ledger, insurer, rng), rng).unwrap();
        assert_eq!(claim.public_inputs.invoice_root, ledger.root());
        claim
    }

    /// The rank-1 continuation at `insurer` once the primary claim (`primary`, `public`)
    /// settled, against the ledger's current roots.
    pub fn first_continuation(
        &self,
        ledger: &Ledger,
        primary: &ClaimWitness,
        public: &PublicInputs,
        insurer: u32,
        rng: &mut StdRng,
    ) -> ContinuationWitness {
        let path = settled_path(ledger, settled::primary_leaf(public));
        let policy = sample::policy(rng, insurer);
        let mut witness = ContinuationWitness::after_primary(primary, public, policy, path);
        witness.claim.path = self.path(ledger);
        witness
    }

    /// The next rank's continuation at `insurer` once `previous` (with public inputs
    /// `public`) settled, against the ledger's current roots.
    pub fn next_continuation(
        &self,
        ledger: &Ledger,
        previous: &ContinuationWitness,
        public: &ContinuationPublicInputs,
        insurer: u32,
        rng: &mut StdRng,
    ) -> ContinuationWitness {
        let path = settled_path(ledger, public.settled_leaf);
        let mut witness = previous.next(public, sample::policy(rng, insurer), path);
        witness.claim.path = self.path(ledger);
        witness
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
