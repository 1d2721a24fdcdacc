// The ledger explorer: the current roots (/v1/roots), the audit's result (/v1/audit), the
// throughput over time (/v1/throughput), a claim by its nullifier (/v1/claims/{nullifier})
// and the blocks with their transactions' ids, kinds, signers and sizes (/v1/blocks). Read
// only, no login. Every value is put in the page as text, never as markup.

import {
  Refused,
  api,
  barChart,
  count,
  fillTable,
  formatAmount,
  formatBytes,
  formatTime,
  h,
  hexId,
  memberLabel,
  memberNames,
  refusalText,
  say,
  show,
} from "/assets/common.js";

const PAGE = 20;
const KINDS = {
  register_invoice: "invoice registered",
  void_invoice: "invoice voided",
  settle_claim: "claim settled",
  settle_continuation: "continuation claim settled",
};

const $ = (id) => document.getElementById(id);
const status = $("status");
let names = new Map();
/** The `before` of the next page of older blocks, if any. */
let nextBefore = null;

function fact(term, ...value) {
  return [h("dt", {}, term), h("dd", {}, ...value)];
}

async function loadRoots() {
  const roots = await api("/v1/roots");
  show(
    $("roots"),
    fact("Height", h("span", { id: "height" }, roots.height)),
    fact("Invoices registered", String(roots.invoice_count)),
    fact("Invoice root", hexId(roots.root, { full: true })),
    fact("Settled root", hexId(roots.settled_root, { full: true })),
    fact(
      "Roots a claim may use",
      `${count(roots.roots.length, "recent invoice root")}: a replaced root is accepted for ` +
        `${roots.root_max_age_ms / 1000} s more`,
    ),
  );
}

async function loadAudit() {
  const audit = await api("/v1/audit");
  const box = $("audit");
  if (audit.passed) {
    const r = audit.report;
    show(
      box,
      h("p", { class: "ok", id: "audit-result", "data-passed": "true" },
        `Passed at height ${audit.height}: ${count(r.blocks, "block")}, ` +
        `${count(r.invoices, "invoice")} (${r.voided} voided), ${count(r.claims, "claim")} ` +
        `(${count(r.continuations, "continuation")}); every hash, signature, root and proof checks.`),
      r.rejected.length > 0
        ? h("p", { class: "note" }, `${count(r.rejected.length, "slot")} rejected by every node and skipped: ` +
          r.rejected.map((x) => `block ${x.height}: ${x.reason}`).join("; "))
        : null,
    );
  } else {
    const f = audit.failure;
    show(
      box,
      h("p", { class: "error", id: "audit-result", "data-passed": "false" },
        `Failed at block ${f.height}: ${f.reason}`),
    );
  }
  box.append(h("p", { class: "muted" }, `Parameters: ${audit.parameters}`));
}

async function loadThroughput() {
  const unit = $("unit").value;
  const t = await api(`/v1/throughput?unit=${unit}`);
  const label = (ms) => formatTime(ms).slice(11, 16);
  const claims = t.buckets.map((b) => b.claims);
  const invoices = t.buckets.map((b) => b.invoices + b.voids);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const blocks = sum(t.buckets.map((b) => b.blocks));
  const span = unit === "hour" ? "24 hours" : "hour";
  show(
    $("throughput"),
    barChart({
      title: `Transactions per ${unit}`,
      summary: `In the last ${span}: ${count(blocks, "block")}, ${count(sum(claims), "claim")} settled and ` +
        `${count(sum(invoices), "invoice")} registered or voided; busiest ${unit}: ` +
        `${count(Math.max(0, ...t.buckets.map((b) => b.claims + b.invoices + b.voids)), "transaction")}.`,
      labels: t.buckets.map((b) => label(b.start_ms)),
      series: [
        { name: "claims", values: claims },
        { name: "invoices", values: invoices },
      ],
    }),
    h("p", { class: "muted", id: "throughput-summary", "data-blocks": blocks },
      `Last ${span} (UTC): ${count(blocks, "block")}, ${count(sum(claims), "claim")} settled, ` +
        `${count(sum(invoices), "invoice")} registered or voided.`),
    t.complete ? null : h("p", { class: "note" }, "The node read its most recent blocks only: the oldest bars count part of theirs."),
  );
}

