// The patient's page: a key kept in this browser, an invoice and a policy imported from
// files, the claim previewed, proved in a Web Worker on this device and handed in at the
// node's insurer. What leaves the device: requests for public data (genesis, leaves,
// parameters) and the claim package (public inputs and proof), nothing else.

import {
  Client,
  claimantTag,
  explain,
  invoicePath,
  load,
  parameterFiles,
  preview,
  publicKey,
  newKey,
} from '/sdk/src/index.js';

const KEY = 'zkclaim.key';
const $ = (id) => document.getElementById(id);
const client = new Client(location.origin);
const files = { invoice: null, policy: null };
let genesis;
let module;
let worker;
let parameters;

function say(message, kind = 'note') {
  $('status').replaceChildren();
  if (message) {
    const p = document.createElement('p');
    p.className = kind;
    p.textContent = message;
    $('status').append(p);
  }
}

const yuan = (fen) => `¥${(fen / 100).toFixed(2)}`;

async function start() {
  try {
    module = await WebAssembly.compileStreaming(fetch('/sdk/pkg/zkclaim_wallet_bg.wasm'));
    await load(module);
  } catch {
    say(
      'This node has no WebAssembly build of the prover: its operator runs sdk/js/build.sh (the third set-up command of the README).',
      'error',
    );
    document.querySelectorAll('button, input').forEach((e) => (e.disabled = true));
    return;
  }
  ({ genesis } = await client.genesis());
  showKey();
  $('key-new').addEventListener('click', () => {
    if (localStorage.getItem(KEY) && !confirm('Replace the key in this browser? Export it first if you need it.')) {
      return;
    }
    localStorage.setItem(KEY, newKey());
    showKey();
    say('A new key was created and kept in this browser. Export it to keep a copy.', 'ok');
  });
  $('key-file').addEventListener('change', async (e) => {
    const text = await e.target.files[0]?.text();
    e.target.value = '';
    if (!text) return;
    try {
      publicKey(text);
      localStorage.setItem(KEY, text);
      showKey();
      say('The key file was imported.', 'ok');
    } catch (error) {
      say(`This is not a zkclaim key file: ${error.message}`, 'error');
    }
  });
  $('key-export').addEventListener('click', () => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([localStorage.getItem(KEY)], { type: 'application/json' }));
    link.download = 'patient-key.json';
    link.click();
    URL.revokeObjectURL(link.href);
  });
  $('key-forget').addEventListener('click', () => {
    if (confirm('Remove the key from this browser? Without a copy, its invoices cannot be claimed.')) {
      localStorage.removeItem(KEY);
      showKey();
    }
  });
  for (const kind of ['invoice', 'policy']) {
    $(`${kind}-file`).addEventListener('change', async (e) => {
      files[kind] = (await e.target.files[0]?.text()) ?? null;
      showPreview();
    });
  }
  $('claim').addEventListener('click', claim);
}

function showKey() {
  const key = localStorage.getItem(KEY);
  $('key-none').hidden = Boolean(key);
  $('key-facts').hidden = !key;
  $('key-export').disabled = $('key-forget').disabled = !key;
  if (key) {
    $('public-key').textContent = publicKey(key);
    const insurers = genesis.members.filter((m) => m.role === 'insurer');
    $('claimant-tags').replaceChildren(
      ...insurers.map((m) => {
        const li = document.createElement('li');
        const code = document.createElement('code');
        code.className = 'hex full';
        code.textContent = claimantTag(key, m.id);
        li.append(`${m.name} (${m.id}): `, code);
        return li;
      }),
    );
  }
  showPreview();
}

let shown;

