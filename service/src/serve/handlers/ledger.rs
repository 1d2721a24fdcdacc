//! The ledger's routes: hospitals register and void invoices, insurers settle claims, anyone
//! reads claims, roots, paths, blocks, the genesis and the verifying key.

use super::*;

/// Register an invoice commitment (hospital)
///
/// The body is the hospital's member-signed `register_invoice` transaction; the answer comes
/// once its block is durable.
#[utoipa::path(
    post,
    path = "/v1/invoices",
    operation_id = "registerInvoice",
    tag = "ledger",
    request_body = SignedRegisterInvoice,
    responses(
        (status = 200, description = "Registered", body = Registered),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, Unprocessable,
        TooManyRequests, InternalError, Unavailable,
    ),
)]
pub async fn register_invoice(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Registered> {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Hospital).await?;
    let answer = blocking(&state, |ledger| actions::register_invoice(ledger, stx)).await?;
    state.metrics.invoices.inc();
    Ok(Json(answer))
}

/// Void an invoice (hospital)
///
/// The body is the member-signed `void_invoice` transaction of the hospital that registered
/// the commitment (a refund, or a correction registered as a new invoice with the same
/// serial). Its leaf becomes 0, so no later root holds it; claims proved against an earlier
/// root settle for at most the genesis `root_max_age_ms` more, and claims settled before
/// stand. A voided commitment can never be registered again. The answer comes once the
/// block is durable.
#[utoipa::path(
    post,
    path = "/v1/invoices/void",
    operation_id = "voidInvoice",
    tag = "ledger",
    request_body = SignedVoidInvoice,
    responses(
        (status = 200, description = "Voided", body = Voided),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge,
        TooManyRequests, InternalError, Unavailable,
    ),
)]
pub async fn void_invoice(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Voided> {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Hospital).await?;
    let answer = blocking(&state, |ledger| actions::void_invoice(ledger, stx)).await?;
    state.metrics.voids.inc();
    Ok(Json(answer))
}

/// Settle a claim (insurer)
///
/// The body is the insurer's member-signed `settle_claim` transaction, or for a
/// continuation claim (statement v2) its `settle_continuation` transaction, whose settled
/// root must also be one of the ledger's recent settled roots. The claim must name
/// the signing insurer (its `insurer_id`; 403 `wrong_insurer` otherwise, nothing recorded),
/// the proof must verify, and the insurer rule hold: the claim's claimant tag and policy hash are enrolled at the
/// signing insurer in this node's registry, not revoked and not past the policy's last claim
/// day (403 with the reason otherwise). The ledger then checks the invoice root is recent
/// and spends the nullifier; the answer comes once the block is durable.
#[utoipa::path(
    post,
    path = "/v1/claims",
    operation_id = "settleClaim",
    tag = "ledger",
    request_body = SignedSettlement,
    responses(
        (status = 200, description = "Settled", body = Settled),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, Unprocessable,
        InternalError, Unavailable,
    ),
)]
pub async fn settle_claim(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Settled> {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Insurer).await?;
    let registry = state.registry.clone();
    let answer = blocking(&state, move |ledger| {
        insurer::settle(ledger, &registry, stx)
    })
    .await?;
    state.metrics.settlements.inc();
    Ok(Json(answer))
}

/// A settled claim
#[utoipa::path(
    get,
    path = "/v1/claims/{nullifier}",
    operation_id = "getClaim",
    tag = "ledger",
    params(("nullifier" = Field, Path, description = "The claim's nullifier")),
    responses(
        (status = 200, description = "The claim and where it was settled", body = SettledClaim),
        BadRequest, NotFound,
    ),
)]
pub async fn get_claim(
    State(state): State<Shared>,
    Param(nullifier): Param,
) -> Answer<SettledClaim> {
    actions::claim(&state.ledger, &nullifier).map(Json)
}

