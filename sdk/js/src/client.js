// A client of a zkclaim node for patients' apps and anyone reading the ledger: in browsers
// and on Node.js 18 or later (the global fetch; no dependencies). Members' signed actions
// are in ./member.js (Node.js).

/** A refusal from the node: its HTTP status and the service's error code. */
export class Refused extends Error {
  constructor(status, code, message, detail = {}) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    /** The refusal's own message, for people (it never echoes a value sent). */
    this.reason = message;
    /** Extra fields of some refusals: `height` of the block that settled a duplicate. */
    this.detail = detail;
  }
}

/** A client of a zkclaim node, `new Client("https://node.example:8080")`. */
export class Client {
  /** `options.fetch`: another fetch (a test's recorder, a proxy's). */
  constructor(url, options = {}) {
    this.url = url.replace(/\/+$/, '');
    this.fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  /**
   * Sends a request; the JSON answer, or throws `Refused`: the node's refusal, code
   * `network` (status 0) when the node cannot be reached, `http_STATUS` when it answered
   * something other than JSON.
   */
  async request(method, path, { body, headers = {} } = {}) {
    let response;
    try {
      response = await this.fetch(this.url + path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body,
      });
    } catch {
      throw new Refused(0, 'network', 'the node cannot be reached: check the connection and retry');
    }
    const answer = await response.json().catch(() => undefined);
    if (!response.ok || answer === undefined) {
      const { code, message, ...detail } = answer?.error ?? {};
      throw new Refused(
        response.status,
        code ?? `http_${response.status}`,
        message ?? `the node answered ${response.status}`,
        detail,
      );
    }
    return answer;
  }

  get(path) {
    return this.request('GET', path);
  }

  /** The consortium's genesis: members, shape, pinned key digests, root rules. */
  genesis() {
    return this.get('/v1/genesis');
  }

  /** The roots a claim may prove against now. */
  roots() {
    return this.get('/v1/roots');
  }

  /** A page of the invoice tree's leaves from index `from`. */
  leaves(from = 0) {
    return this.get(`/v1/leaves?from=${from}`);
  }

  /** The primary circuit's verifying key, `{key, digest, shape}` (hex). */
  verifyingKey() {
    return this.get('/v1/verifying-key');
  }

  /** The bytes of one of a circuit's public parameter files (`claim.pk`, `claim.prover`, `shape.json`). */
  async parameterFile(name, circuit = 'primary') {
    const response = await this.fetch(`${this.url}/params/${circuit}/${name}`);
    if (!response.ok) {
      throw new Refused(response.status, 'not_found', `the node serves no ${circuit} ${name}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * Patient: asks the node to prove a claim, `{invoice, key: {sk}, policy}` (the node sees
   * the secret key: use it over HTTPS, or prove on the device with `Wallet`). The claim package.
   */
  prove(request) {
    return this.request('POST', '/v1/proofs', { body: JSON.stringify(request) });
  }

  /**
   * Patient: hands a claim package in to the insurer the node serves (not signed). The
   * receipt; the same package again gets the same one.
   */
  intake(claim) {
    return this.request('POST', '/v1/intake', { body: JSON.stringify(claim) });
  }

  /** Patient: what the node's insurer did with the claim of this nullifier. */
  intakeStatus(nullifier) {
    return this.get(`/v1/intake/${nullifier}`);
  }

  /** The settled claim with this nullifier. */
  claim(nullifier) {
    return this.get(`/v1/claims/${nullifier}`);
  }
}
