//! Request authentication for member actions (docs/protocol.md, "Request signature").
//!
//! A member signs [`message`],
//! `zkclaim/request/v1 \n METHOD \n PATH \n hex(sha256(body)) \n MEMBER \n TIMESTAMP \n NONCE`
//! (joined by newlines), with its Ed25519 member key and sends `x-zkclaim-member`,
//! `x-zkclaim-timestamp` (unix seconds), `x-zkclaim-nonce` (16 random bytes, 32 lowercase hex
//! digits, new for every request) and `x-zkclaim-signature` (hex). PATH is the request's
//! path without its query string; a GET signs an empty body. The server accepts a
//! timestamp within the replay window of its clock, and each (member, timestamp, nonce) once:
//! it is recorded in the ledger's store before the action runs, so a replay is refused after
//! a restart and at every node that shares the store. An honest retry signs again, with a new
//! nonce, and goes through.
//!
//! This authenticates the HTTP request only: the ledger transaction in the body carries its
//! own member signature, which the ledger checks; the handlers require both signers to be the
//! same member.

use super::error::ServiceError;
use axum::http::HeaderMap;
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};
use zkclaim_ledger::{Ledger, LedgerError, MemberKey, RequestId, Role};

pub const MEMBER: &str = "x-zkclaim-member";
pub const TIMESTAMP: &str = "x-zkclaim-timestamp";
pub const NONCE: &str = "x-zkclaim-nonce";
pub const SIGNATURE: &str = "x-zkclaim-signature";

/// Keeps request signatures apart from the ledger's `zkclaim/tx/v1` and block messages.
const DOMAIN: &str = "zkclaim/request/v1";

/// The bytes a member signs to authenticate one request.
pub fn message(method: &str, path: &str, body: &[u8], id: &RequestId) -> Vec<u8> {
    [
        DOMAIN,
        method,
        path,
        &hex::encode(Sha256::digest(body)),
        &id.member.to_string(),
        &id.timestamp.to_string(),
        &hex::encode(id.nonce),
    ]
    .join("\n")
    .into_bytes()
}

pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The headers that authenticate a request by `key`, made now with a fresh random nonce.
pub fn sign(key: &MemberKey, method: &str, path: &str, body: &[u8]) -> [(&'static str, String); 4] {
    let mut id = RequestId {
        timestamp: now_s(),
        member: key.member_id(),
        nonce: [0; 16],
    };
    OsRng.fill_bytes(&mut id.nonce);
    let signature = key.sign_bytes(&message(method, path, body, &id));
    [
        (MEMBER, id.member.to_string()),
        (TIMESTAMP, id.timestamp.to_string()),
        (NONCE, hex::encode(id.nonce)),
        (SIGNATURE, hex::encode(signature)),
    ]
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

/// The request's id, once its signature, freshness and role check out: 401 for an unknown
/// member, a bad or stale signature; 403 for the wrong role. Whether it was used before is
/// [`first_use`]'s question.
pub fn authenticate(
    ledger: &Ledger,
    window: u64,
    (method, path, headers, body): (&str, &str, &HeaderMap, &[u8]),
    needed: Role,
) -> Result<RequestId, ServiceError> {
    let member: u32 = header(headers, MEMBER)?
        .parse()
        .map_err(|_| unauthorized("missing_auth", format!("{MEMBER} must be a member id")))?;
    let timestamp: u64 = header(headers, TIMESTAMP)?
        .parse()
        .map_err(|_| unauthorized("missing_auth", format!("{TIMESTAMP} must be unix seconds")))?;
    let mut nonce = [0u8; 16];
    let text = header(headers, NONCE)?;
    // Lowercase only, so that one nonce has one spelling in the signed message.
    if hex::decode_to_slice(text, &mut nonce).is_err() || hex::encode(nonce) != text {
        return Err(unauthorized(
            "missing_auth",
            format!("{NONCE} must be 32 lowercase hex digits"),
        ));
    }
    let mut signature = [0u8; 64];
    hex::decode_to_slice(header(headers, SIGNATURE)?, &mut signature).map_err(|_| {
        unauthorized(
            "bad_signature",
            format!("{SIGNATURE} must be 128 hex digits"),
        )
    })?;
    if timestamp.abs_diff(now_s()) > window {
        return Err(unauthorized(
            "stale_timestamp",
            format!("the request timestamp is more than {window} s from the server's clock"),
        ));
    }
    let id = RequestId {
        timestamp,
        member,
        nonce,
    };
    let role = ledger
        .verify_member(member, &message(method, path, body, &id), &signature)
        .map_err(|e| match e {
            LedgerError::UnknownMember(_) => unauthorized("unknown_member", e.to_string()),
            _ => unauthorized("bad_signature", "bad request signature"),
        })?;
    if role != needed {
        return Err(ServiceError::Forbidden(
            "wrong_role",
            format!("member {member} has the {role} role; this action needs the {needed} role"),
        ));
    }
    Ok(id)
}

/// Records the authenticated request `id` in the ledger's store: 401 if it was there, a
/// replay. Ids are kept twice the replay window, beyond which their timestamps are refused.
/// Blocks on the store: call it off the async workers.
pub fn first_use(ledger: &Ledger, id: &RequestId, window: u64) -> Result<(), ServiceError> {
    let forget_before = now_s().saturating_sub(window.saturating_mul(2));
    if ledger.record_request(id, forget_before)? {
        Ok(())
    } else {
        Err(unauthorized(
            "replayed_signature",
            "this signed request was already used; a retry must be signed again, with a new nonce",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use zkclaim_ledger::{SignedTransaction, Transaction};

    #[test]
    fn the_message_is_laid_out_as_documented() {
        let id = RequestId {
            timestamp: 7,
            member: 10,
            nonce: [0xab; 16],
        };
        let m = message("POST", "/v1/invoices", b"{}", &id);
        let expected = [
            "zkclaim/request/v1",
            "POST",
            "/v1/invoices",
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "10",
            "7",
            "abababababababababababababababab",
        ]
        .join("\n");
        assert_eq!(String::from_utf8(m).unwrap(), expected);
    }

    fn hex_field(v: &Value, name: &str) -> Vec<u8> {
        hex::decode(v[name].as_str().unwrap()).unwrap()
    }

    /// docs/vectors/signing.json, which the JavaScript client's test checks too: the code
    /// computes every expected value from the inputs.
    #[test]
    fn the_shared_signing_vectors_match_the_code() {
        let vectors: Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/vectors/signing.json"
        )))
        .unwrap();
        let chain_id = vectors["chain_id"].as_str().unwrap();
        let key = |member: &Value| {
            let member = vectors["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["member_id"] == *member)
                .unwrap();
            let file = serde_json::json!({
                "member_id": member["member_id"],
                "secret_key": member["secret_key"],
            });
            let key = MemberKey::from_json(&file.to_string()).unwrap();
            assert_eq!(key.public_key().to_vec(), hex_field(member, "public_key"));
            key
        };
        let transactions = vectors["transactions"].as_array().unwrap();
        for v in transactions {
            let key = key(&v["signer"]);
            let tx: Transaction = serde_json::from_value(v["tx"].clone()).unwrap();
            let bytes = tx.signing_bytes(chain_id, key.member_id());
            assert_eq!(hex::encode(&bytes), v["signing_bytes"], "{}", v["name"]);
            let stx = tx.sign(chain_id, &key);
            assert_eq!(hex::encode(stx.signature), v["signature"], "{}", v["name"]);
            assert_eq!(hex::encode(stx.id(chain_id)), v["tx_id"], "{}", v["name"]);
            assert_eq!(serde_json::to_string(&stx).unwrap(), v["body"]);
            let body: SignedTransaction =
                serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
            assert_eq!(body, stx);
        }
        let requests = vectors["requests"].as_array().unwrap();
        for v in requests {
            let key = key(&v["member"]);
            let mut nonce = [0; 16];
            hex::decode_to_slice(v["nonce"].as_str().unwrap(), &mut nonce).unwrap();
            let id = RequestId {
                timestamp: v["timestamp"].as_u64().unwrap(),
                member: key.member_id(),
                nonce,
            };
            let body = v["body"].as_str().unwrap().as_bytes();
            let method = v["method"].as_str().unwrap();
            let m = message(method, v["path"].as_str().unwrap(), body, &id);
            assert_eq!(String::from_utf8(m.clone()).unwrap(), v["message"]);
            assert_eq!(hex::encode(key.sign_bytes(&m)), v["signature"]);
        }
        assert!(transactions.len() >= 2 && requests.len() >= 2);
    }
}