/// The invoice roots a claim may prove against.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Roots {
    pub height: u64,
    pub invoice_count: u64,
    /// The current root.
    #[schema(value_type = Field)]
    pub root: String,
    /// The roots a claim settled now may prove against, oldest first: the current one and
    /// those replaced less than `root_max_age_ms` ago.
    #[schema(value_type = Vec<Field>)]
    pub roots: Vec<String>,
    /// The genesis `root_max_age_ms`.
    pub root_max_age_ms: u64,
    /// The current settled root (statement v2): the settled tree holds a leaf of every
    /// settled claim, which continuation claims prove against.
    #[schema(value_type = Field)]
    pub settled_root: String,
    /// The settled roots a continuation settled now may prove against, oldest first, by
    /// the same rules as `roots`.
    #[schema(value_type = Vec<Field>)]
    pub settled_roots: Vec<String>,
}

/// The recent invoice roots, and settled roots
#[utoipa::path(
    get,
    path = "/v1/roots",
    operation_id = "getRoots",
    tag = "ledger",
    responses((status = 200, description = "The roots", body = Roots)),
)]
pub async fn roots(State(state): State<Shared>) -> Json<Roots> {
    let ledger = &state.ledger;
    Json(Roots {
        height: ledger.height(),
        invoice_count: ledger.invoice_count(),
        root: field::format(&ledger.root()),
        roots: ledger.roots().iter().map(field::format).collect(),
        root_max_age_ms: ledger.genesis().root_max_age_ms,
        settled_root: field::format(&ledger.settled_root()),
        settled_roots: ledger.settled_roots().iter().map(field::format).collect(),
    })
}

/// An invoice's Merkle path in the current tree.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PathAnswer {
    #[schema(value_type = Field)]
    pub root: String,
    pub path: MerklePath,
    /// The height of the last block, which produced `root` or came after it.
    pub height: u64,
    /// Invoices registered by other hospitals in blocks after the invoice's: the crowd
    /// `root` hides the invoice's block in. A prover that wants the root not to point at
    /// that block waits until this reaches its `min_root_lag` (docs/protocol.md, "Root
    /// choice").
    pub later_by_others: u64,
}

/// An invoice's Merkle path
#[utoipa::path(
    get,
    path = "/v1/paths/{leaf_index}",
    operation_id = "getMerklePath",
    tag = "ledger",
    params(("leaf_index" = u64, Path, description = "The invoice's leaf index")),
    responses(
        (status = 200, description = "The path and the root it leads to", body = PathAnswer),
        BadRequest, NotFound, Gone,
    ),
)]
pub async fn path(State(state): State<Shared>, Param(index): Param) -> Answer<PathAnswer> {
    let at = state.ledger.leaf_path(number("leaf_index", &index)?)?;
    Ok(Json(PathAnswer {
        root: field::format(&at.root),
        path: at.path,
        height: at.height,
        later_by_others: at.later_by_others,
    }))
}

/// The most leaves `GET /v1/leaves` answers at once.
const LEAVES_MAX: u64 = 65_536;

/// A leaf of the invoice tree and who registered it, when.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeafAnswer {
    /// The invoice commitment; 0 once voided.
    #[schema(value_type = Field)]
    pub leaf: String,
    /// Where the hospital voided the invoice: the commitment it registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Field>)]
    pub voided: Option<String>,
    /// The registering hospital's member id.
    pub hospital: u32,
    /// The block that registered it.
    pub height: u64,
}

/// A page of the invoice tree's leaves.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeavesAnswer {
    /// The height of the last block, read together with the leaves.
    pub height: u64,
    /// Leaves in the whole tree.
    pub count: u64,
    /// The current root, of all `count` leaves.
    #[schema(value_type = Field)]
    pub root: String,
    /// The index of the first leaf below.
    pub from: u64,
    pub leaves: Vec<LeafAnswer>,
}

