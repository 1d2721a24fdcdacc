//! `/openapi.json`, generated. utoipa derives the schemas from the wire types themselves
//! (the library crates' feature `openapi`, with the statement's bounds), each handler's
//! `#[utoipa::path]` gives its operation (id, parameters, body, answers), and
//! [`super::routes`] registers every route with the router and the document at once, so
//! neither can name a route the other lacks.
//!
//! What is written here: the document's frame, the member-signature headers as security
//! schemes, the refusals (one response component per status the service's one error type
//! answers with), and the schemas of encodings that have no Rust type of their own.

use super::{auth, error::ErrorBody};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::{
    openapi::{
        header::HeaderBuilder,
        path::Operation,
        response::{Response, ResponseBuilder},
        schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type},
        security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        },
        ContentBuilder, OpenApi, Ref, RefOr,
    },
    Modify, PartialSchema, ToSchema,
};
use zkclaim_circuits::claim::Shape;
use zkclaim_ledger::SignedTransaction;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "zkclaim node",
        description = "A consortium node of zkclaim: hospitals register invoice commitments, \
                       patients prove claims, insurers settle them on the ledger; anyone reads \
                       the ledger. Member actions carry a member-signed ledger transaction as \
                       their body and a member signature of the request in headers. Every \
                       refusal is an `ErrorBody`."
    ),
    servers((url = "/", description = "The node that serves this document")),
    tags(
        (name = "ledger", description = "Member actions on the consortium ledger, and its reads"),
        (name = "proofs", description = "Claim proofs made by the node for patients"),
        (name = "insurer", description = "An insurer's policyholders and claims, in this node's \
                                          registry: never on the ledger"),
        (name = "intake", description = "Patients' claims handed to the insurer this node serves"),
        (name = "console", description = "The insurer's console: the same reads as the insurer's \
                                          routes, for the node's insurer, with an operator token"),
        (name = "operations", description = "Liveness, readiness, metrics and this document"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&Frame),
)]
pub struct ApiDoc;

/// The headers of a member's request signature ([`auth`]): one API-key scheme each, all
/// required together on the signed routes. A new header is one more line.
const SIGNED_HEADERS: [(&str, &str, &str); 4] = [
    (
        "memberId",
        auth::MEMBER,
        "The signing member's id, as in the genesis.",
    ),
    (
        "requestTimestamp",
        auth::TIMESTAMP,
        "Unix seconds when the request was signed; it must be within the node's replay \
         window of the node's clock.",
    ),
    (
        "requestNonce",
        auth::NONCE,
        "32 lowercase hex digits (16 random bytes), new for every request: a retry is signed \
         again with a new nonce, and a (member, timestamp, nonce) is accepted once by every \
         node on the ledger (docs/protocol.md, \"Signing\").",
    ),
    (
        "requestSignature",
        auth::SIGNATURE,
        "128 hex digits: the member's Ed25519 signature of the seven lines \
         `zkclaim/request/v1`, METHOD, PATH, hex(sha256(body)), MEMBER, TIMESTAMP, NONCE \
         joined by `\\n` (docs/protocol.md, \"Signing\").",
    ),
];

/// The security scheme of the console's routes (`Authorization: Bearer TOKEN`), which
/// their handlers' attributes name.
const CONSOLE_TOKEN: &str = "consoleToken";

/// The security requirement of a signed route: every signature header.
pub fn member_signature() -> SecurityRequirement {
    SIGNED_HEADERS
        .iter()
        .fold(SecurityRequirement::default(), |all, (scheme, _, _)| {
            all.add::<_, _, &str>(*scheme, [])
        })
}

/// The header names of a member's request signature (what a browser's preflight must allow).
pub fn signed_header_names() -> impl Iterator<Item = &'static str> {
    SIGNED_HEADERS.iter().map(|(_, header, _)| *header)
}

/// The refusals: a marker per status for the handlers' `responses(...)`, and the response
/// components they refer to. A 429 or 503 says when to retry.
macro_rules! refusals {
    ($($marker:ident = $status:literal: $description:literal;)*) => {
        $(
            #[doc = $description]
            pub struct $marker;

            impl utoipa::IntoResponses for $marker {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    let reference = Ref::from_response_name(stringify!($marker));
                    BTreeMap::from([($status.to_string(), RefOr::Ref(reference))])
                }
            }
        )*

        fn refusal_components() -> Vec<(&'static str, Response)> {
            vec![$((stringify!($marker), refusal($status, $description))),*]
        }
    };
}