function showPreview() {
  const key = localStorage.getItem(KEY);
  $('preview').hidden = true;
  shown = undefined;
  if (!key || !files.invoice || !files.policy) return;
  try {
    shown = JSON.parse(preview(key, files.invoice, files.policy, JSON.stringify(genesis.shape)));
  } catch (error) {
    say(explain(error), 'error');
    return;
  }
  say('');
  $('claim-amount').textContent = yuan(shown.claim_amount);
  $('eligible').textContent = yuan(shown.eligible);
  const rows = [
    ['Amount claimed', yuan(shown.claim_amount)],
    ['Insurer', String(shown.insurer_id)],
    ['Claim identifier (nullifier: the same for this invoice at every insurer)', shown.nullifier],
    ['Your claimant tag at this insurer', shown.claimant_tag],
    ['Hash of your policy', shown.policy_hash],
    ['A recent ledger root (of every invoice registered)', 'yes'],
    ['Hospital, date, line items, categories, amounts', 'no: stay on this device'],
    ['Your key and your invoice\'s serial number', 'no: stay on this device'],
    ['The policy\'s terms and salt', 'no: stay on this device'],
  ];
  $('disclosure').replaceChildren(
    ...rows.map(([what, sent]) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = what;
      const td = document.createElement('td');
      td.textContent = sent;
      if (sent.startsWith('0x')) td.className = 'hex';
      tr.append(th, td);
      return tr;
    }),
  );
  $('preview').hidden = false;
}

function progress(value) {
  const bar = $('progress');
  bar.hidden = value === null;
  if (value === undefined) bar.removeAttribute('value');
  else if (value !== null) bar.value = value;
}

function prove(message) {
  worker ??= new Worker('/app/worker.js', { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.stage === 'loading') say('Loading the proving key…');
      else if (data.stage === 'proving') say('Proving on this device…');
      else if (data.error) reject(Object.assign(new Error(data.error), { code: data.code }));
      else resolve(data);
    };
    worker.postMessage(message);
  });
}

async function claim() {
  const key = localStorage.getItem(KEY);
  const started = performance.now();
  $('claim').disabled = true;
  $('receipt').hidden = true;
  try {
    progress(undefined);
    // A claim handed in again gets its first receipt (a retry is safe): an invoice the
    // ledger shows settled, at this insurer or another, is refused here before any proof.
    const settled = await client.claim(shown.nullifier).catch((e) => {
      if (e.status === 404) return null;
      throw e;
    });
    if (settled) {
      throw Object.assign(new Error(`settled in block ${settled.height}`), { code: 'already_claimed' });
    }
    say('Reading the ledger\'s invoices, to find this one\'s path without telling the node which…');
    const at = await invoicePath(client, shown.commitment, genesis.shape.depth);
    if (at.laterByOthers < 64 && !$('claim-now').checked) {
      say(
        `Only ${at.laterByOthers} invoices by other hospitals were registered after this one: the claim's root would point at the block that registered it. Wait, or tick "Claim now".`,
        'error',
      );
      return;
    }
    if (!parameters) {
      say('Downloading the proving key (once; kept by this browser)…');
      parameters = await parameterFiles(client, genesis, {
        onProgress: ({ loaded, total }) => total && progress((100 * loaded) / total),
      });
    }
    progress(undefined);
    const proved = await prove({
      module,
      parameters,
      key,
      invoice: files.invoice,
      policy: files.policy,
      path: at.path,
    });
    say('Handing the claim in to the insurer…');
    const receipt = await client.intake(JSON.parse(proved.package));
    $('receipt-amount').textContent = yuan(receipt.claim_amount);
    $('receipt-height').textContent = String(receipt.height);
    $('receipt-tx').textContent = receipt.tx_id;
    $('receipt-nullifier').textContent = receipt.nullifier;
    const total = ((performance.now() - started) / 1000).toFixed(1);
    $('receipt-timing').textContent = `${(proved.proveMs / 1000).toFixed(1)} s (${total} s from the click to this receipt)`;
    $('receipt-timing').dataset.proveMs = proved.proveMs.toFixed(0);
    $('receipt-timing').dataset.loadMs = proved.loadMs.toFixed(0);
    $('receipt-timing').dataset.totalMs = (performance.now() - started).toFixed(0);
    $('package').textContent = proved.package;
    $('receipt').hidden = false;
    say(`Settled: ${yuan(receipt.claim_amount)} in block ${receipt.height}.`, 'ok');
    $('receipt').focus();
  } catch (error) {
    say(explain(error), 'error');
  } finally {
    progress(null);
    $('claim').disabled = false;
  }
}

start().catch((error) => say(explain(error), 'error'));
