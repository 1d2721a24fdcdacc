//! The route handlers. Member actions carry the member-signed ledger transaction as their
//! body (`SignedTransaction` JSON): the ledger only accepts transactions signed by the
//! member itself, so the node never holds member keys. The HTTP request signature
//! ([`super::auth`]) authenticates the request, and its signer must be the transaction's.

use super::{actions, admission::Peer, auth, error::ServiceError, Shared};
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request, State},
    http::{header, request::Parts, HeaderMap, Method, StatusCode, Uri},
    response::IntoResponse,
    Json,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use serde_path_to_error::Segment;
use std::sync::atomic::Ordering;
use zeroize::Zeroizing;
use zkclaim_circuits::field;
use zkclaim_ledger::{Ledger, Role, SignedTransaction};
use zkclaim_verifier::ClaimPackage;

type Answer = Result<Json<Value>, ServiceError>;

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

/// Authenticates a member action and returns its transaction, signed by the same member.
/// The request is recorded as used only once it is one the node will act on.
async fn member_transaction(
    state: &Shared,
    (method, uri, headers): (&Method, &Uri, &HeaderMap),
    body: &[u8],
    needed: Role,
) -> Result<SignedTransaction, ServiceError> {
    let window = state.config.replay_window_s;
    let request = auth::authenticate(
        &state.ledger,
        window,
        (method.as_str(), uri.path(), headers, body),
        needed,
    )?;
    let stx: SignedTransaction = parse(body)?;
    if stx.signer != request.member {
        return Err(ServiceError::Forbidden(
            "signer_mismatch",
            format!(
                "the transaction is signed by member {}, the request by member {}",
                stx.signer, request.member
            ),
        ));
    }
    blocking(state, move |ledger| {
        auth::first_use(ledger, &request, window)
    })
    .await?;
    Ok(stx)
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

pub async fn register_invoice(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Hospital).await?;
    let answer = blocking(&state, |ledger| actions::register_invoice(ledger, stx)).await?;
    state.metrics.invoices.inc();
    Ok(Json(answer))
}

pub async fn settle_claim(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Insurer).await?;
    let answer = blocking(&state, |ledger| actions::settle_claim(ledger, stx)).await?;
    state.metrics.settlements.inc();
    Ok(Json(answer))
}

pub async fn prove_claim(
    State(state): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<ClaimPackage>, ServiceError> {
    // The body holds `sk` in clear: wiped when this goes (a unique `Bytes` converts in place).
    let body = Zeroizing::new(Vec::from(body));
    let pool = state.pool.as_ref().ok_or(ServiceError::NoProvingKey)?;
    // Held until the answer: the request is in flight for its client until then.
    let _slot = state.admission.admit(&peer, &headers, &body)?;
    let request: actions::ProofRequest = parse(&body)?;
    drop(body);
    let witness = actions::witness(&state.ledger, state.ledger.genesis().shape, request)?;
    // Dropping the ticket (the client hung up) withdraws the job if no worker started it.
    let package = pool.submit(witness)?.await?;
    Ok(Json(package))
}

pub async fn get_claim(State(state): State<Shared>, Param(nullifier): Param) -> Answer {
    actions::claim(&state.ledger, &nullifier).map(Json)
}

pub async fn roots(State(state): State<Shared>) -> Answer {
    let ledger = &state.ledger;
    let roots: Vec<String> = ledger.roots().iter().map(field::format).collect();
    Ok(Json(json!({
        "height": ledger.height(),
        "invoice_count": ledger.invoice_count(),
        "root": field::format(&ledger.root()),
        "roots": roots,
    })))
}

fn number(name: &str, text: &str) -> Result<u64, ServiceError> {
    text.parse().map_err(|_| {
        ServiceError::BadRequest(
            "invalid_request",
            format!("{name} must be a non-negative integer"),
        )
    })
}

pub async fn path(State(state): State<Shared>, Param(index): Param) -> Answer {
    let path = state.ledger.merkle_path(number("leaf_index", &index)?)?;
    Ok(Json(json!({
        "root": field::format(&state.ledger.root()),
        "path": path,
    })))
}

pub async fn block(State(state): State<Shared>, Param(height): Param) -> Answer {
    let height = number("height", &height)?;
    let block = blocking(&state, move |ledger| Ok(ledger.block(height)?))
        .await?
        .ok_or_else(|| ServiceError::NotFound("no block at this height".into()))?;
    let h = &block.header;
    Ok(Json(json!({
        "height": h.height,
        "hash": hex::encode(h.hash()),
        "prev_hash": hex::encode(h.prev_hash),
        "tx_root": hex::encode(h.tx_root),
        "invoice_root": field::format(&h.invoice_root),
        "time_ms": h.time_ms,
        "proposer": h.proposer,
        "signature": hex::encode(h.signature),
        "transactions": block.transactions.len(),
    })))
}

pub async fn verifying_key(State(state): State<Shared>) -> Answer {
    let key = &state.verifying_key;
    Ok(Json(json!({
        "key": hex::encode(key.to_bytes()),
        "digest": hex::encode(key.digest()),
        "shape": state.ledger.genesis().shape,
    })))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<Shared>) -> Answer {
    if state.draining.load(Ordering::SeqCst) {
        return Err(ServiceError::Unavailable("shutting down".into()));
    }
    Ok(Json(json!({
        "status": "ready",
        "height": state.ledger.height(),
        "proves": state.pool.is_some(),
    })))
}

pub async fn metrics_text(State(state): State<Shared>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

pub async fn openapi_json(State(state): State<Shared>) -> Json<Value> {
    Json(state.openapi.clone())
}

pub async fn not_found() -> ServiceError {
    ServiceError::NotFound("no such route".into())
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
            "invalid request at `.`: unknown field, expected one of `invoice`, `key`, `policy`"
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
