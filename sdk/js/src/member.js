// zkclaim for consortium members in plain Node.js (18 or later): Ed25519 and SHA-256 from
// node:crypto, HTTP from the global fetch (through `Client`). No dependencies.
//
// It computes what the node checks, byte for byte, as docs/protocol.md specifies:
// the ledger transaction's signing bytes (signed by the member, verified by the ledger) and
// the request signature (the x-zkclaim-* headers of a member action).

import { createHash, createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import { Client } from './client.js';

export { Client, Refused } from './client.js';

/** r, the BN254 scalar field modulus: field elements are below it. */
export const R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n;
/** Bytes of a compressed Groth16 proof (arkworks' encoding). */
export const PROOF_SIZE = 128;

const TX_DOMAIN = 'zkclaim/tx/v1';
const REQUEST_DOMAIN = 'zkclaim/request/v1';
const REGISTER_INVOICE = 1;
// Statement v2's claim (0x02 was v1's, without insurer_id).
const SETTLE_CLAIM = 4;
// Statement v2: only the hospital that registered the commitment may void it.
const VOID_INVOICE = 3;
// Statement v2: a continuation claim, a later payer's on an invoice whose previous rank settled.
const SETTLE_CONTINUATION = 5;
// PKCS#8 DER of an Ed25519 private key, up to its 32-byte seed (RFC 8410).
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** `"0x"` and exactly `2 * size` lowercase or uppercase hex digits, as bytes. */
function hexBytes(text, size, what) {
  if (typeof text !== 'string' || !/^0x[0-9a-fA-F]*$/.test(text) || text.length !== 2 + 2 * size) {
    throw new Error(`${what} must be "0x" and ${2 * size} hex digits`);
  }
  return Buffer.from(text.slice(2), 'hex');
}

/** A field element (`"0x"` + 64 hex digits, canonical: below r) as 32 big-endian bytes. */
export function fieldBytes(text, what = 'field element') {
  const bytes = hexBytes(text, 32, what);
  if (BigInt(text) >= R) {
    throw new Error(`${what} is not canonical (not below r)`);
  }
  return bytes;
}

function u32(n) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return out;
}

function u64(n) {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(n));
  return out;
}

/** The transaction's body: its tag, then its fields. */
function transactionBody(tx) {
  if (tx.register_invoice) {
    return Buffer.concat([
      Buffer.from([REGISTER_INVOICE]),
      fieldBytes(tx.register_invoice.commitment, 'commitment'),
    ]);
  }
  if (tx.settle_claim) {
    const { public_inputs: p, proof } = tx.settle_claim.claim;
    return Buffer.concat([
      Buffer.from([SETTLE_CLAIM]),
      ...['invoice_root', 'nullifier', 'claimant_tag', 'policy_hash'].map((name) =>
        fieldBytes(p[name], name),
      ),
      u64(p.claim_amount),
      u32(p.insurer_id),
      hexBytes(proof, PROOF_SIZE, 'proof'),
    ]);
  }
  if (tx.settle_continuation) {
    const { public_inputs: p, proof } = tx.settle_continuation.claim;
    const fields = (names) => names.map((name) => fieldBytes(p[name], name));
    return Buffer.concat([
      Buffer.from([SETTLE_CONTINUATION]),
      ...fields(['invoice_root', 'settled_root', 'nullifier', 'claimant_tag', 'policy_hash']),
      u64(p.claim_amount),
      ...fields(['settled_leaf']),
      u32(p.insurer_id),
      hexBytes(proof, PROOF_SIZE, 'proof'),
    ]);
  }
  if (tx.void_invoice) {
    return Buffer.concat([
      Buffer.from([VOID_INVOICE]),
      fieldBytes(tx.void_invoice.commitment, 'commitment'),
    ]);
  }
  throw new Error(
    'a transaction is {"register_invoice": …}, {"settle_claim": …}, ' +
      '{"settle_continuation": …} or {"void_invoice": …}',
  );
}

/**
 * The exact bytes member `signer` signs on chain `chainId`:
 * `"zkclaim/tx/v1" ‖ len(chain_id) u32 ‖ chain_id ‖ signer u32 ‖ body`.
 */
export function transactionSigningBytes(tx, chainId, signer) {
  const chain = Buffer.from(chainId, 'utf8');
  return Buffer.concat([
    Buffer.from(TX_DOMAIN, 'ascii'),
    u32(chain.length),
    chain,
    u32(signer),
    transactionBody(tx),
  ]);
}