/// The invoice tree's leaves
///
/// Every leaf from `from` (at most `limit`, 65,536 and by default), as the tree holds them
/// now, with the hospital and block that registered each. A patient's device builds its
/// invoice's path from all of them, so that the node never learns which invoice is claimed
/// (`GET /v1/paths/{leaf_index}` tells it); the registrations tell it how many other
/// hospitals' invoices the current root hides the invoice's block among (docs/protocol.md,
/// "Root choice").
#[utoipa::path(
    get,
    path = "/v1/leaves",
    operation_id = "getLeaves",
    tag = "ledger",
    params(
        ("from" = Option<u64>, Query, description = "The first leaf's index [default: 0]"),
        ("limit" = Option<u64>, Query, description = "At most this many leaves [default and most: 65536]"),
    ),
    responses(
        (status = 200, description = "The leaves, the root they make and the height", body = LeavesAnswer),
        BadRequest,
    ),
)]
pub async fn leaves(State(state): State<Shared>, uri: Uri) -> Answer<LeavesAnswer> {
    let query = query(&uri, &["from", "limit"])?;
    let from = query.get("from").map_or(Ok(0), |n| number("from", n))?;
    let limit = query
        .get("limit")
        .map_or(Ok(LEAVES_MAX), |n| number_at_most("limit", n, LEAVES_MAX))?;
    let page = state.ledger.leaves(from, limit as usize);
    Ok(Json(LeavesAnswer {
        height: page.height,
        count: page.count,
        root: field::format(&page.root),
        from,
        leaves: page
            .leaves
            .iter()
            .map(|l| LeafAnswer {
                leaf: field::format(&l.value),
                voided: l.voided.as_ref().map(field::format),
                hospital: l.hospital,
                height: l.height,
            })
            .collect(),
    }))
}

/// A settled claim's Merkle path in the current settled tree (statement v2).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SettledPathAnswer {
    /// The leaf's index in the settled tree.
    pub index: u64,
    /// The current settled root, which the path leads to.
    #[schema(value_type = Field)]
    pub root: String,
    pub path: MerklePath,
    /// The height of the last block, which produced `root` or came after it.
    pub height: u64,
    /// Claims settled in blocks after the one that settled this leaf: the crowd `root`
    /// hides that block in. A continuation's prover waits until this reaches its
    /// `min_root_lag` (docs/protocol.md, "Root choice").
    pub later_settlements: u64,
}

/// A settled claim's Merkle path
///
/// The path of a settled claim's leaf in the ledger's settled tree, at the current settled
/// root: what the next rank's continuation claim proves against. A primary claim's leaf is
/// computed from its public inputs, a continuation's is its `settled_leaf`
/// (docs/protocol.md, "Continuation claims").
#[utoipa::path(
    get,
    path = "/v1/settled/{leaf}/path",
    operation_id = "getSettledPath",
    tag = "ledger",
    params(("leaf" = Field, Path, description = "The settled claim's leaf")),
    responses(
        (status = 200, description = "The path and the settled root it leads to", body = SettledPathAnswer),
        BadRequest, NotFound,
    ),
)]
pub async fn settled_path(
    State(state): State<Shared>,
    Param(leaf): Param,
) -> Answer<SettledPathAnswer> {
    let leaf = field::parse(&leaf)
        .map_err(|e| ServiceError::BadRequest("invalid_request", format!("leaf: {e}")))?;
    let ledger = &state.ledger;
    let index = ledger.settled_index(leaf).ok_or_else(|| {
        ServiceError::NotFound("no settled claim has this leaf (not settled, or not yet)".into())
    })?;
    let at = ledger.settled_path(index)?;
    Ok(Json(SettledPathAnswer {
        index: at.index,
        root: field::format(&at.root),
        path: at.path,
        height: at.height,
        later_settlements: at.later_settlements,
    }))
}

/// A block: its header and its transactions.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockAnswer {
    pub height: u64,
    /// The header's hash (without its signature): the next block's `prev_hash`.
    #[schema(value_type = Digest)]
    pub hash: String,
    #[schema(value_type = Digest)]
    pub prev_hash: String,
    #[schema(value_type = Digest)]
    pub tx_root: String,
    /// The invoice root after this block's transactions.
    #[schema(value_type = Field)]
    pub invoice_root: String,
    /// The settled root after this block's transactions (block format 2).
    #[schema(value_type = Field)]
    pub settled_root: String,
    pub time_ms: u64,
    pub proposer: u32,
    /// The proposer's Ed25519 signature of the header.
    #[schema(value_type = Hex)]
    pub signature: String,
    pub transactions: Vec<BlockTransaction>,
}

/// A transaction in a block: its id and the member-signed transaction itself.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockTransaction {
    #[schema(value_type = Digest)]
    pub id: String,
    pub transaction: SignedTransaction,
}

