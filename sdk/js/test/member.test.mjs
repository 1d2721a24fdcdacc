// node --test sdk/js/test/member.test.mjs
//
// The shared signing vectors (docs/vectors/signing.json, which the Rust code checks too),
// and, where ZKCLAIM_URL names a running node (serving the first insurer's intake), a
// claim's whole story against it: the insurer enrols the patient, the hospital registers, the
// patient has the node prove under the policy issued, the insurer settles; a replayed
// request is refused, an honest retry goes through, and the patient's intake of the same
// claim gets the same receipt. service/tests/signing.rs runs it that way in CI, with
// ZKCLAIM_DATA (the consortium's DATA folder: genesis and member keys) and ZKCLAIM_PATIENT (a
// folder with the patient's invoice.json, key.json, application.json (its claimant tag at
// the insurer and the policy's terms) and the invoice's commitment in commitment.txt).

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  MemberClient,
  Refused,
  fieldBytes,
  memberKey,
  requestMessage,
  signRequest,
  signTransaction,
  transactionId,
  transactionSigningBytes,
} from '../src/member.js';

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

test('the shared signing vectors', () => {
  const vectors = readJson(new URL('../../../docs/vectors/signing.json', import.meta.url));
  const keys = new Map();
  for (const member of vectors.members) {
    const key = memberKey(member);
    assert.equal(key.publicKey, member.public_key);
    keys.set(member.member_id, key);
  }
  for (const v of vectors.transactions) {
    const key = keys.get(v.signer);
    const bytes = transactionSigningBytes(v.tx, vectors.chain_id, v.signer);
    assert.equal(bytes.toString('hex'), v.signing_bytes, v.name);
    const signed = signTransaction(v.tx, vectors.chain_id, key);
    assert.equal(signed.signature, v.signature, v.name);
    assert.equal(transactionId(signed, vectors.chain_id), v.tx_id, v.name);
    assert.equal(JSON.stringify(signed), v.body, v.name);
  }
  for (const v of vectors.requests) {
    assert.equal(requestMessage(v).toString('utf8'), v.message, v.name);
    const headers = signRequest(keys.get(v.member), v.method, v.path, v.body, v);
    assert.equal(headers['x-zkclaim-signature'], v.signature, v.name);
  }
  assert.ok(vectors.transactions.length >= 2 && vectors.requests.length >= 2);
});

test('field elements must be canonical', () => {
  const r = '0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001';
  assert.throws(() => fieldBytes(r), /not canonical/);
  assert.throws(() => fieldBytes('0x01'), /64 hex digits/);
  assert.equal(fieldBytes(`0x${'00'.repeat(31)}07`).at(-1), 7);
});

const url = process.env.ZKCLAIM_URL;

test(
  'a claim registered, proved and settled against a real node',
  { skip: !url && 'ZKCLAIM_URL names no node' },
  async () => {
    const data = process.env.ZKCLAIM_DATA;
    const patient = process.env.ZKCLAIM_PATIENT;
    const genesis = readJson(join(data, 'consortium', 'genesis.json'));
    const member = (role) => {
      const { id } = genesis.members.find((m) => m.role === role);
      return memberKey(readJson(join(data, 'consortium', 'keys', `member-${id}.json`)));
    };
    const [hospital, insurer] = [member('hospital'), member('insurer')];
    const chainId = genesis.chain_id;
    const node = new MemberClient(url);

    // The insurer enrols the patient: the policy file it issues is the one to prove under.
    const application = readJson(join(patient, 'application.json'));
    const enrolled = await node.enroll(insurer, application);
    assert.equal(enrolled.enrolment.claimant_tag, application.claimant_tag);
    assert.equal(enrolled.policy.insurer_id, insurer.memberId);
    const { enrolments } = await node.enrolments(insurer);
    assert.deepEqual(enrolments.at(-1), enrolled.enrolment);

    // The hospital registers the invoice's commitment.
    const commitment = readFileSync(join(patient, 'commitment.txt'), 'utf8').trim();
    const registered = await node.registerInvoice(chainId, hospital, commitment);
    const expectedId = transactionId(
      signTransaction({ register_invoice: { commitment } }, chainId, hospital),
      chainId,
    );
    assert.equal(registered.tx_id, expectedId);
    assert.equal(typeof registered.leaf_index, 'number');

    // The patient has the node prove the claim.
    const request = {
      ...Object.fromEntries(
        ['invoice', 'key'].map((name) => [name, readJson(join(patient, `${name}.json`))]),
      ),
      policy: enrolled.policy,
    };
    const claim = await node.prove(request);
    assert.equal(claim.proof.length, 2 + 2 * 128);

    // The insurer settles it.
    const signed = signTransaction({ settle_claim: { claim } }, chainId, insurer);
    const body = JSON.stringify(signed);
    const headers = signRequest(insurer, 'POST', '/v1/claims', body);
    const settled = await node.request('POST', '/v1/claims', { body, headers });
    assert.equal(settled.tx_id, transactionId(signed, chainId));
    assert.equal(settled.nullifier, claim.public_inputs.nullifier);
    assert.equal(settled.claim_amount, claim.public_inputs.claim_amount);

    // The same request again, byte for byte, is a replay.
    await assert.rejects(node.request('POST', '/v1/claims', { body, headers }), (e) => {
      assert.ok(e instanceof Refused);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'replayed_signature');
      return true;
    });
    // The same transaction signed again, in the same second, is an honest retry: it gets
    // the first receipt.
    const retry = await node.request('POST', '/v1/claims', {
      body,
      headers: signRequest(insurer, 'POST', '/v1/claims', body, {
        timestamp: Number(headers['x-zkclaim-timestamp']),
      }),
    });
    assert.deepEqual(retry, settled);
    // The patient handing the same claim in gets the same receipt, and its status.
    assert.deepEqual(await node.intake(claim), settled);
    const status = await node.intakeStatus(claim.public_inputs.nullifier);
    assert.equal(status.status, 'settled');
    assert.equal(status.tx_id, settled.tx_id);

    const record = await node.claim(claim.public_inputs.nullifier);
    assert.equal(record.insurer, insurer.memberId);
    assert.deepEqual(record.claim, claim);
    if (process.env.ZKCLAIM_JS_OUT) {
      writeFileSync(process.env.ZKCLAIM_JS_OUT, JSON.stringify({ settled, claim }));
    }
  },
);
