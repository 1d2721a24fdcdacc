//! The route handlers, each with its operation in `/openapi.json` (`#[utoipa::path]`: its
//! id, parameters, body and every answer). Member actions carry the member-signed ledger
//! transaction as their body (`SignedTransaction` JSON): the ledger only accepts
//! transactions signed by the member itself, so the node never holds member keys. The HTTP
//! request signature ([`super::auth`]) authenticates the request, and its signer must be the
//! transaction's; [`super::routes`] declares it on the signed routes.
//!
//! One module a group of routes: [`ledger`] (invoices, settlements and the chain's reads),
//! [`insurers`] (enrolments, the insurer's report and the patients' intake), [`console`]
//! (the same reads for the insurer's console), [`explorer`] (the ledger explorer's block
//! list, audit and throughput), [`proofs`] and [`operations`]; this one holds what they
//! share: the body and path extractors, refusals
//! that never echo a value, member authentication and the blocking pools.

use super::{
    actions::{self, Package, ProofRequest, Registered, Settled, SettledClaim, Voided, Witness},
    admission::{Peer, Slot},
    auth,
    error::ServiceError,
    insurer,
    insurer::Enrolled,
    jobs::{Accepted, JobStatus},
    pool::ProverPool,
    schemas::{
        BadRequest, Conflict, Digest, Forbidden, Gone, Hex, InternalError, NotFound,
        PayloadTooLarge, SignedRegisterInvoice, SignedSettlement, SignedVoidInvoice,
        TooManyRequests, Unauthorized, Unavailable, Unprocessable,
    },
    Shared,
};
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request, State},
    http::{header, request::Parts, HeaderMap, Method, StatusCode, Uri},
    response::IntoResponse,
    Json,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use serde_path_to_error::Segment;
use std::sync::atomic::Ordering;
use zeroize::Zeroizing;
use zkclaim_circuits::{claim::Shape, field, schema::Field, tree::MerklePath, Circuit};
use zkclaim_insurer::{Application, Enrolment, Outcome, Report};
use zkclaim_ledger::{Genesis, Ledger, Role, SignedTransaction};

mod console;
mod explorer;
mod insurers;
mod ledger;
mod operations;
mod proofs;

pub use console::*;
pub use explorer::*;
pub use insurers::*;
pub use ledger::*;
pub use operations::*;
pub use proofs::*;

type Answer<T> = Result<Json<T>, ServiceError>;

/// The raw body, refused with 413 beyond the configured limit.
pub struct RawBody(Bytes);

impl FromRequest<Shared> for RawBody {
    type Rejection = ServiceError;

    async fn from_request(request: Request, state: &Shared) -> Result<Self, ServiceError> {
        Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ServiceError::TooLarge(state.config.body_limit)
                } else {
                    ServiceError::BadRequest("bad_body", "cannot read the request body".into())
                }
            })
    }
}

/// Parses a JSON body. A refusal names the offending field by its path and says what is
/// wrong with it, never the value it holds.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path: Vec<Segment> = e.path().iter().cloned().collect();
        refusal(&path, e.into_inner())
    })?;
    de.end().map_err(|e| refusal(&[], e))?;
    Ok(value)
}

/// A claim package of either circuit, parsed as [`parse`] parses its kind, so that a
/// refusal names the field by its path (which [`Package`]'s own reading of a JSON value
/// cannot): a continuation's when its public inputs hold `settled_root`.
fn parse_package(body: &[u8]) -> Result<Package, ServiceError> {
    let continuation = serde_json::from_slice::<Value>(body)
        .is_ok_and(|v| v["public_inputs"].get("settled_root").is_some());
    Ok(match continuation {
        true => Package::Continuation(parse(body)?),
        false => Package::Primary(parse(body)?),
    })
}

