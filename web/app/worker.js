// The patient page's prover, off the page's thread: it gets the WebAssembly module and the
// checked parameter files from the page, and the claim's files; it makes no request itself.
// Messages out: {stage: 'loading' | 'proving'}, then {package, loadMs, proveMs} or {error, code}.

import { load, Prover } from '/sdk/src/wallet.js';

let prover;

self.onmessage = async ({ data }) => {
  try {
    await load(data.module);
    if (!prover) {
      self.postMessage({ stage: 'loading' });
      const start = performance.now();
      const { shape, key, prover: file, pin } = data.parameters;
      prover = new Prover(shape, key, file, pin);
      data.loadMs = performance.now() - start;
    }
    self.postMessage({ stage: 'proving' });
    const start = performance.now();
    const claim = prover.prove(data.key, data.invoice, data.policy, data.path);
    self.postMessage({ package: claim, loadMs: data.loadMs ?? 0, proveMs: performance.now() - start });
  } catch (e) {
    self.postMessage({ error: e.message, code: e.code });
  }
};
