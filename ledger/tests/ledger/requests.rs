//! Request ids: each recorded once, on the store the blocks live in, so that a replayed
//! member request is refused after a restart and wherever the store is shared.

use crate::fixture::*;
use zkclaim_ledger::{BlockStore, RedbStore, RequestId};

fn id(timestamp: u64, member: u32, nonce: u8) -> RequestId {
    RequestId {
        timestamp,
        member,
        nonce: [nonce; 16],
    }
}

#[test]
fn a_request_id_is_recorded_once_and_old_ones_are_forgotten() {
    let store = fresh_store();
    assert_eq!(store.record_request(&id(100, HOSPITAL, 1), 90), Ok(true));
    assert_eq!(store.record_request(&id(100, HOSPITAL, 1), 90), Ok(false));
    // Another nonce, another member, another second: other requests.
    assert_eq!(store.record_request(&id(100, HOSPITAL, 2), 90), Ok(true));
    assert_eq!(store.record_request(&id(100, INSURER, 1), 90), Ok(true));
    assert_eq!(store.record_request(&id(101, HOSPITAL, 1), 90), Ok(true));
    // Forgetting what came before second 101 drops the ids of second 100, and only them.
    assert_eq!(store.record_request(&id(105, HOSPITAL, 1), 101), Ok(true));
    assert_eq!(store.record_request(&id(100, HOSPITAL, 1), 100), Ok(true));
    assert_eq!(store.record_request(&id(101, HOSPITAL, 1), 100), Ok(false));
}

#[test]
fn the_ledger_refuses_a_request_older_than_what_it_keeps() {
    let (ledger, _) = test_ledger(128, 1);
    assert_eq!(ledger.record_request(&id(99, HOSPITAL, 1), 100), Ok(false));
    assert_eq!(ledger.record_request(&id(100, HOSPITAL, 1), 100), Ok(true));
    assert_eq!(ledger.record_request(&id(100, HOSPITAL, 1), 100), Ok(false));
}

#[test]
fn recorded_request_ids_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.record_request(&id(100, HOSPITAL, 1), 90), Ok(true));
    }
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.record_request(&id(100, HOSPITAL, 1), 90), Ok(false));
    assert_eq!(store.record_request(&id(100, HOSPITAL, 2), 90), Ok(true));
}

/// Eight threads record the same ids at once: each id is new to exactly one of them.
fn each_id_is_new_once(store: &dyn BlockStore) {
    let firsts: usize = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..20u8)
                        .filter(|&n| store.record_request(&id(200, HOSPITAL, n), 190).unwrap())
                        .count()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(firsts, 20);
}

#[test]
fn an_id_recorded_by_many_threads_at_once_is_new_to_one() {
    each_id_is_new_once(&*fresh_store());
    let dir = tempfile::tempdir().unwrap();
    each_id_is_new_once(&RedbStore::open(&dir.path().join("chain.redb")).unwrap());
}