function transactions(block) {
  const counts = {};
  for (const tx of block.transactions) counts[tx.kind] = (counts[tx.kind] || 0) + 1;
  const summary = Object.entries(counts).map(([kind, n]) => `${n} × ${KINDS[kind] || kind}`).join(", ");
  return h(
    "details",
    {},
    h("summary", {}, summary),
    h(
      "ul",
      {},
      block.transactions.map((tx) =>
        h("li", { "data-id": tx.id, "data-kind": tx.kind, "data-signer": tx.signer },
          hexId(tx.id), ` ${KINDS[tx.kind] || tx.kind}, signed by ${memberLabel(tx.signer, names)}, ${formatBytes(tx.size)}`)),
    ),
  );
}

/** Lists blocks below `before` (all when null); `append`: after those shown. */
async function loadBlocks(before, append) {
  const query = before === null ? `limit=${PAGE}` : `before=${before}&limit=${PAGE}`;
  const list = await api(`/v1/blocks?${query}`);
  const rows = list.blocks.map((b) => ({
    attrs: { id: `block-${b.height}`, "data-height": b.height, "data-hash": b.hash, "data-transactions": b.transactions.length },
    cells: [
      { value: String(b.height), header: true, number: true },
      formatTime(b.time_ms),
      memberLabel(b.proposer, names),
      transactions(b),
      { value: formatBytes(b.size), number: true },
      hexId(b.hash),
    ],
  }));
  fillTable($("blocks"), rows, "No blocks yet.", { append });
  nextBefore = list.next_before;
  $("older").hidden = nextBefore === null || nextBefore === undefined;
  $("newest").hidden = before === null;
}

function showClaim(claim) {
  const inputs = claim.claim.public_inputs;
  const continuation = inputs.settled_root !== undefined;
  show(
    $("lookup"),
    h("p", { class: "ok" }, "Settled on the ledger."),
    h(
      "dl",
      { class: "facts", id: "claim", "data-height": claim.height, "data-insurer": claim.insurer, "data-amount": inputs.claim_amount },
      fact("Block", h("a", { href: `#block-${claim.height}`, "data-block-link": claim.height }, String(claim.height)), ` (transaction ${claim.tx_index})`),
      fact("Insurer", memberLabel(claim.insurer, names)),
      fact("Amount", formatAmount(inputs.claim_amount)),
      fact("Claim", continuation ? "a continuation (a later payer on the same invoice)" : "a first claim on its invoice"),
    ),
  );
}

$("lookup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("nullifier");
  const nullifier = input.value.trim();
  const box = $("lookup");
  if (!/^0x[0-9a-fA-F]{64}$/.test(nullifier)) {
    input.setAttribute("aria-invalid", "true");
    say(box, "A nullifier is 0x followed by 64 hex digits.", "error");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  say(box, "Looking up…");
  try {
    showClaim(await api(`/v1/claims/${nullifier}`));
  } catch (error) {
    if (error instanceof Refused && error.status === 404) {
      say(box, "No claim with this nullifier is settled on the ledger (yet).", "note");
    } else {
      say(box, refusalText(error), "error");
    }
  }
});

$("unit").addEventListener("change", () => loadThroughput().catch((e) => say(status, refusalText(e), "error")));

$("older").addEventListener("click", () => {
  if (nextBefore !== null) loadBlocks(nextBefore, true).catch((e) => say(status, refusalText(e), "error"));
});

$("newest").addEventListener("click", () => {
  history.replaceState(null, "", location.pathname);
  loadBlocks(null, false).catch((e) => say(status, refusalText(e), "error"));
});

/** The block an address like `/explorer/#block-12` asks for, if any. */
function askedBlock() {
  const match = /^#block-(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

async function showAsked() {
  const height = askedBlock();
  if (height === null) return;
  if (!document.getElementById(`block-${height}`)) await loadBlocks(height + 1, false);
  const row = document.getElementById(`block-${height}`);
  if (row) {
    row.setAttribute("tabindex", "-1");
    row.focus();
  }
}

window.addEventListener("hashchange", () => showAsked().catch((e) => say(status, refusalText(e), "error")));

async function refresh() {
  say(status, "Loading…");
  try {
    names = await memberNames();
    const asked = askedBlock();
    await Promise.all([
      loadRoots(),
      loadAudit(),
      loadThroughput(),
      loadBlocks(asked === null ? null : asked + 1, false),
    ]);
    await showAsked();
    say(status, "");
  } catch (error) {
    say(status, refusalText(error), "error");
  }
}

$("refresh").addEventListener("click", refresh);
refresh();
