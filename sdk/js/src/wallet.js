// The patient's side of zkclaim on the device: keys, hashes, the invoice's Merkle path and
// the proof, computed by the WebAssembly build of the native crates (wallet/, built by
// sdk/js/build.sh into ../pkg). The secret key, the invoice and the policy never leave the
// device: what goes to a node is the claim package (public inputs and proof) alone.

import init, { Prover, Tree } from '../pkg/zkclaim_wallet.js';

export {
  claimantTag,
  invoiceCommitment,
  newKey,
  policyHash,
  preview,
  Prover,
  publicKey,
  Tree,
  verify,
} from '../pkg/zkclaim_wallet.js';

let loaded;

/**
 * Loads the WebAssembly module once: in a browser from beside this file (no argument), on
 * Node.js from its bytes (`readFileSync(".../pkg/zkclaim_wallet_bg.wasm")`).
 */
export function load(module) {
  loaded ??= init(module === undefined ? undefined : { module_or_path: module });
  return loaded;
}

/** Why a claim cannot be made, found on the device before anything is sent. */
export class Unclaimable extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** SHA-256 of `bytes`, as 64 lowercase hex digits (WebCrypto, in browsers and Node.js). */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

const FILES = ['shape.json', 'claim.pk', 'claim.prover'];

/**
 * The primary circuit's parameter files from `client`'s node, `{shape, key, prover, pin}`
 * (bytes, and the pinned digest). The proving key must be the one the genesis pins
 * (`proving_key_digest`); the files are kept in the browser's Cache Storage under that
 * digest, so they are downloaded once. `onProgress` gets `{file, loaded, total}` while
 * downloading. For a Web Worker, which then makes the `Prover` (the bytes are transferable).
 */
export async function parameterFiles(client, genesis, { cache = globalThis.caches, onProgress } = {}) {
  const pin = genesis.proving_key_digest;
  if (!pin) {
    throw new Unclaimable(
      'no_pinned_key',
      'the consortium pins no proving key, so this device cannot check the key it would prove with',
    );
  }
  const name = `zkclaim-params-${pin}`;
  const store = cache ? await cache.open(name) : undefined;
  const bytes = {};
  for (const file of FILES) {
    const url = `${client.url}/params/primary/${file}`;
    let response = await store?.match(url);
    if (!response) {
      response = await client.fetch(url);
      if (!response.ok) {
        throw new Unclaimable('no_parameters', `the node does not serve the proving parameters (${file})`);
      }
      if (store) {
        await store.put(url, response.clone());
      }
    }
    bytes[file] = await read(response, (loaded, total) => onProgress?.({ file, loaded, total }));
  }
  if ((await sha256Hex(bytes['claim.pk'])) !== pin) {
    // A cached copy that no longer matches is dropped, so that the next try downloads again.
    await cache?.delete(name);
    throw new Unclaimable(
      'key_not_pinned',
      'the proving key downloaded is not the one the consortium pins: not proving with it',
    );
  }
  return { shape: bytes['shape.json'], key: bytes['claim.pk'], prover: bytes['claim.prover'], pin };
}

/** The primary circuit's prover from `client`'s node: `parameterFiles`, loaded. */
export async function loadProver(client, genesis, options = {}) {
  const { shape, key, prover, pin } = await parameterFiles(client, genesis, options);
  return new Prover(shape, key, prover, pin);
}

/** A response's body as bytes, reporting progress. */
async function read(response, progress) {
  const total = Number(response.headers.get('content-length')) || undefined;
  if (!response.body?.getReader) {
    return new Uint8Array(await response.arrayBuffer());
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    progress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * The invoice's Merkle path at the ledger's current root, built on the device from every
 * leaf (`GET /v1/leaves`), so that the node never learns which invoice is being claimed.
 * Also `laterByOthers`: invoices other hospitals registered in blocks after the invoice's,
 * the crowd the root hides the invoice's block among (docs/protocol.md, "Root choice").
 * Throws `Unclaimable` for a commitment the ledger does not hold or has voided.
 */
export async function invoicePath(client, commitment, depth) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const tree = new Tree(depth);
    const registrations = [];
    let voided = false;
    let page;
    do {
      page = await client.leaves(tree.length);
      tree.extend(page.leaves.map((l) => l.leaf));
      for (const l of page.leaves) {
        registrations.push(l);
        voided ||= l.voided === commitment;
      }
    } while (tree.length < page.count && page.leaves.length > 0);
    if (tree.root() !== page.root) {
      continue; // a block landed between two pages: read again
    }
    if (voided) {
      throw new Unclaimable(
        'voided_commitment',
        'the hospital voided this invoice (a refund or a correction): it cannot be claimed',
      );
    }
    const index = tree.position(commitment);
    if (index === undefined) {
      throw new Unclaimable(
        'unregistered_commitment',
        'this invoice is not registered on the ledger yet: ask the hospital, or try again later',
      );
    }
    const own = registrations[index];
    const laterByOthers = registrations.filter(
      (r) => r.height > own.height && r.hospital !== own.hospital,
    ).length;
    return { path: tree.path(index), root: page.root, height: page.height, laterByOthers };
  }
  throw new Unclaimable('busy_ledger', 'the ledger kept changing while it was read: try again');
}

/** What a refusal (a `Refused` from the node or an `Unclaimable`) means for the patient. */
export function explain(error) {
  const messages = {
    duplicate_claim: 'This invoice has already been claimed: it can be reimbursed only once.',
    already_claimed: 'This invoice has already been claimed: it can be reimbursed only once.',
    voided_commitment: 'The hospital voided this invoice (a refund or a correction): it cannot be claimed.',
    voided_leaf: 'The hospital voided this invoice (a refund or a correction): it cannot be claimed.',
    unregistered_commitment: 'This invoice is not registered on the ledger yet: ask the hospital, or try again later.',
    stale_root: 'The ledger moved on while the claim was being made: make the claim again.',
    expired_root: 'The ledger moved on while the claim was being made: make the claim again.',
    not_enrolled: 'You are not enrolled at this insurer under this policy: ask the insurer to enrol you.',
    enrolled_elsewhere: 'This policy is registered with another key: claim with the key you enrolled.',
    unknown_policy: 'The insurer does not know this policy: import the policy file the insurer gave you.',
    enrolment_revoked: 'The insurer has ended this enrolment: contact the insurer.',
    policy_expired: 'The policy no longer takes claims (past its last claim day).',
    wrong_insurer: 'This policy is another insurer\'s: hand the claim in at that insurer.',
    invalid_proof: 'The insurer could not verify the proof: make the claim again.',
    rate_limited: 'Too many claims at once: wait a moment and try again.',
    client_busy: 'A claim from this device is still being settled: wait for it.',
    busy: 'The insurer is busy: try again in a moment.',
    no_insurer: 'This node takes no claims for an insurer.',
    outside_period: 'The invoice was issued outside the policy\'s period: this policy does not cover it.',
    not_patients_invoice: 'This invoice was issued to another key: import the key the hospital issued it to.',
    invalid_policy: 'The policy file is not valid: import the policy file the insurer gave you.',
    invalid_invoice: 'The invoice file is not valid: import the invoice file the hospital gave you.',
    invalid_file: 'A file is not valid JSON of its kind.',
  };
  return messages[error?.code] ?? error?.reason ?? error?.message ?? String(error);
}
