//! Request authentication for member actions.
//!
//! A member signs `METHOD\nPATH\nhex(sha256(body))\nTIMESTAMP` with its Ed25519 member key
//! and sends `x-zkclaim-member`, `x-zkclaim-timestamp` (unix seconds) and
//! `x-zkclaim-signature` (hex). The server accepts a timestamp within the replay window of
//! its clock and each signature once within that window. This authenticates the HTTP
//! request only: the ledger transaction in the body carries its own member signature, which
//! the ledger checks; the handlers require both signers to be the same member.

use super::error::ServiceError;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{SystemTime, UNIX_EPOCH},
};
use zkclaim_ledger::{Ledger, LedgerError, Role};

pub const MEMBER: &str = "x-zkclaim-member";
pub const TIMESTAMP: &str = "x-zkclaim-timestamp";
pub const SIGNATURE: &str = "x-zkclaim-signature";

/// The bytes a member signs to authenticate one request. The leading method keeps them
/// apart from the ledger's `zkclaim/...`-prefixed transaction and block messages.
pub fn message(method: &str, path: &str, body: &[u8], timestamp: u64) -> Vec<u8> {
    format!(
        "{method}\n{path}\n{}\n{timestamp}",
        hex::encode(Sha256::digest(body))
    )
    .into_bytes()
}

pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Signatures seen within the replay window, with their timestamps. An entry can go once its
/// timestamp is out of the window: the timestamp check refuses that request anyway.
#[derive(Default)]
pub struct ReplayCache(Mutex<HashMap<[u8; 64], u64>>);

impl ReplayCache {
    /// Records `signature`; false if it was already there.
    fn first_use(&self, signature: [u8; 64], timestamp: u64, now: u64, window: u64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|_, &mut t| t.abs_diff(now) <= window);
        seen.insert(signature, timestamp).is_none()
    }
}

fn unauthorized(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Unauthorized(code, message.into())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ServiceError> {
    headers
        .get(name)
        .ok_or_else(|| unauthorized("missing_auth", format!("missing header {name}")))?
        .to_str()
        .map_err(|_| unauthorized("missing_auth", format!("header {name} is not text")))
}

/// The member who signed this request, once its signature, freshness and role check out:
/// 401 for an unknown member, a bad, stale or replayed signature; 403 for the wrong role.
pub fn authenticate(
    ledger: &Ledger,
    replay: &ReplayCache,
    window: u64,
    (method, path, headers, body): (&str, &str, &HeaderMap, &[u8]),
    needed: Role,
) -> Result<u32, ServiceError> {
    let member: u32 = header(headers, MEMBER)?
        .parse()
        .map_err(|_| unauthorized("missing_auth", format!("{MEMBER} must be a member id")))?;
    let timestamp: u64 = header(headers, TIMESTAMP)?
        .parse()
        .map_err(|_| unauthorized("missing_auth", format!("{TIMESTAMP} must be unix seconds")))?;
    let mut signature = [0u8; 64];
    hex::decode_to_slice(header(headers, SIGNATURE)?, &mut signature).map_err(|_| {
        unauthorized(
            "bad_signature",
            format!("{SIGNATURE} must be 128 hex digits"),
        )
    })?;
    let now = now_s();
    if timestamp.abs_diff(now) > window {
        return Err(unauthorized(
            "stale_timestamp",
            format!("the request timestamp is more than {window} s from the server's clock"),
        ));
    }
    let role = ledger
        .verify_member(member, &message(method, path, body, timestamp), &signature)
        .map_err(|e| match e {
            LedgerError::UnknownMember(_) => unauthorized("unknown_member", e.to_string()),
            _ => unauthorized("bad_signature", "bad request signature"),
        })?;
    if !replay.first_use(signature, timestamp, now, window) {
        return Err(unauthorized(
            "replayed_signature",
            "this request signature was already used",
        ));
    }
    if role != needed {
        return Err(ServiceError::Forbidden(
            "wrong_role",
            format!("member {member} has the {role} role; this action needs the {needed} role"),
        ));
    }
    Ok(member)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_laid_out_as_documented() {
        let m = message("POST", "/v1/invoices", b"{}", 7);
        let expected = format!(
            "POST\n/v1/invoices\n{}\n7",
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(String::from_utf8(m).unwrap(), expected);
    }

    #[test]
    fn a_signature_is_accepted_once_per_window() {
        let cache = ReplayCache::default();
        assert!(cache.first_use([1; 64], 100, 100, 10));
        assert!(!cache.first_use([1; 64], 100, 105, 10));
        assert!(cache.first_use([2; 64], 105, 105, 10));
        // Out of the window, the entry is forgotten (the timestamp check refuses it).
        assert!(cache.first_use([1; 64], 100, 111, 10));
    }
}
