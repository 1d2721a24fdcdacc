// Drives the node's insurer console and ledger explorer in headless Chromium (puppeteer-core)
// as a person would, by keyboard: the console's login refuses a wrong token and takes the
// right one, its tables are read, a reload keeps the session and the log-out ends it; the
// explorer's blocks, audit and throughput are read and a nullifier looked up. Prints one
// JSON object of what the pages showed, for service/tests/pages.rs to check against the API.
//
// node pages.mjs NPM_PREFIX BASE_URL TOKEN CHROMIUM NULLIFIER [SCREENSHOT_DIR]

import { createRequire } from 'node:module';
import { join } from 'node:path';

const [prefix, base, token, chromium, nullifier, screenshots] = process.argv.slice(2);
const require = createRequire(join(prefix, 'node_modules', 'package.json'));
const puppeteer = require('puppeteer-core');

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // The tests run as root in a container: Chromium's sandbox needs user namespaces.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const report = { problems: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  // Anything the page logs as an error (a script failing, a CSP violation) or a request
  // that fails is a problem the test reports.
  // The API's refusals the test asks for (a wrong token, an unknown nullifier) are logged
  // by Chromium as failed loads: those are expected.
  page.on('console', (m) => {
    const api = m.text().startsWith('Failed to load resource') && m.location().url.includes('/v1/');
    if (m.type() === 'error' && !api) report.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => report.problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => report.problems.push(`request failed: ${r.url()}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().includes('/v1/')) {
      report.problems.push(`${r.status()} for ${r.url()}`);
    }
  });

  const visible = (selector) => page.waitForSelector(selector, { visible: true, timeout: 20_000 });
  /** What a page's basic accessibility checks find. */
  const accessibility = () =>
    page.evaluate(() => ({
      lang: document.documentElement.lang,
      unlabelled: [...document.querySelectorAll('input, select, textarea')]
        .filter((i) => i.labels.length === 0)
        .map((i) => i.id),
      headerless: [...document.querySelectorAll('th')].filter(
        (th) => th.closest('thead') ? th.scope !== 'col' : th.scope !== 'row',
      ).length,
      liveRegions: document.querySelectorAll('[aria-live]').length,
      main: document.querySelectorAll('main').length,
      inlineStyles: document.querySelectorAll('[style], style').length,
      inlineScripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
    }));
  /** Types `text` into `selector` by keyboard and presses Enter. */
  const enter = async (selector, text) => {
    await page.focus(selector);
    await page.$eval(selector, (i) => (i.value = ''));
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
  };

  // The console.
  const consolePage = await page.goto(`${base}/console/`);
  report.csp = consolePage.headers()['content-security-policy'] || null;
  await visible('#login');
  await enter('#token', 'not-the-token');
  await visible('#status .error');
  report.wrong_token = {
    message: await page.$eval('#status .error', (e) => e.textContent),
    dashboard_hidden: await page.$eval('#dashboard', (e) => e.hidden),
    stored: await page.evaluate(() => sessionStorage.length),
  };
  await enter('#token', token);
  await visible('#dashboard');
  await visible('#settled tr[data-nullifier]');
  const rows = (selector, read) => page.$$eval(selector, (trs, read) => trs.map((tr) =>
    Object.fromEntries(read.map((k) => [k, tr.dataset[k]]))), read);
  report.console = {
    insurer: await page.$eval('#insurer-title', (e) => e.textContent),
    focused: await page.evaluate(() => document.activeElement && document.activeElement.id),
    settled: await rows('#settled tr[data-nullifier]', ['nullifier', 'amount', 'height']),
    refused: await rows('#refused tr[data-nullifier]', ['nullifier', 'code']),
    enrolments: await rows('#enrolments tr[data-claimant-tag]', ['claimantTag']),
    days: await page.$$eval('#days tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent))),
    chart_bars: await page.$$eval('#days-chart svg rect', (r) => r.length),
    token_stored: await page.evaluate(() => sessionStorage.length === 1),
    accessibility: await accessibility(),
  };
  // The screenshots show the pages at rest, without a focus ring.
  const blur = () => page.evaluate(() => document.activeElement && document.activeElement.blur());
  if (screenshots) {
    await blur();
    await page.screenshot({ path: join(screenshots, 'console.png'), fullPage: true });
  }
  await page.reload();
  await visible('#settled tr[data-nullifier]');
  report.console.kept_after_reload = true;
  await page.focus('#logout');
  await page.keyboard.press('Enter');
  await visible('#login');
  report.console.logged_out = {
    stored: await page.evaluate(() => sessionStorage.length),
    tables_cleared: await page.$$eval('#settled tr, #refused tr, #enrolments tr', (r) => r.length === 0),
    dashboard_hidden: await page.$eval('#dashboard', (e) => e.hidden),
  };

  // The explorer.
  await page.goto(`${base}/explorer/`);
  await visible('#blocks tr[data-height]');
  await visible('#audit-result');
  await visible('#throughput-summary');
  report.explorer = {
    height: await page.$eval('#height', (e) => Number(e.textContent)),
    blocks: await page.$$eval('#blocks tr[data-height]', (trs) => trs.map((tr) => ({
      height: Number(tr.dataset.height),
      hash: tr.dataset.hash,
      transactions: [...tr.querySelectorAll('li[data-id]')].map((li) => ({
        id: li.dataset.id,
        kind: li.dataset.kind,
        signer: Number(li.dataset.signer),
      })),
    }))),
    audit_passed: await page.$eval('#audit-result', (e) => e.dataset.passed === 'true'),
    audit: await page.$eval('#audit-result', (e) => e.textContent),
    throughput_blocks: await page.$eval('#throughput-summary', (e) => Number(e.dataset.blocks)),
    throughput_bars: await page.$$eval('#throughput svg rect', (r) => r.length),
    accessibility: await accessibility(),
  };
  await enter('#nullifier', `0x${'0'.repeat(63)}1`);
  await page.waitForFunction(() => document.querySelector('#lookup .note'), { timeout: 20_000 });
  report.explorer.unknown = await page.$eval('#lookup .note', (e) => e.textContent);
  await enter('#nullifier', nullifier);
  await visible('#claim');
  report.explorer.claim = await page.$eval('#claim', (e) => ({
    height: Number(e.dataset.height),
    insurer: Number(e.dataset.insurer),
    amount: Number(e.dataset.amount),
  }));
  // Its block link shows that block in the list, by keyboard.
  await page.focus('[data-block-link]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (h) => document.activeElement && document.activeElement.id === `block-${h}`,
    { timeout: 20_000 },
    report.explorer.claim.height,
  );
  report.explorer.block_link_focused = true;
  if (screenshots) {
    await page.goto(`${base}/explorer/`);
    await visible('#blocks tr[data-height]');
    await visible('#audit-result');
    await enter('#nullifier', nullifier);
    await visible('#claim');
    await page.$eval('#blocks details', (d) => (d.open = true));
    await blur();
    await page.screenshot({ path: join(screenshots, 'explorer.png'), fullPage: true });
  }
} catch (e) {
  report.problems.push(`driver: ${e.stack || e}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
