//! JSON Schemas (2020-12, as OpenAPI 3.1 takes them) for `/openapi.json`: the POST routes'
//! request bodies in the spec's formats, as the service parses them (unknown fields
//! refused), and the error form of every refusal.

use serde_json::{json, Value};

/// An object of these properties, all required unless listed in `optional`, no others.
fn object(properties: Value, optional: &[&str]) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .expect("properties are an object")
        .keys()
        .filter(|k| !optional.contains(&k.as_str()))
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn unsigned(max: u64) -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": max})
}

/// A member-signed ledger transaction: `{"tx": {kind: <schema>}, "signer", "signature"}`.
fn signed(kind: &str, schema: &str) -> Value {
    object(
        json!({
            "tx": object(json!({ kind: reference(schema) }), &[]),
            "signer": unsigned(u32::MAX.into()),
            "signature": {"type": "string", "pattern": "^[0-9a-fA-F]{128}$",
                          "description": "Ed25519 signature of the transaction, hex"},
        }),
        &[],
    )
}

/// The schemas by name: the request bodies `ProofRequest`, `SignedRegisterInvoice` and
/// `SignedSettleClaim`, the parts they are made of, and `Error`.
pub fn schemas() -> Value {
    let u64_max = u64::MAX;
    json!({
        "Error": {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "first_height": {"type": "integer"}
            }, "required": ["code", "message"]}}
        },
        "Field": {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$",
                  "description": "A BN254 scalar: 0x and 64 hex digits, big-endian, canonical (< r)"},
        "Date": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "Item": object(json!({
            "detail": reference("Field"),
            "category": unsigned(u8::MAX.into()),
            "amount": unsigned(u64_max),
        }), &[]),
        "Invoice": object(json!({
            "serial": reference("Field"),
            "hospital_id": unsigned(u32::MAX.into()),
            "patient_pk": reference("Field"),
            "issued_on": reference("Date"),
            "items": {"type": "array", "items": reference("Item")},
        }), &[]),
        "Policy": object(json!({
            "salt": reference("Field"),
            "insurer_id": unsigned(u32::MAX.into()),
            "period_start": reference("Date"),
            "period_end": reference("Date"),
            "deductible": unsigned(u64_max),
            "rate_bp": unsigned(u64_max),
            "cap": unsigned(u64_max),
            "category_mask": unsigned(u16::MAX.into()),
        }), &[]),
        "PatientKey": object(json!({
            "sk": reference("Field"),
            "pk": reference("Field"),
        }), &["pk"]),
        "ProofRequest": object(json!({
            "invoice": reference("Invoice"),
            "key": reference("PatientKey"),
            "policy": reference("Policy"),
        }), &[]),
        "PublicInputs": object(json!({
            "invoice_root": reference("Field"),
            "nullifier": reference("Field"),
            "claimant_tag": reference("Field"),
            "policy_hash": reference("Field"),
            "claim_amount": unsigned(u64_max),
        }), &[]),
        "ClaimPackage": object(json!({
            "public_inputs": reference("PublicInputs"),
            "proof": {"type": "string", "pattern": "^0x[0-9a-fA-F]{256}$",
                      "description": "Groth16 proof, 128 compressed bytes"},
        }), &[]),
        "RegisterInvoice": object(json!({"commitment": reference("Field")}), &[]),
        "SettleClaim": object(json!({"claim": reference("ClaimPackage")}), &[]),
        "SignedRegisterInvoice": signed("register_invoice", "RegisterInvoice"),
        "SignedSettleClaim": signed("settle_claim", "SettleClaim"),
    })
}
