// `zkclaim bench --browser`'s driver: Chromium (puppeteer-core) proving with the SDK's
// WebAssembly build, one proof per "prove" line on stdin, its time in ms on stdout.
//
// node browser.mjs NPM_PREFIX CHROMIUM SDK_DIR PARAMS_DIR WITNESS.json
//
// It serves a blank page, the SDK (SDK_DIR: sdk/js with its pkg/) and the parameter files
// from 127.0.0.1, so that the page loads them as the patient's page does from a node. Once
// the prover is loaded it prints `ready LOAD_MS`; after each proof `proved MS`; `error …`
// and exit 1 on any failure.

import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join, normalize } from 'node:path';

const [prefix, chromium, sdk, params, witnessFile] = process.argv.slice(2);
const require = createRequire(join(prefix, 'node_modules', 'package.json'));
const puppeteer = require('puppeteer-core');
const witness = await readFile(witnessFile, 'utf8');

const types = { js: 'text/javascript', wasm: 'application/wasm', json: 'application/json' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  const file = path.startsWith('/sdk/')
    ? join(sdk, path.slice(5))
    : path.startsWith('/params/primary/')
      ? join(params, path.slice(16))
      : null;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title>');
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[file.split('.').pop()] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  protocolTimeout: 600_000,
});
try {
  const page = await browser.newPage();
  await page.goto(base);
  const loadMs = await page.evaluate(async (witness) => {
    const sdk = await import('/sdk/src/index.js');
    await sdk.load();
    const client = new sdk.Client(location.origin);
    const shape = await client.parameterFile('shape.json');
    const key = await client.parameterFile('claim.pk');
    const file = await client.parameterFile('claim.prover');
    const start = performance.now();
    const prover = new sdk.Prover(shape, key, file, await sdk.sha256Hex(key));
    const loaded = performance.now() - start;
    const w = JSON.parse(witness);
    globalThis.prove = () => {
      const start = performance.now();
      prover.prove(w.key, w.invoice, w.policy, w.path);
      return performance.now() - start;
    };
    return loaded;
  }, witness);
  console.log(`ready ${loadMs.toFixed(1)}`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'prove') break;
    console.log(`proved ${(await page.evaluate(() => globalThis.prove())).toFixed(1)}`);
  }
} catch (e) {
  console.log(`error ${String(e.message ?? e).split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