fn refusal(path: &[Segment], e: serde_json::Error) -> ServiceError {
    let position = format!(" at line {} column {}", e.line(), e.column());
    let full = e.to_string();
    let message = full.strip_suffix(&position).unwrap_or(&full);
    if e.is_syntax() || e.is_eof() {
        // serde_json's syntax messages are fixed texts ("expected value", "trailing comma").
        ServiceError::BadRequest(
            "malformed_json",
            format!("malformed JSON{position}: {message}"),
        )
    } else {
        let kind = kind(message);
        // An unknown field's path ends with the field's name, which is the client's.
        let path = match path.split_last() {
            Some((Segment::Map { .. }, parent)) if kind.starts_with("unknown field") => parent,
            _ => path,
        };
        let path = path
            .iter()
            .enumerate()
            .fold(String::new(), |mut out, (i, s)| {
                match s {
                    Segment::Seq { index } => out.push_str(&format!("[{index}]")),
                    Segment::Map { key } | Segment::Enum { variant: key } => {
                        out.push_str(if i == 0 { "" } else { "." });
                        out.push_str(key);
                    }
                    Segment::Unknown => out.push_str(if i == 0 { "?" } else { ".?" }),
                }
                out
            });
        let path = if path.is_empty() { "." } else { &path };
        ServiceError::BadRequest(
            "invalid_request",
            format!("invalid request at `{path}`: {kind}"),
        )
    }
}

/// What a deserializer's message says is wrong, without the value it quotes.
///
/// serde writes `invalid type: <the value met>, expected <what the schema wants>`, and so
/// invalid value, invalid length, unknown variant and unknown field: what stands before the
/// last `, expected ` is the client's, what follows it the schema's. `missing field` and
/// `duplicate field` name a field of the schema. Of the other (custom) messages, those of
/// the wire formats' own decoders (field elements, dates, hex, proofs) are recognized and
/// replaced by a fixed text; any other is only `invalid value`.
fn kind(message: &str) -> String {
    const QUOTING: [&str; 5] = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
    ];
    const NAMING: [&str; 2] = ["missing field", "duplicate field"];
    // (starts with, ends with, what the refusal says)
    const DECODERS: [(&str, &str, &str); 8] = [
        (
            "field element must start with",
            "",
            "field element must start with \"0x\"",
        ),
        (
            "field element must have exactly 64 hex digits",
            "",
            "field element must have exactly 64 hex digits",
        ),
        (
            "field element has a non-hex character",
            "",
            "field element has a non-hex character",
        ),
        (
            "field element is not canonical",
            "",
            "field element is not canonical (not below r)",
        ),
        ("date must be YYYY-MM-DD", "", "date must be YYYY-MM-DD"),
        ("date ", "is before 1970-01-01", "date is before 1970-01-01"),
        ("expected ", " hex digits", "wrong number of hex digits"),
        (
            "malformed proof",
            "",
            "malformed proof: not 128 bytes of compressed points",
        ),
    ];
    const EXPECTED: &str = ", expected ";
    if let Some(kind) = QUOTING.iter().find(|k| message.starts_with(*k)) {
        return match message.rfind(EXPECTED) {
            Some(at) => format!("{kind}, expected {}", &message[at + EXPECTED.len()..]),
            None => (*kind).to_owned(),
        };
    }
    if let Some(kind) = NAMING.iter().find(|k| message.starts_with(*k)) {
        let name = message[kind.len()..].trim_matches([' ', '`']);
        let schema_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        return if schema_name {
            format!("{kind} `{name}`")
        } else {
            (*kind).to_owned()
        };
    }
    DECODERS
        .iter()
        .find(|(head, tail, _)| message.starts_with(head) && message.ends_with(tail))
        .map_or("invalid value", |(_, _, text)| text)
        .to_owned()
}

/// A path parameter (`{nullifier}`, `{height}`, …), refused without repeating it when it is
/// not UTF-8 once percent-decoded.
pub struct Param(String);

impl FromRequestParts<Shared> for Param {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ServiceError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Param(value))
            .map_err(|_| {
                ServiceError::BadRequest(
                    "invalid_request",
                    "a path parameter is not UTF-8 text".into(),
                )
            })
    }
}

