// Compiles the verifier contract with solc, deploys it in an in-process EVM
// (@ethereumjs/evm) and calls verifyProof with a claim's calldata, then with the same
// calldata tampered in two ways: the claim amount plus one, and the nullifier plus r (the
// same value modulo r, a non-canonical encoding). Prints one JSON object for
// service/tests/evm.rs to check.
//
// node verify.mjs NPM_PREFIX CONTRACT.sol CALLDATA_HEX

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [prefix, source, calldata] = process.argv.slice(2);
const require = createRequire(join(prefix, 'node_modules', 'package.json'));
const solc = require('solc');
const { createEVM } = require('@ethereumjs/evm');
const { Account, createAddressFromString, hexToBytes, bytesToHex } = require('@ethereumjs/util');

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const compiled = JSON.parse(
  solc.compile(
    JSON.stringify({
      language: 'Solidity',
      sources: { 'ClaimVerifier.sol': { content: readFileSync(source, 'utf8') } },
      settings: {
        optimizer: { enabled: true, runs: 200 },
        outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.methodIdentifiers'] } },
      },
    }),
  ),
);
const errors = (compiled.errors || []).filter((e) => e.severity === 'error');
if (errors.length > 0) {
  console.log(JSON.stringify({ compile_errors: errors.map((e) => e.formattedMessage) }));
  process.exit(1);
}
const contract = compiled.contracts['ClaimVerifier.sol'].ClaimVerifier;

const evm = await createEVM();
const caller = createAddressFromString('0x00000000000000000000000000000000000000ee');
await evm.stateManager.putAccount(caller, new Account(0n, 10n ** 18n));
const deployed = await evm.runCall({
  caller,
  data: hexToBytes('0x' + contract.evm.bytecode.object),
  gasLimit: 10_000_000n,
});
if (deployed.execResult.exceptionError) {
  console.log(JSON.stringify({ deploy_error: String(deployed.execResult.exceptionError.error) }));
  process.exit(1);
}

// The 32-byte word `index` of the arguments (after the 4-byte selector), changed by `f`.
const changed = (hex, index, f) => {
  const at = 2 + 8 + 64 * index;
  const word = BigInt('0x' + hex.slice(at, at + 64));
  return hex.slice(0, at) + f(word).toString(16).padStart(64, '0') + hex.slice(at + 64);
};

// Calldata bytes cost 16 gas (4 when zero) besides the 21000 of any transaction.
const intrinsic = (hex) => {
  let gas = 21000n;
  for (let i = 2; i < hex.length; i += 2) gas += hex.slice(i, i + 2) === '00' ? 4n : 16n;
  return gas;
};

const call = async (hex) => {
  const result = await evm.runCall({
    caller,
    to: deployed.createdAddress,
    data: hexToBytes(hex),
    gasLimit: 1_000_000n,
  });
  const out = result.execResult;
  return {
    reverted: out.exceptionError !== undefined,
    returned: bytesToHex(out.returnValue),
    gas: Number(out.executionGasUsed),
    transaction_gas: Number(out.executionGasUsed + intrinsic(hex)),
  };
};

// Words 0..7 are the proof; 8.. the public inputs: nullifier is input 1, the amount input 4.
console.log(
  JSON.stringify({
    selector: contract.evm.methodIdentifiers['verifyProof(uint256[8],uint256[6])'],
    deploy_gas: Number(deployed.execResult.executionGasUsed),
    valid: await call(calldata),
    tampered_amount: await call(changed(calldata, 12, (w) => w + 1n)),
    nullifier_plus_r: await call(changed(calldata, 9, (w) => w + R)),
  }),
);
