// Types of @zkclaim/sdk. Field elements are "0x" + 64 hex digits; files are their JSON text
// (a key file, an invoice, a policy, a Merkle path, a claim package), as the CLI writes them.

export type Field = string;

export interface PublicInputs {
  invoice_root: Field;
  nullifier: Field;
  claimant_tag: Field;
  policy_hash: Field;
  claim_amount: number;
  insurer_id: number;
}

export interface ClaimPackage {
  public_inputs: PublicInputs;
  /** 0x + 256 hex digits: arkworks' compressed Groth16 proof. */
  proof: string;
}

export interface Receipt {
  height: number;
  block_hash: string;
  tx_index: number;
  tx_id: string;
  nullifier: Field;
  claim_amount: number;
}

export interface Genesis {
  chain_id: string;
  members: { id: number; name: string; role: 'hospital' | 'insurer' | 'regulator'; public_key: string }[];
  verifying_key_digest: string;
  proving_key_digest?: string;
  shape: Shape;
  root_window: number;
  root_max_age_ms: number;
  [more: string]: unknown;
}

export interface Shape {
  items: number;
  depth: number;
}

export interface LeavesPage {
  height: number;
  count: number;
  root: Field;
  from: number;
  leaves: { leaf: Field; voided?: Field; hospital: number; height: number }[];
}

/** A refusal from the node: its HTTP status and the service's error code. */
export class Refused extends Error {
  status: number;
  code: string;
  reason: string;
  detail: Record<string, unknown>;
}

/** A client of a zkclaim node. */
export class Client {
  constructor(url: string, options?: { fetch?: typeof fetch });
  readonly url: string;
  readonly fetch: typeof fetch;
  request(method: string, path: string, options?: { body?: string; headers?: Record<string, string> }): Promise<any>;
  get(path: string): Promise<any>;
  genesis(): Promise<{ genesis: Genesis; digest: string }>;
  roots(): Promise<{ height: number; root: Field; roots: Field[]; root_max_age_ms: number }>;
  leaves(from?: number): Promise<LeavesPage>;
  verifyingKey(): Promise<{ key: string; digest: string; shape: Shape }>;
  parameterFile(name: 'shape.json' | 'claim.pk' | 'claim.prover', circuit?: 'primary' | 'continuation'): Promise<Uint8Array>;
  prove(request: { invoice: unknown; key: unknown; policy: unknown; claim_now?: boolean }): Promise<ClaimPackage>;
  intake(claim: ClaimPackage): Promise<Receipt>;
  intakeStatus(nullifier: Field): Promise<any>;
  claim(nullifier: Field): Promise<{ height: number; tx_index: number; insurer: number; claim: ClaimPackage }>;
}

/** Loads the WebAssembly module: in a browser from beside the SDK, on Node.js from its bytes. */
export function load(module?: BufferSource | WebAssembly.Module): Promise<unknown>;

/** A new key file's JSON, `{"sk", "pk"}`. */
export function newKey(): string;
export function publicKey(key: string): Field;
export function claimantTag(key: string, insurerId: number): Field;
export function invoiceCommitment(invoice: string, items: number): Field;
export function policyHash(policy: string): Field;

export interface Preview {
  commitment: Field;
  nullifier: Field;
  claimant_tag: Field;
  policy_hash: Field;
  insurer_id: number;
  claim_amount: number;
  eligible: number;
}
/** The claim's public inputs but the root, as JSON of `Preview`; throws a rule's refusal. */
export function preview(key: string, invoice: string, policy: string, shape: string): string;
/** Verifies a claim package's JSON under a primary verifying key (hex); throws if it does not verify. */
export function verify(verifyingKey: string, claimPackage: string): void;

/** The invoice tree, rebuilt on the device. */
export class Tree {
  constructor(depth: number);
  extend(leaves: Field[]): void;
  root(): Field;
  readonly length: number;
  position(leaf: Field): number | undefined;
  /** The Merkle path's JSON. */
  path(index: number): string;
  free(): void;
}

/** The primary circuit's prover, from its parameter files' bytes and the pinned key digest. */
export class Prover {
  constructor(shape: Uint8Array, key: Uint8Array, prover: Uint8Array, pin: string);
  readonly shape: string;
  /** A claim package's JSON. */
  prove(key: string, invoice: string, policy: string, path: string): string;
  free(): void;
}

/** Why a claim cannot be made, found on the device. */
export class Unclaimable extends Error {
  code: string;
}

export function sha256Hex(bytes: BufferSource): Promise<string>;
export function parameterFiles(
  client: Client,
  genesis: Genesis,
  options?: { cache?: CacheStorage; onProgress?: (p: { file: string; loaded: number; total?: number }) => void },
): Promise<{ shape: Uint8Array; key: Uint8Array; prover: Uint8Array; pin: string }>;
export function loadProver(
  client: Client,
  genesis: Genesis,
  options?: { cache?: CacheStorage; onProgress?: (p: { file: string; loaded: number; total?: number }) => void },
): Promise<Prover>;
export function invoicePath(
  client: Client,
  commitment: Field,
  depth: number,
): Promise<{ path: string; root: Field; height: number; laterByOthers: number }>;
export function explain(error: unknown): string;
