// @zkclaim/sdk: zkclaim for JavaScript, in browsers and on Node.js. The patient's keys,
// hashes, Merkle path and proof on the device (WebAssembly), and a client of a node's API.
// Members' signed actions (hospitals, insurers) are in '@zkclaim/sdk/member' (Node.js).

export { Client, Refused } from './client.js';
export {
  claimantTag,
  explain,
  invoiceCommitment,
  invoicePath,
  load,
  loadProver,
  newKey,
  parameterFiles,
  policyHash,
  preview,
  Prover,
  publicKey,
  sha256Hex,
  Tree,
  Unclaimable,
  verify,
} from './wallet.js';