/// The parts of a request its member signature covers.
type Signed<'a> = (&'a Method, &'a Uri, &'a HeaderMap);

/// Authenticates a member request of the `needed` role and reads what it asks with `read`
/// (given the signing member); the request is recorded as used only once it is one the node
/// will act on. Answers the member and what `read` made.
async fn member_request<T>(
    state: &Shared,
    (method, uri, headers): Signed<'_>,
    body: &[u8],
    needed: Role,
    read: impl FnOnce(u32) -> Result<T, ServiceError>,
) -> Result<(u32, T), ServiceError> {
    let window = state.config.replay_window_s;
    let request = auth::authenticate(
        &state.ledger,
        window,
        (method.as_str(), uri.path(), headers, body),
        needed,
    )?;
    let asked = read(request.member)?;
    let member = request.member;
    blocking(state, move |ledger| {
        auth::first_use(ledger, &request, window)
    })
    .await?;
    Ok((member, asked))
}

/// Authenticates a member action and returns its transaction, signed by the same member.
async fn member_transaction(
    state: &Shared,
    signed: Signed<'_>,
    body: &[u8],
    needed: Role,
) -> Result<SignedTransaction, ServiceError> {
    let read = |member| {
        let stx: SignedTransaction = parse(body)?;
        if stx.signer != member {
            return Err(ServiceError::Forbidden(
                "signer_mismatch",
                format!(
                    "the transaction is signed by member {}, the request by member {member}",
                    stx.signer
                ),
            ));
        }
        Ok(stx)
    };
    let (_, stx) = member_request(state, signed, body, needed, read).await?;
    Ok(stx)
}

/// Authenticates an insurer's request on its registry: the insurer, and the body's `T`.
async fn insurer_request<T: DeserializeOwned>(
    state: &Shared,
    signed: Signed<'_>,
    body: &[u8],
) -> Result<(u32, T), ServiceError> {
    member_request(state, signed, body, Role::Insurer, |_| parse(body)).await
}

/// Authenticates an insurer's signed GET (an empty body): the insurer.
async fn insurer_read(state: &Shared, signed: Signed<'_>) -> Result<u32, ServiceError> {
    let (member, ()) = member_request(state, signed, b"", Role::Insurer, |_| Ok(())).await?;
    Ok(member)
}

/// Runs a registry action off the async workers (each change is committed with fsync).
async fn registry<T: Send + 'static>(
    state: &Shared,
    action: impl FnOnce(&zkclaim_insurer::Registry) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let registry = state.registry.clone();
    blocking(state, move |_| action(&registry)).await
}

/// Runs a ledger action that blocks (a submission waits until its block is durable, a
/// block read touches the store) off the async workers.
async fn blocking<T: Send + 'static>(
    state: &Shared,
    action: impl FnOnce(&Ledger) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let ledger = state.ledger.clone();
    tokio::task::spawn_blocking(move || action(&ledger))
        .await
        .map_err(|_| ServiceError::Unavailable("the ledger task did not finish".into()))?
}

/// A non-negative integer from a path or query parameter, refused by its name only.
fn number(name: &str, text: &str) -> Result<u64, ServiceError> {
    text.parse().map_err(|_| {
        ServiceError::BadRequest(
            "invalid_request",
            format!("{name} must be a non-negative integer"),
        )
    })
}

/// [`number`], at most `max`.
fn number_at_most(name: &str, text: &str, max: u64) -> Result<u64, ServiceError> {
    let n = number(name, text)?;
    if n > max {
        return Err(ServiceError::BadRequest(
            "invalid_request",
            format!("{name} must be at most {max}"),
        ));
    }
    Ok(n)
}