/// A block
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    operation_id = "getBlock",
    tag = "ledger",
    params(("height" = u64, Path, description = "The block's height, from 1")),
    responses(
        (status = 200, description = "The block with its transactions", body = BlockAnswer),
        BadRequest, NotFound, InternalError, Unavailable,
    ),
)]
pub async fn block(State(state): State<Shared>, Param(height): Param) -> Answer<BlockAnswer> {
    let height = number("height", &height)?;
    let block = blocking(&state, move |ledger| Ok(ledger.block(height)?))
        .await?
        .ok_or_else(|| ServiceError::NotFound("no block at this height".into()))?;
    let chain_id = &state.ledger.genesis().chain_id;
    let h = &block.header;
    Ok(Json(BlockAnswer {
        height: h.height,
        hash: hex::encode(h.hash()),
        prev_hash: hex::encode(h.prev_hash),
        tx_root: hex::encode(h.tx_root),
        invoice_root: field::format(&h.invoice_root),
        settled_root: field::format(&h.settled_root),
        time_ms: h.time_ms,
        proposer: h.proposer,
        signature: hex::encode(h.signature),
        transactions: block
            .transactions
            .into_iter()
            .map(|transaction| BlockTransaction {
                id: hex::encode(transaction.id(chain_id)),
                transaction,
            })
            .collect(),
    }))
}

/// The consortium's founding document and its digest.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GenesisAnswer {
    /// As every node holds it (`consortium/genesis.json`): public keys, roles, the pinned
    /// circuit.
    pub genesis: Genesis,
    /// The genesis digest, block 1's `prev_hash`.
    #[schema(value_type = Digest)]
    pub digest: String,
}

/// The consortium's genesis
///
/// Members' ids, names, roles and public keys, the chain id, the verifying key's digest, the
/// circuit's shape and K, the window of recent roots; no secret.
#[utoipa::path(
    get,
    path = "/v1/genesis",
    operation_id = "getGenesis",
    tag = "ledger",
    responses((status = 200, description = "The genesis", body = GenesisAnswer)),
)]
pub async fn genesis(State(state): State<Shared>) -> Json<GenesisAnswer> {
    let genesis = state.ledger.genesis();
    Json(GenesisAnswer {
        digest: hex::encode(genesis.digest()),
        genesis: genesis.clone(),
    })
}

/// The claim circuit's verifying key.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VerifyingKeyAnswer {
    /// The compressed verifying key.
    #[schema(value_type = Hex)]
    pub key: String,
    /// SHA-256 of `key`, as pinned in the genesis.
    #[schema(value_type = Digest)]
    pub digest: String,
    pub shape: Shape,
}

/// A claim circuit's verifying key
///
/// The primary circuit's, or with `circuit=continuation` the continuation circuit's
/// (statement v2; 404 where the genesis pins none).
#[utoipa::path(
    get,
    path = "/v1/verifying-key",
    operation_id = "getVerifyingKey",
    tag = "ledger",
    params((
        "circuit" = Option<String>, Query,
        description = "The circuit whose key to answer [default: primary]"
    )),
    responses(
        (status = 200, description = "The key, its digest and the circuit's shape", body = VerifyingKeyAnswer),
        BadRequest, NotFound,
    ),
)]
pub async fn verifying_key(State(state): State<Shared>, uri: Uri) -> Answer<VerifyingKeyAnswer> {
    let mut circuit = Circuit::Primary;
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        circuit = match (&*name, &*value) {
            ("circuit", "primary") => Circuit::Primary,
            ("circuit", "continuation") => Circuit::Continuation,
            _ => {
                return Err(ServiceError::BadRequest(
                    "invalid_request",
                    "the only query parameter is circuit: primary or continuation".into(),
                ))
            }
        };
    }
    let key = match circuit {
        Circuit::Primary => &state.verifying_key,
        Circuit::Continuation => state.continuation_key.as_ref().ok_or_else(|| {
            ServiceError::NotFound("the genesis pins no continuation circuit".into())
        })?,
    };
    Ok(Json(VerifyingKeyAnswer {
        key: hex::encode(key.to_bytes()),
        digest: hex::encode(key.digest()),
        shape: state.ledger.genesis().shape,
    }))
}
