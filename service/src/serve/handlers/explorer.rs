//! The ledger explorer's reads (`/explorer/`, for members and the regulator, open to
//! anyone like the rest of the ledger's reads): block summaries, the audit's result and the
//! throughput over time. What they show is what the ledger holds: kinds, sizes, signers,
//! hex ids; there is no medical data on it.

use super::*;
use zkclaim_ledger::{Block, Transaction};

/// The most blocks `GET /v1/blocks` lists at once.
const BLOCKS_MAX: u64 = 100;

/// Blocks, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockList {
    /// The height of the last valid block.
    pub height: u64,
    /// Newest first; a rejected slot of a shared log has none.
    pub blocks: Vec<BlockSummary>,
    /// The `before` that lists the next, older blocks; none once block 1 is listed.
    pub next_before: Option<u64>,
}

/// A block without its transactions' contents.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockSummary {
    pub height: u64,
    /// The header's hash, as `GET /v1/blocks/{height}` answers it.
    #[schema(value_type = Digest)]
    pub hash: String,
    pub time_ms: u64,
    /// The member that proposed and signed it.
    pub proposer: u32,
    /// Its stored size in bytes.
    pub size: u64,
    pub transactions: Vec<TransactionSummary>,
}

/// A transaction by its id, kind, signer and size.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TransactionSummary {
    #[schema(value_type = Digest)]
    pub id: String,
    /// `register_invoice`, `void_invoice`, `settle_claim` or `settle_continuation`.
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// The member that signed it.
    pub signer: u32,
    /// Its stored size in bytes.
    pub size: u64,
}

impl BlockSummary {
    fn of(block: &Block, chain_id: &str) -> Self {
        let h = &block.header;
        BlockSummary {
            height: h.height,
            hash: hex::encode(h.hash()),
            time_ms: h.time_ms,
            proposer: h.proposer,
            size: block.to_bytes().len() as u64,
            transactions: block
                .transactions
                .iter()
                .map(|stx| TransactionSummary {
                    id: hex::encode(stx.id(chain_id)),
                    kind: stx.tx.kind(),
                    signer: stx.signer,
                    size: stx.to_bytes().len() as u64,
                })
                .collect(),
        }
    }
}

/// Blocks, newest first
///
/// Up to `limit` blocks below height `before`, each with its transactions' ids, kinds,
/// signers and sizes (not their contents: `GET /v1/blocks/{height}` has those).
#[utoipa::path(
    get,
    path = "/v1/blocks",
    operation_id = "listBlocks",
    tag = "ledger",
    params(
        ("before" = Option<u64>, Query, description = "List blocks below this height [default: all]"),
        ("limit" = Option<u64>, Query, maximum = 100, description = "How many blocks [default: 20]"),
    ),
    responses(
        (status = 200, description = "The blocks", body = BlockList),
        BadRequest, InternalError, Unavailable,
    ),
)]
pub async fn blocks(State(state): State<Shared>, uri: Uri) -> Answer<BlockList> {
    let asked = query(&uri, &["before", "limit"])?;
    let before = asked
        .get("before")
        .map(|b| number("before", b))
        .transpose()?;
    let limit = match asked.get("limit") {
        Some(limit) => number_at_most("limit", limit, BLOCKS_MAX)?,
        None => 20,
    } as usize;
    blocking(&state, move |ledger| {
        let height = ledger.height();
        let chain_id = &ledger.genesis().chain_id;
        let mut below = before.unwrap_or(u64::MAX).min(height + 1);
        let mut blocks = Vec::new();
        while below > 1 && blocks.len() < limit {
            below -= 1;
            if let Some(block) = ledger.block(below)? {
                blocks.push(BlockSummary::of(&block, chain_id));
            }
        }
        Ok(Json(BlockList {
            height,
            blocks,
            next_before: (below > 1).then_some(below),
        }))
    })
    .await
}

/// What an audit of the node's chain found.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditAnswer {
    /// The height audited: the result holds until the next block.
    pub height: u64,
    /// Whether every block checks: hashes, signatures, roots and every proof.
    pub passed: bool,
    /// What the chain holds, when it passed.
    pub report: Option<AuditCounts>,
    /// The first bad block, when it failed.
    pub failure: Option<AuditFailure>,
    /// Where the circuits' parameters come from: a ceremony and its contributors, or a
    /// warning that they are development parameters.
    pub parameters: String,
}

/// The chain's contents, counted by the audit.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditCounts {
    pub blocks: u64,
    pub invoices: u64,
    /// Among `invoices`.
    pub voided: u64,
    /// Claims settled, of both circuits.
    pub claims: u64,
    /// Continuation claims, among `claims`.
    pub continuations: u64,
    /// Slots of a shared log that every node refused and skipped.
    pub rejected: Vec<AuditFailure>,
}

/// A block that breaks a rule.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditFailure {
    /// Its height; 0 stands for the genesis or the verifying keys.
    pub height: u64,
    /// The member whose signature the block carries, where it shows one.
    pub proposer: Option<u32>,
    pub reason: String,
}