refusals! {
    BadRequest = 400: "The request is malformed: `malformed_json`, `invalid_request` (the \
        message names the field and what is wrong with it, never the value sent), `bad_body`.";
    Unauthorized = 401: "The request signature is missing or not acceptable: `missing_auth`, \
        `bad_signature`, `stale_timestamp`, `replayed_signature`, `unknown_member`; on the \
        proof routes of a node that requires patient tokens, and the console's routes: \
        `missing_token`, `bad_token`.";
    Forbidden = 403: "The member may not do this: `wrong_role`, or `signer_mismatch` (the \
        transaction and the request are signed by different members), `wrong_insurer` (an \
        enrolment under another insurer's id, or a claim made under another insurer's policy: \
        statement v2); on the proof routes of a node that requires a \
        proof of work: `pow_required`, `pow_replayed`. A claim the insurer rule refuses: \
        `not_enrolled`, `enrolled_elsewhere`, `unknown_policy`, `enrolment_revoked`, \
        `policy_expired` (the message says what the patient can do); a void by a hospital \
        that did not register the invoice: `not_registrant`.";
    NotFound = 404: "Nothing here: `not_found`, `unknown_leaf`, `unregistered_commitment` \
        (a void of a commitment not on the ledger), `not_settled` (no settled claim has this \
        leaf).";
    RequestTimeout = 408: "The request took longer than its time limit: `timeout`.";
    Conflict = 409: "Already on the ledger: `duplicate_commitment`, `voided_commitment` (a \
        voided commitment is never registered again), `already_voided`, or `duplicate_claim` \
        (at settlement) and `already_claimed` (before proving) with the height of the block \
        that settled the claim first, `duplicate_settled_leaf`; not yet on it: \
        `previous_not_settled` (a continuation whose previous rank is not settled: settle \
        that first).";
    Gone = 410: "The invoice at this leaf was voided: `voided_leaf` (the message names the \
        block); it has no path and cannot be claimed.";
    PayloadTooLarge = 413: "The body exceeds the node's limit: `body_too_large`.";
    Unprocessable = 422: "Well-formed but against the rules: `unsatisfiable_witness` (the \
        message names the broken rule), `stale_root`, `expired_root` (replaced longer than \
        the genesis root_max_age_ms ago: prove again), `invalid_proof`, `zero_commitment`; \
        continuation claims (statement v2): `fully_reimbursed` (the earlier claims paid the \
        whole invoice), `stale_settled_root`, `expired_settled_root`, `no_continuation_key` \
        (the genesis pins no continuation circuit).";
    TooManyRequests = 429: "The prover's queue, the table of proof jobs or the intake is \
        full: `busy`; this client's limits: `client_busy`, `rate_limited`; a hospital's quota \
        of blocks changing the invoice tree within root_max_age_ms: `hospital_rate_limited`. \
        Retry after the time given.";
    InternalError = 500: "The node failed (`storage`, `prover`); nothing was applied.";
    Unavailable = 503: "Not now: `unavailable` (shutting down), `ledger_unavailable`, \
        `closed`, `tree_full`, `queue_timeout`, `root_too_fresh` (too few registrations by \
        other hospitals after the invoice's block, or for a continuation too few settlements \
        after the previous rank's, yet to hide it; retry after the time given, or ask with \
        claim_now); \
        `no_proving_key`: this node verifies only and will not prove, `no_insurer`: this node \
        serves no insurer and takes no patients' claims, `console_off`: this node has no \
        console tokens (no Retry-After).";
}

fn refusal(status: u16, description: &str) -> Response {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", body);
    if matches!(status, 429 | 503) {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0));
        response = response.header(
            "retry-after",
            HeaderBuilder::new()
                .schema(seconds)
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build()
}

/// What the derives cannot say: the security schemes and the refusals.
struct Frame;

impl Modify for Frame {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (scheme, header, description) in SIGNED_HEADERS {
            let key = ApiKeyValue::with_description(header, description);
            components.add_security_scheme(scheme, SecurityScheme::ApiKey(ApiKey::Header(key)));
        }
        let console = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An operator token of the insurer's console, one of the node's console_tokens",
            ))
            .build();
        components.add_security_scheme(CONSOLE_TOKEN, SecurityScheme::Http(console));
        for (name, response) in refusal_components() {
            components.responses.insert(name.into(), RefOr::T(response));
        }
    }
}

/// Every operation of `paths`.
pub fn operations(paths: &mut utoipa::openapi::Paths) -> impl Iterator<Item = &mut Operation> {
    paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
    })
}