/** A member key from its key file, `{"member_id": N, "secret_key": "<64 hex digits>"}`. */
export function memberKey(file) {
  const seed = Buffer.from(file.secret_key, 'hex');
  if (seed.length !== 32) {
    throw new Error('secret_key must be 64 hex digits');
  }
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { memberId: file.member_id, privateKey, publicKey: spki.subarray(-32).toString('hex') };
}

/** The signed transaction, as the node takes it (`SignedTransaction` JSON). */
export function signTransaction(tx, chainId, key) {
  const bytes = transactionSigningBytes(tx, chainId, key.memberId);
  return { tx, signer: key.memberId, signature: sign(null, bytes, key.privateKey).toString('hex') };
}

/** The transaction id the node answers: SHA-256 of the signing bytes, then the signature. */
export function transactionId(signed, chainId) {
  return createHash('sha256')
    .update(transactionSigningBytes(signed.tx, chainId, signed.signer))
    .update(Buffer.from(signed.signature, 'hex'))
    .digest('hex');
}

/**
 * The bytes a member signs to authenticate one request, the lines
 * `zkclaim/request/v1, METHOD, PATH, hex(sha256(body)), MEMBER, TIMESTAMP, NONCE`
 * joined by "\n".
 */
export function requestMessage({ method, path, body, member, timestamp, nonce }) {
  const digest = createHash('sha256').update(body, 'utf8').digest('hex');
  return Buffer.from(
    [REQUEST_DOMAIN, method, path, digest, member, timestamp, nonce].join('\n'),
    'utf8',
  );
}

/**
 * The headers that authenticate a request by `key`: made now with a fresh random nonce
 * unless `timestamp` (unix seconds) or `nonce` (32 lowercase hex digits) are given.
 */
export function signRequest(key, method, path, body, options = {}) {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = options.nonce ?? randomBytes(16).toString('hex');
  const message = requestMessage({ method, path, body, member: key.memberId, timestamp, nonce });
  return {
    'x-zkclaim-member': String(key.memberId),
    'x-zkclaim-timestamp': String(timestamp),
    'x-zkclaim-nonce': nonce,
    'x-zkclaim-signature': sign(null, message, key.privateKey).toString('hex'),
  };
}

/**
 * A client of a zkclaim node for members (hospitals, insurers) on Node.js: the patient's
 * and the public reads of `Client`, and the member-signed actions.
 * `new MemberClient("https://node.example:8080")`.
 */
export class MemberClient extends Client {
  /** Posts a member action: `body` (a string) signed by `key` now. */
  postSigned(path, body, key) {
    return this.request('POST', path, { body, headers: signRequest(key, 'POST', path, body) });
  }

  /** A member's GET signed by `key` now: over an empty body, and the path without its query. */
  getSigned(path, key) {
    const headers = signRequest(key, 'GET', path.split('?')[0], '');
    return this.request('GET', path, { headers });
  }

  /** Hospital: registers an invoice commitment. The receipt and the invoice's leaf index. */
  registerInvoice(chainId, hospital, commitment) {
    const signed = signTransaction({ register_invoice: { commitment } }, chainId, hospital);
    return this.postSigned('/v1/invoices', JSON.stringify(signed), hospital);
  }

  /**
   * Hospital: voids an invoice commitment it registered (a refund, or before registering
   * its correction with the same serial). The receipt, the leaf and `claimable_for_ms`.
   */
  voidInvoice(chainId, hospital, commitment) {
    const signed = signTransaction({ void_invoice: { commitment } }, chainId, hospital);
    return this.postSigned('/v1/invoices/void', JSON.stringify(signed), hospital);
  }

  /**
   * Insurer: settles a claim package, a primary claim's or a continuation's (statement v2:
   * its public inputs hold `settled_root`). The receipt, the nullifier and the amount.
   */
  settleClaim(chainId, insurer, claim) {
    const tx =
      'settled_root' in claim.public_inputs
        ? { settle_continuation: { claim } }
        : { settle_claim: { claim } };
    const signed = signTransaction(tx, chainId, insurer);
    return this.postSigned('/v1/claims', JSON.stringify(signed), insurer);
  }

  /**
   * Insurer: enrols a policyholder, `{claimant_tag, terms, claims_until?, payout_ref}`. The
   * enrolment and the policy file to hand to the patient, `{enrolment, policy}`.
   */
  enroll(insurer, application) {
    return this.postSigned('/v1/enrolments', JSON.stringify(application), insurer);
  }

  /** Insurer: its enrolments, `{enrolments: [...]}`. */
  enrolments(insurer) {
    return this.getSigned('/v1/enrolments', insurer);
  }
}
