/**
 * The deploy request's `environment`: a JSON map[string]string sealed with the sender's curve key
 * (xkey) to the node's public xkey, then base64 (std, padded) — `EncryptRequestEnvironment` /
 * `DecryptRequestEnvironment` in control-api/run.go. The sealed bytes are nkeys' xkv1 format:
 * "xkv1" ‖ 24-byte nonce ‖ NaCl box (X25519, XSalsa20-Poly1305). The crypto is @nats-io/nkeys'.
 */
import { NKeysError, NKeysErrorCode, type KeyPair } from '@nats-io/nkeys';
import { decodeGoBase64, goJson } from './controlApi';

/** The header of every sealed xkey message (nkeys `XKeyVersionV1`). */
export const XKV1_HEADER = 'xkv1';

/** The nonce that follows the header (nkeys `curveNonceLen`). */
export const XKV1_NONCE_LENGTH = 24;

/** A deploy environment: variable name → value. */
export type WorkloadEnvironment = Record<string, string>;

/**
 * An environment that cannot be opened. `message` explains it to a user; `nodeText` is what a Go
 * node says in its place (after "Failed to decrypt environment for deploy request: ").
 */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
  constructor(
    message: string,
    readonly nodeText: string,
  ) {
    super(message);
  }
}

/** Byte-wise (UTF-8) order, the order Go sorts map keys in. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The environment as Go's json.Marshal writes a map[string]string: keys sorted, HTML characters escaped. */
function environmentJson(env: WorkloadEnvironment): string {
  const entries = Object.keys(env)
    .sort(compareUtf8)
    .map((name) => `${goJson(name)}:${goJson(env[name])}`);
  return `{${entries.join(',')}}`;
}

/**
 * Seals `env` ({} too: a node needs the field) with the sender's curve key pair to the node's public
 * xkey (`target_xkey` of PING/AUCTION, `public_xkey` of INFO) and returns it as the deploy body's
 * `environment`. The sender's public key goes into `sender_public_key`.
 */
export function sealEnvironment(env: WorkloadEnvironment, senderXKey: KeyPair, nodePublicXKey: string): string {
  if (!senderXKey.getPublicKey().startsWith('X')) {
    throw new Error('the environment must be sealed with a curve key pair (xkey, seed "SX…"), not a signing nkey');
  }
  let sealed: Uint8Array;
  try {
    sealed = senderXKey.seal(new TextEncoder().encode(environmentJson(env)), nodePublicXKey);
  } catch (e) {
    if (e instanceof NKeysError && e.code === NKeysErrorCode.InvalidRecipient) {
      throw new Error(`the node's xkey "${nodePublicXKey}" is not a public curve key (X…): take it from the node's ping (target_xkey) or info (public_xkey)`);
    }
    throw e;
  }
  return Buffer.from(sealed).toString('base64');
}

/** The sealed bytes of `environment`, checked as nkeys' Open checks them before decrypting. */
function sealedBytes(environment: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = decodeGoBase64(environment, 'std');
  } catch (e) {
    throw new EnvironmentError(`the environment is not base64 (standard alphabet, padded): ${(e as Error).message}`, (e as Error).message);
  }
  if (bytes.length <= XKV1_HEADER.length + XKV1_NONCE_LENGTH) {
    throw new EnvironmentError(`the environment is too short (${bytes.length} bytes) to be a sealed xkv1 message (nkeys: encrypted input is not valid)`, 'nkeys: encrypted input is not valid');
  }
  if (Buffer.from(bytes.subarray(0, XKV1_HEADER.length)).toString('latin1') !== XKV1_HEADER) {
    throw new EnvironmentError(`the environment is not an xkv1 envelope: it does not start with "${XKV1_HEADER}" (nkeys: encrypted input wrong version)`, 'nkeys: encrypted input wrong version');
  }
  return bytes;
}

/** Decrypts the sealed bytes, naming which key is wrong when it cannot. */
function openSealed(bytes: Uint8Array, nodeXKey: KeyPair, senderPublicXKey: string): Uint8Array {
  let opened: Uint8Array | null;
  try {
    opened = nodeXKey.open(bytes, senderPublicXKey);
  } catch (e) {
    // nkeys.js checks the sender key with its recipient-key decoder, hence the code.
    if (e instanceof NKeysError && e.code === NKeysErrorCode.InvalidRecipient) {
      throw new EnvironmentError(`sender_public_key "${senderPublicXKey}" is not a public curve key (X…) (nkeys: not a valid sender public curve key)`, 'nkeys: not a valid sender public curve key');
    }
    throw e;
  }
  if (!opened) {
    throw new EnvironmentError(
      "the environment cannot be opened with this node's xkey: it was sealed to another node's xkey (xkeys change on every node restart), " +
        'by another key than sender_public_key, or altered on the way (nkeys: could not decrypt input)',
      'nkeys: could not decrypt input',
    );
  }
  return opened;
}

/** The opened environment as a map of strings; JSON `null` is an empty map, as for Go's json.Unmarshal. */
function parseEnvironment(json: Uint8Array): WorkloadEnvironment {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw new EnvironmentError(`the opened environment is not JSON: ${(e as Error).message}`, `json: ${(e as Error).message}`);
  }
  if (parsed === null) {
    return {};
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EnvironmentError(
      `the opened environment is not a JSON object of strings but ${Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}`,
      `json: cannot unmarshal ${Array.isArray(parsed) ? 'array' : typeof parsed === 'boolean' ? 'bool' : typeof parsed} into Go value of type map[string]string`,
    );
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      throw new EnvironmentError(
        `the opened environment is not a JSON object of strings: "${name}" is ${value === null ? 'null' : `a ${typeof value}`}`,
        `json: cannot unmarshal ${typeof value === 'boolean' ? 'bool' : typeof value} into Go value of type string`,
      );
    }
  }
  return parsed as WorkloadEnvironment;
}

/**
 * Opens a deploy body's `environment` with the node's curve key pair and the body's
 * `sender_public_key`, checking in the order a node does: base64, length, xkv1 header, sender key,
 * decryption, JSON map of strings. Each error says which of these failed (with the node's nkeys text
 * where it has one); a node reports it as "Failed to decrypt environment for deploy request: <error>".
 */
export function openEnvironment(environment: string, nodeXKey: KeyPair, senderPublicXKey: string): WorkloadEnvironment {
  return parseEnvironment(openSealed(sealedBytes(environment), nodeXKey, senderPublicXKey));
}