/// Adds `marker`'s refusal to `operation`.
pub fn refuses<M: utoipa::IntoResponses>(operation: &mut Operation) {
    operation.responses.responses.extend(M::responses());
}

/// The document as this node serves it: the routes not [`super::signed`] are open to anyone
/// (an empty `security`), an invoice holds at most the node's N items, and unsigned integers
/// have their registry formats.
pub fn document(mut doc: OpenApi, shape: Shape) -> Value {
    for operation in operations(&mut doc.paths) {
        operation.security.get_or_insert_with(Vec::new);
    }
    let invoice = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("Invoice"));
    if let Some(RefOr::T(Schema::Object(invoice))) = invoice {
        if let Some(RefOr::T(Schema::Array(items))) = invoice.properties.get_mut("items") {
            items.max_items = Some(shape.items);
        }
    }
    let mut doc = serde_json::to_value(doc).expect("the document serializes");
    unsigned_formats(&mut doc);
    doc
}

/// utoipa 5 spells the formats of unsigned integers in kebab case (`u-int32`, from
/// `KnownFormat::UInt32`); the OpenAPI format registry's names are `uint8` to `uint64`.
fn unsigned_formats(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(format)) = object.get_mut("format") {
                if let Some(bits) = format.strip_prefix("u-int") {
                    *format = format!("uint{bits}");
                }
            }
            object.values_mut().for_each(unsigned_formats);
        }
        Value::Array(values) => values.iter_mut().for_each(unsigned_formats),
        _ => {}
    }
}

/// A signed transaction of one kind: the transaction's schema, and its `tx` holding `kind`.
fn signed_transaction(kind: &str) -> RefOr<Schema> {
    let transaction = ObjectBuilder::new().description(Some(format!("The `{kind}`")));
    let of_kind = ObjectBuilder::new().property(
        "tx",
        ObjectBuilder::new()
            .property(kind, transaction)
            .required(kind),
    );
    AllOfBuilder::new()
        .item(Ref::from_schema_name(SignedTransaction::name()))
        .item(of_kind)
        .description(Some(format!(
            "A member-signed ledger transaction whose `tx` is a `{kind}`"
        )))
        .into()
}

/// The schema-only types of the bodies of routes that take one kind of signed transaction.
macro_rules! signed_transaction_bodies {
    ($($name:ident = $kind:literal for $route:literal;)*) => {
        $(
            #[doc = concat!("The body of `", $route, "`: a [`SignedTransaction`] whose `tx` is a `", $kind, "`.")]
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    signed_transaction($kind)
                }
            }

            impl ToSchema for $name {
                fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                    schemas.push((SignedTransaction::name().into(), SignedTransaction::schema()));
                    SignedTransaction::schemas(schemas);
                }
            }
        )*
    };
}

signed_transaction_bodies! {
    SignedRegisterInvoice = "register_invoice" for "POST /v1/invoices";
    SignedSettleClaim = "settle_claim" for "POST /v1/claims";
    SignedSettleContinuation = "settle_continuation" for "POST /v1/claims";
    SignedVoidInvoice = "void_invoice" for "POST /v1/invoices/void";
}

/// The body of `POST /v1/claims`: a signed settlement of a claim of either circuit.
pub struct SignedSettlement;

impl PartialSchema for SignedSettlement {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(SignedSettleClaim::name()))
            .item(Ref::from_schema_name(SignedSettleContinuation::name()))
            .description(Some(
                "A member-signed `settle_claim` (a primary claim) or `settle_continuation` \
                 (a continuation claim, statement v2) transaction",
            ))
            .into()
    }
}

impl ToSchema for SignedSettlement {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            SignedSettleClaim::name().into(),
            SignedSettleClaim::schema(),
        ));
        schemas.push((
            SignedSettleContinuation::name().into(),
            SignedSettleContinuation::schema(),
        ));
        SignedSettleClaim::schemas(schemas);
    }
}

/// Schema-only types of strings in lowercase hex.
macro_rules! hex_strings {
    ($($(#[$doc:meta])* $name:ident = $pattern:literal, $description:literal;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some($pattern))
                        .description(Some($description))
                        .into()
                }
            }

            impl ToSchema for $name {}
        )*
    };
}

hex_strings! {
    /// A SHA-256 digest (block hashes, transaction ids, key digests).
    Digest = "^[0-9a-f]{64}$", "A SHA-256 digest, 64 lowercase hex digits";
    /// Bytes of any length (signatures, the verifying key).
    Hex = "^([0-9a-f]{2})*$", "Bytes in lowercase hex";
}