/// The request's query parameters, each one of `names` (the last wins when one is given
/// twice); another name is refused without repeating it.
fn query(
    uri: &Uri,
    names: &[&'static str],
) -> Result<std::collections::HashMap<&'static str, String>, ServiceError> {
    let mut found = std::collections::HashMap::new();
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        let Some(name) = names.iter().find(|n| **n == name) else {
            return Err(ServiceError::BadRequest(
                "invalid_request",
                match names {
                    [only] => format!("the only query parameter is {only}"),
                    _ => format!("the query parameters are {}", names.join(", ")),
                },
            ));
        };
        found.insert(*name, value.into_owned());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkclaim_circuits::date;
    use zkclaim_verifier::Proof;

    /// What the refusal of `body` as a `T` says.
    fn refusal_of<T: DeserializeOwned>(body: &str) -> String {
        match parse::<T>(body.as_bytes()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{body} was accepted"),
        }
    }

    #[test]
    fn serde_messages_keep_their_kind_and_lose_the_value() {
        for (message, said) in [
            (
                "invalid type: string \"SECRET, expected x\", expected u32",
                "invalid type, expected u32",
            ),
            (
                "invalid value: integer `4242`, expected u8",
                "invalid value, expected u8",
            ),
            (
                "invalid length 4242, expected 2 elements",
                "invalid length, expected 2 elements",
            ),
            (
                "unknown variant `SECRET`, expected one of `a`, `b`",
                "unknown variant, expected one of `a`, `b`",
            ),
            (
                "unknown field `SECRET`, there are no fields",
                "unknown field",
            ),
            ("missing field `sk`", "missing field `sk`"),
            ("duplicate field `SECRET x`", "duplicate field"),
            ("a message of no known form: SECRET", "invalid value"),
        ] {
            assert_eq!(kind(message), said, "{message}");
        }
    }

    #[test]
    fn the_wire_decoders_messages_are_recognized_without_their_value() {
        let secret = "SECRET-4242";
        let messages = [
            field::parse(secret).unwrap_err().to_string(),
            field::parse(&format!("0x{secret}"))
                .unwrap_err()
                .to_string(),
            field::parse(&format!("0x{}", "g".repeat(64)))
                .unwrap_err()
                .to_string(),
            field::parse(&format!("0x{}", "f".repeat(64)))
                .unwrap_err()
                .to_string(),
            date::parse(&format!("2099-13-45{secret}"))
                .unwrap_err()
                .to_string(),
            date::parse("1969-12-31").unwrap_err().to_string(),
            Proof::from_hex(&format!("0x{secret}"))
                .unwrap_err()
                .to_string(),
            Proof::from_hex("0x4242").unwrap_err().to_string(),
        ];
        for message in messages {
            let said = kind(&message);
            assert_ne!(said, "invalid value", "{message} is not recognized");
            assert!(
                !said.contains("SECRET") && !said.contains("4242") && !said.contains("1969"),
                "{said}"
            );
        }
    }

    #[test]
    fn a_refused_body_names_the_path_never_the_value() {
        let wrong_type = refusal_of::<actions::ProofRequest>(r#"{"invoice": {"serial": 4242}}"#);
        assert_eq!(
            wrong_type,
            "invalid request at `invoice.serial`: invalid type, expected a string"
        );
        let unknown = refusal_of::<actions::ProofRequest>(r#"{"SECRET": 1}"#);
        assert_eq!(
            unknown,
            "invalid request at `.`: unknown field, expected one of `invoice`, `key`, `policy`, \
             `claim_now`, `previous`"
        );
        let signature = refusal_of::<SignedTransaction>(
            r#"{"tx": {"register_invoice": {"commitment": "0x0000000000000000000000000000000000000000000000000000000000000001"}}, "signer": 1, "signature": "4242"}"#,
        );
        assert_eq!(
            signature,
            "invalid request at `signature`: wrong number of hex digits"
        );
        let variant = refusal_of::<SignedTransaction>(r#"{"tx": {"SECRET": {}}}"#);
        assert!(variant.starts_with("invalid request at `tx`: unknown variant, expected"));
        let trailing = refusal_of::<Value>("{} SECRET");
        assert_eq!(
            trailing,
            "malformed JSON at line 1 column 4: trailing characters"
        );
    }
}
