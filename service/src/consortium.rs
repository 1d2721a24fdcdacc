//! A consortium's files in a data folder: genesis, member keys, the ledger store.
//!
//! ```text
//! DATA/params/                      claim circuit parameters
//! DATA/consortium/genesis.json      members, roles, keys, verifying-key digest, K
//! DATA/consortium/keys/member-N.json  each member's Ed25519 key (mode 0600)
//! DATA/ledger.redb                  the blocks (or an etcd cluster: `--ledger etcd://…`)
//! ```

use crate::error::Error;
use rand::rngs::OsRng;
use std::path::PathBuf;
use std::sync::Arc;
use zkclaim_ledger::{BlockStore, EtcdStore, Genesis, Ledger, Member, MemberKey, RedbStore, Role};
use zkclaim_prover::ClaimParams;
use zkclaim_verifier::PreparedClaimKey;

pub const HOSPITALS: [u32; 2] = [1, 2];
pub const INSURERS: [u32; 2] = [10, 11];
pub const REGULATOR: u32 = 20;

pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn params(&self) -> PathBuf {
        self.0.join("params")
    }
    pub fn genesis(&self) -> PathBuf {
        self.0.join("consortium/genesis.json")
    }
    fn key(&self, member: u32) -> PathBuf {
        self.0.join(format!("consortium/keys/member-{member}.json"))
    }
    fn store(&self) -> PathBuf {
        self.0.join("ledger.redb")
    }

    pub fn load_genesis(&self) -> Result<Genesis, Error> {
        Ok(Genesis::load(&self.genesis())?)
    }

    pub fn load_key(&self, member: u32) -> Result<MemberKey, Error> {
        Ok(MemberKey::load(&self.key(member))?)
    }

    /// Writes a development consortium: two hospitals, two insurers and a regulator, each
    /// with a fresh key, pinned to these circuit parameters.
    pub fn init(&self, params: &ClaimParams) -> Result<Genesis, Error> {
        let genesis_path = self.genesis();
        if genesis_path.exists() {
            return Err(Error::Exists(genesis_path));
        }
        let keys_dir = self.0.join("consortium/keys");
        std::fs::create_dir_all(&keys_dir).map_err(|source| Error::Io {
            path: keys_dir,
            source,
        })?;
        let names = [
            (HOSPITALS[0], "Renji Hospital", Role::Hospital),
            (HOSPITALS[1], "Huashan Hospital", Role::Hospital),
            (INSURERS[0], "Insurer A", Role::Insurer),
            (INSURERS[1], "Insurer B", Role::Insurer),
            (REGULATOR, "Health Insurance Regulator", Role::Regulator),
        ];
        let mut members = Vec::new();
        for (id, name, role) in names {
            let key = MemberKey::generate(id, &mut OsRng);
            key.save(&self.key(id))?;
            members.push(Member {
                id,
                name: name.into(),
                role,
                public_key: key.public_key(),
            });
        }
        let genesis = Genesis {
            chain_id: "zkclaim-dev".into(),
            members,
            verifying_key_digest: params.verifying_key.digest(),
            shape: params.shape,
            root_window: 128,
            block_window_ms: 0,
        };
        let json = serde_json::to_string_pretty(&genesis).expect("genesis serializes");
        std::fs::write(&genesis_path, json).map_err(|source| Error::Io {
            path: genesis_path,
            source,
        })?;
        Ok(genesis)
    }

    /// The blocks: on the etcd cluster `ledger` names (`etcd://…`), else in DATA/ledger.redb.
    pub fn open_store(
        &self,
        genesis: &Genesis,
        ledger: Option<&str>,
    ) -> Result<Arc<dyn BlockStore>, Error> {
        Ok(match ledger {
            Some(url) => Arc::new(EtcdStore::connect(url, &genesis.chain_id)?),
            None => Arc::new(RedbStore::open(&self.store())?),
        })
    }

    /// Opens the node's ledger (see [`DataDir::open_store`]), `proposer` signing its blocks.
    pub fn open_ledger(
        &self,
        params: &ClaimParams,
        ledger: Option<&str>,
        proposer: u32,
    ) -> Result<Ledger, Error> {
        let genesis = self.load_genesis()?;
        Ok(Ledger::open(
            self.open_store(&genesis, ledger)?,
            genesis,
            params.prepared.clone(),
            self.load_key(proposer)?,
        )?)
    }
}

/// Replays the chain (see [`DataDir::open_store`]) and re-verifies everything.
pub fn audit(
    data: &DataDir,
    key: &PreparedClaimKey,
    ledger: Option<&str>,
) -> Result<zkclaim_ledger::AuditReport, Error> {
    let genesis = data.load_genesis()?;
    let store = data.open_store(&genesis, ledger)?;
    zkclaim_ledger::audit(&*store, &genesis, key).map_err(Error::AuditFailed)
}
