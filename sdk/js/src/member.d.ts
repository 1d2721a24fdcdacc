// Types of @zkclaim/sdk/member (Node.js): members' transaction and request signing.
import { Client, ClaimPackage } from './index.js';
export { Client, Refused } from './index.js';

export const R: bigint;
export const PROOF_SIZE: number;
export interface MemberKey {
  memberId: number;
  privateKey: unknown;
  publicKey: string;
}
export type Transaction =
  | { register_invoice: { commitment: string } }
  | { void_invoice: { commitment: string } }
  | { settle_claim: { claim: ClaimPackage } }
  | { settle_continuation: { claim: unknown } };
export interface SignedTransaction {
  tx: Transaction;
  signer: number;
  signature: string;
}
export function fieldBytes(text: string, what?: string): Uint8Array;
export function transactionSigningBytes(tx: Transaction, chainId: string, signer: number): Uint8Array;
export function memberKey(file: { member_id: number; secret_key: string }): MemberKey;
export function signTransaction(tx: Transaction, chainId: string, key: MemberKey): SignedTransaction;
export function transactionId(signed: SignedTransaction, chainId: string): string;
export function requestMessage(r: { method: string; path: string; body: string; member: number; timestamp: number; nonce: string }): Uint8Array;
export function signRequest(
  key: MemberKey,
  method: string,
  path: string,
  body: string,
  options?: { timestamp?: number; nonce?: string },
): Record<string, string>;
export class MemberClient extends Client {
  postSigned(path: string, body: string, key: MemberKey): Promise<any>;
  getSigned(path: string, key: MemberKey): Promise<any>;
  registerInvoice(chainId: string, hospital: MemberKey, commitment: string): Promise<any>;
  voidInvoice(chainId: string, hospital: MemberKey, commitment: string): Promise<any>;
  settleClaim(chainId: string, insurer: MemberKey, claim: unknown): Promise<any>;
  enroll(insurer: MemberKey, application: unknown): Promise<any>;
  enrolments(insurer: MemberKey): Promise<any>;
}
