// node --test sdk/js/test/wallet.test.mjs, with the WebAssembly build (sdk/js/build.sh)
//
// The SDK's patient side on Node.js against a real node: service/tests/sdk.rs starts one
// (serving the first insurer's intake) with a patient enrolled and its invoice registered, and
// gives ZKCLAIM_URL, ZKCLAIM_PATIENT (key.json, invoice.json, policy.json) and
// ZKCLAIM_EXPECTED (what the CLI and the node compute for them: public key, claimant tag,
// commitment, policy hash, the invoice's leaf index and path). The test writes the claim
// package it proved and the receipt to ZKCLAIM_JS_OUT for the Rust side to verify natively.
// Without ZKCLAIM_URL it skips (nothing to test against).

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  Client,
  claimantTag,
  explain,
  invoiceCommitment,
  invoicePath,
  load,
  loadProver,
  newKey,
  policyHash,
  preview,
  publicKey,
  Unclaimable,
  verify,
} from '../src/index.js';

const url = process.env.ZKCLAIM_URL;

test('the wallet proves on the device and the node settles it', { skip: !url && 'ZKCLAIM_URL is not set' }, async () => {
  await load(readFileSync(new URL('../pkg/zkclaim_wallet_bg.wasm', import.meta.url)));
  const dir = process.env.ZKCLAIM_PATIENT;
  const [key, invoice, policy] = ['key', 'invoice', 'policy'].map((f) =>
    readFileSync(join(dir, `${f}.json`), 'utf8'),
  );
  const expected = JSON.parse(readFileSync(process.env.ZKCLAIM_EXPECTED, 'utf8'));
  const client = new Client(url);
  const { genesis } = await client.genesis();

  // Keys and hashes: the CLI's.
  assert.equal(publicKey(key), expected.public_key);
  assert.equal(claimantTag(key, 10), expected.claimant_tag);
  assert.equal(invoiceCommitment(invoice, genesis.shape.items), expected.commitment);
  assert.equal(policyHash(policy), expected.policy_hash);
  assert.notEqual(publicKey(newKey()), publicKey(newKey()));
  const shown = JSON.parse(preview(key, invoice, policy, JSON.stringify(genesis.shape)));
  assert.equal(shown.commitment, expected.commitment);
  assert.equal(shown.insurer_id, 10);

  // The path, built from every leaf: the node's own path for the leaf, at its root.
  const at = await invoicePath(client, expected.commitment, genesis.shape.depth);
  assert.deepEqual(JSON.parse(at.path), expected.path);
  assert.equal(at.root, (await client.roots()).root);
  await assert.rejects(invoicePath(client, `0x${'0'.repeat(63)}1`, genesis.shape.depth), (e) => {
    assert.ok(e instanceof Unclaimable);
    assert.equal(e.code, 'unregistered_commitment');
    return true;
  });

  // The proof, with the parameters the genesis pins, verifies under the node's key.
  const prover = await loadProver(client, genesis, { cache: null });
  const claim = prover.prove(key, invoice, policy, at.path);
  const { key: vk } = await client.verifyingKey();
  verify(vk, claim);
  const tampered = JSON.parse(claim);
  tampered.public_inputs.claim_amount += 1;
  assert.throws(() => verify(vk, JSON.stringify(tampered)), (e) => e.code === 'invalid_proof');
  // A rule broken is refused on the device, with its code and the patient's words.
  assert.throws(
    () => prover.prove(newKey(), invoice, policy, at.path),
    (e) => e.code === 'not_patients_invoice' && explain(e).includes('another key'),
  );

  // Handed in: settled; again, the same receipt (a retry); the ledger holds it.
  const receipt = await client.intake(JSON.parse(claim));
  assert.deepEqual(await client.intake(JSON.parse(claim)), receipt);
  const settled = await client.claim(receipt.nullifier);
  assert.equal(settled.height, receipt.height);
  // The SDK's parameters, downloaded and pinned, are those the node proves with: wrong pin refused.
  await assert.rejects(
    loadProver(client, { ...genesis, proving_key_digest: 'ab'.repeat(32) }, { cache: null }),
    (e) => e.code === 'key_not_pinned',
  );
  writeFileSync(process.env.ZKCLAIM_JS_OUT, JSON.stringify({ claim: JSON.parse(claim), receipt }));
});