/// The audit's result
///
/// The node's chain replayed from the genesis and re-verified, trusting nothing stored, as
/// `zkclaim audit` does. The replay verifies every proof again, so the node runs it at most
/// once per block height and answers from that until the next block.
#[utoipa::path(
    get,
    path = "/v1/audit",
    operation_id = "getAudit",
    tag = "ledger",
    responses(
        (status = 200, description = "The audit's result, passed or not", body = AuditAnswer),
        InternalError, Unavailable,
    ),
)]
pub async fn audit(State(state): State<Shared>) -> Answer<AuditAnswer> {
    let (height, result) = blocking(&state, |ledger| Ok(ledger.audit())).await?;
    let (report, failure) = match result {
        Ok(report) => (
            Some(AuditCounts {
                blocks: report.blocks,
                invoices: report.invoices,
                voided: report.voided,
                claims: report.claims,
                continuations: report.continuations,
                rejected: report
                    .rejected
                    .into_iter()
                    .map(|r| AuditFailure {
                        height: r.height,
                        proposer: r.proposer,
                        reason: r.reason,
                    })
                    .collect(),
            }),
            None,
        ),
        Err(e) if e.unreadable => {
            // Which file or etcd endpoint failed is for the operator's log.
            tracing::error!(error = %e, "the audit could not read the ledger");
            return Err(ServiceError::Unavailable(
                "the audit could not read the ledger's store; retry later".into(),
            ));
        }
        Err(e) => (
            None,
            Some(AuditFailure {
                height: e.height,
                proposer: None,
                reason: e.reason,
            }),
        ),
    };
    Ok(Json(AuditAnswer {
        height,
        passed: report.is_some(),
        report,
        failure,
        parameters: crate::consortium::parameters_origin(state.ledger.genesis()),
    }))
}

/// The most blocks `GET /v1/throughput` reads: past them, the oldest buckets count only
/// part of their blocks (`complete` is false).
const THROUGHPUT_BLOCKS: usize = 10_000;

/// Transactions per minute or hour, from the blocks' times.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Throughput {
    /// The buckets' length: 60000 (a minute) or 3600000 (an hour).
    pub unit_ms: u64,
    /// Oldest first, each starting at a whole minute or hour (UTC); the last holds now.
    pub buckets: Vec<Bucket>,
    /// False when the node stopped at the most blocks it reads for this answer before
    /// reaching the first bucket's start: the oldest buckets then count part of theirs.
    pub complete: bool,
}

/// The blocks of one minute or hour, and their transactions by kind.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Bucket {
    pub start_ms: u64,
    pub blocks: u64,
    /// Invoices registered.
    pub invoices: u64,
    /// Invoices voided.
    pub voids: u64,
    /// Claims settled, of both circuits.
    pub claims: u64,
}

/// Throughput over time
///
/// The blocks and transactions of each of the last `count` minutes or hours, by the
/// blocks' times.
#[utoipa::path(
    get,
    path = "/v1/throughput",
    operation_id = "getThroughput",
    tag = "ledger",
    params(
        ("unit" = Option<String>, Query, description = "`minute` or `hour` [default: minute]"),
        ("count" = Option<u64>, Query, maximum = 1440,
            description = "How many buckets, up to now [default: 60 minutes, 24 hours; at most 1440 minutes, 720 hours]"),
    ),
    responses(
        (status = 200, description = "The throughput", body = Throughput),
        BadRequest, InternalError, Unavailable,
    ),
)]
pub async fn throughput(State(state): State<Shared>, uri: Uri) -> Answer<Throughput> {
    let asked = query(&uri, &["unit", "count"])?;
    let (unit_ms, default, max) = match asked.get("unit").map(String::as_str) {
        None | Some("minute") => (60_000, 60, 1_440),
        Some("hour") => (3_600_000, 24, 720),
        Some(_) => {
            return Err(ServiceError::BadRequest(
                "invalid_request",
                "unit must be minute or hour".into(),
            ))
        }
    };
    let count = match asked.get("count") {
        Some(count) => number_at_most("count", count, max)?.max(1),
        None => default,
    };
    let now = zkclaim_insurer::now_ms();
    let first = (now / unit_ms).saturating_sub(count - 1) * unit_ms;
    let mut buckets: Vec<Bucket> = (0..count)
        .map(|i| Bucket {
            start_ms: first + i * unit_ms,
            blocks: 0,
            invoices: 0,
            voids: 0,
            claims: 0,
        })
        .collect();
    let (complete, buckets) = blocking(&state, move |ledger| {
        // Block times never go backwards: read from the head until before the first bucket.
        let mut read = 0;
        for height in (1..=ledger.height()).rev() {
            if read == THROUGHPUT_BLOCKS {
                return Ok((false, buckets));
            }
            let Some(block) = ledger.block(height)? else {
                continue;
            };
            read += 1;
            let time = block.header.time_ms;
            if time < first {
                break;
            }
            let Some(bucket) = buckets.get_mut(((time - first) / unit_ms) as usize) else {
                continue;
            };
            bucket.blocks += 1;
            for stx in &block.transactions {
                match &stx.tx {
                    Transaction::RegisterInvoice { .. } => bucket.invoices += 1,
                    Transaction::VoidInvoice { .. } => bucket.voids += 1,
                    Transaction::SettleClaim { .. } | Transaction::SettleContinuation { .. } => {
                        bucket.claims += 1
                    }
                }
            }
        }
        Ok((true, buckets))
    })
    .await?;
    Ok(Json(Throughput {
        unit_ms,
        buckets,
        complete,
    }))
}
