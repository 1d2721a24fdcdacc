// Drives the node's patient page (/app/) in headless Chromium (puppeteer-core) as a patient
// would: imports the key, the invoice and the policy from files, checks the preview, proves
// in the browser and claims at the node's insurer, reads the receipt; claims the same invoice
// again and reads the refusal. Every request the browser makes (the page's and its worker's)
// is recorded with its body. Prints one JSON object for service/tests/web.rs to check.
//
// node patient.mjs NPM_PREFIX BASE_URL CHROMIUM PATIENT_DIR [SCREENSHOT_DIR]
// PATIENT_DIR holds key.json, invoice.json and policy.json.

import { createRequire } from 'node:module';
import { join } from 'node:path';

const [prefix, base, chromium, patient, screenshots] = process.argv.slice(2);
const require = createRequire(join(prefix, 'node_modules', 'package.json'));
const puppeteer = require('puppeteer-core');

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // The tests run as root in a container: Chromium's sandbox needs user namespaces.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const report = { problems: [], requests: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 1400 });
  // Every request of the page and of its dedicated worker, from the browser's own network
  // layer (the DevTools protocol sees a worker's requests on the page's session).
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', ({ request }) => {
    report.requests.push({ url: request.url, method: request.method, body: request.postData ?? '' });
  });
  page.on('console', (m) => {
    // The page asks whether the claim is settled already; the first time the 404 is logged
    // by Chromium as a failed load: expected.
    const api = m.text().startsWith('Failed to load resource') && m.location().url.includes('/v1/claims/');
    if (m.type() === 'error' && !api) report.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => report.problems.push(`page error: ${e.message}`));

  const opened = Date.now();
  await page.goto(`${base}/app/`, { waitUntil: 'networkidle0' });
  report.open_ms = Date.now() - opened;
  const upload = async (id, file) => (await page.$(id)).uploadFile(join(patient, file));
  await upload('#key-file', 'key.json');
  await page.waitForFunction(() => document.querySelector('#public-key').textContent.startsWith('0x'));
  report.public_key = await page.$eval('#public-key', (e) => e.textContent);
  await upload('#invoice-file', 'invoice.json');
  await upload('#policy-file', 'policy.json');
  await page.waitForSelector('#preview:not([hidden])');
  report.preview_amount = await page.$eval('#claim-amount', (e) => e.textContent);
  report.disclosure = await page.$$eval('#disclosure tr', (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent)),
  );
  // By keyboard: the checkbox and the button.
  await page.focus('#claim-now');
  await page.keyboard.press('Space');
  const settledOrRefused = () =>
    page.waitForFunction(
      () => !document.querySelector('#receipt').hidden || document.querySelector('#status .error'),
      { timeout: 300_000 },
    );
  const clicked = Date.now();
  await page.focus('#claim');
  await page.keyboard.press('Enter');
  await settledOrRefused();
  report.click_to_receipt_ms = Date.now() - clicked;
  report.status = await page.$eval('#status', (e) => e.textContent.trim());
  report.receipt = await page.evaluate(() => {
    if (document.querySelector('#receipt').hidden) return null;
    const timing = document.querySelector('#receipt-timing').dataset;
    return {
      amount: document.querySelector('#receipt-amount').textContent,
      height: Number(document.querySelector('#receipt-height').textContent),
      tx_id: document.querySelector('#receipt-tx').textContent,
      nullifier: document.querySelector('#receipt-nullifier').textContent,
      package: JSON.parse(document.querySelector('#package').textContent),
      prove_ms: Number(timing.proveMs),
      load_ms: Number(timing.loadMs),
      total_ms: Number(timing.totalMs),
    };
  });
  // What the browser downloaded, by resource (the page, its scripts, the WebAssembly
  // module and the parameters).
  report.resources = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .concat(performance.getEntriesByType('navigation'))
      .map((r) => ({ url: r.name, bytes: r.encodedBodySize, transferred: r.transferSize })),
  );
  if (screenshots) {
    await page.screenshot({ path: join(screenshots, 'app.png'), fullPage: true });
  }

  // The same invoice again: the page shows the duplicate refusal.
  await page.focus('#claim');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#status .error'), { timeout: 300_000 });
  report.again = await page.$eval('#status', (e) => e.textContent.trim());
} catch (e) {
  report.problems.push(`driver: ${e.stack ?? e}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
