/**
 * The two keys a deploy is made with, kept where the `nex` CLI keeps them (reference §1.10, `nex
 * devrun`): `~/.nex/issuer.nk`, the account nkey seed (SA…) that signs workload JWTs, and
 * `~/.nex/publisher.xk`, the curve seed (SX…) the environment is sealed with. Sharing the files with
 * the `nex` CLI means a workload deployed by one can be stopped by the other (a stop must be signed
 * by the deploy's issuer), and a node's `valid_issuers` needs one public key for both.
 *
 * Missing keys are created (file 0600, folder 0700) and announced in one line; existing files are
 * never overwritten. No seed ever reaches a message: errors name the file and the key kind only.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createAccount, createCurve, fromCurveSeed, fromSeed, type KeyPair } from '@nats-io/nkeys';

/** The account seed that signs workload JWTs (`nex` CLI: `--issuer`, default ~/.nex/issuer.nk). */
export const ISSUER_KEY_FILE = 'issuer.nk';
/** The curve seed that seals deploy environments (`nex` CLI: `--xkey`, default ~/.nex/publisher.xk). */
export const PUBLISHER_XKEY_FILE = 'publisher.xk';

/** The folder of the keys: $NEX_KEYS_DIR when set (tests, CI), else ~/.nex as the `nex` CLI uses. */
export function defaultKeysDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NEX_KEYS_DIR || path.join(os.homedir(), '.nex');
}

export interface PublisherKeys {
  /** The folder the keys are in (or would be created in). */
  dir: string;
  /** Signs workload JWTs: the deploy's and the stop's must be the same key. */
  issuer: KeyPair;
  /** The issuer's public key (A…): what a node's `valid_issuers` lists. */
  issuerPublicKey: string;
  /** Seals the deploy environment; its public key goes in `sender_public_key`. */
  xkey: KeyPair;
  /** The curve public key (X…). */
  xkeyPublicKey: string;
  /** The files created by this call; with `persist: false`, the ones that would have been. */
  created: string[];
}

export interface PublisherKeyOptions {
  /** The folder of the keys; default defaultKeysDir(). */
  dir?: string;
  /** Write missing keys to the folder (default true). False: make them in memory only, e.g. for a dry run. */
  persist?: boolean;
  /** Told one line for each key made (never the seed). */
  onCreated?: (line: string) => void;
}

/** One of the two key files: its name, the seed prefix it must hold, and how to make and read one. */
interface KeyKind {
  file: string;
  what: string;
  prefix: 'SA' | 'SX';
  create: () => KeyPair;
  fromSeed: (seed: Uint8Array) => KeyPair;
}

const ISSUER_KIND: KeyKind = { file: ISSUER_KEY_FILE, what: 'issuer account key', prefix: 'SA', create: createAccount, fromSeed };
const XKEY_KIND: KeyKind = { file: PUBLISHER_XKEY_FILE, what: 'publisher curve key', prefix: 'SX', create: createCurve, fromSeed: fromCurveSeed };

/** Names the kind of seed a file holds from its first two characters (not secret), for the error. */
function seedKind(text: string): string {
  const kinds: Record<string, string> = { SA: 'an account seed', SU: 'a user seed', SO: 'an operator seed', SN: 'a server seed', SC: 'a cluster seed', SX: 'a curve seed' };
  return kinds[text.slice(0, 2)] ?? 'no nkey seed';
}

/** Reads a key file; the error names the file and what it should hold, never its content. */
function readKey(file: string, kind: KeyKind): KeyPair {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read the ${kind.what} ${file}: ${(e as Error).message}`);
  }
  const wrongKind = () =>
    new Error(`${file} holds ${seedKind(text)}, not the ${kind.what} (a seed starting "${kind.prefix}"): fix or move the file away, and a new key is made on the next deploy`);
  if (!text.startsWith(kind.prefix)) {
    throw wrongKind();
  }
  try {
    return kind.fromSeed(new TextEncoder().encode(text));
  } catch {
    throw wrongKind();
  }
}

/** Writes a new key without ever replacing a file; when another process wrote one first, that one wins. */
function createKey(file: string, kind: KeyKind): KeyPair | undefined {
  const key = kind.create();
  try {
    fs.writeFileSync(file, key.getSeed(), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      return undefined;
    }
    throw new Error(`cannot create the ${kind.what} ${file}: ${(e as Error).message}`);
  }
  return key;
}

/** Loads one key, or makes it (written when `persist`), telling `onCreated`. */
function loadOrCreate(dir: string, kind: KeyKind, options: PublisherKeyOptions, created: string[]): KeyPair {
  const file = path.join(dir, kind.file);
  if (fs.existsSync(file)) {
    return readKey(file, kind);
  }
  if (options.persist === false) {
    const key = kind.create();
    created.push(file);
    options.onCreated?.(`no ${kind.what} in ${file}: a deploy would create one (${key.getPublicKey()})`);
    return key;
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = createKey(file, kind);
  if (!key) {
    return readKey(file, kind);
  }
  created.push(file);
  options.onCreated?.(`created the ${kind.what} ${file} (public key ${key.getPublicKey()})${kind === ISSUER_KIND ? ": a node's valid_issuers must list it" : ''}`);
  return key;
}

/**
 * The issuer and publisher keys from the folder (default ~/.nex, or $NEX_KEYS_DIR), each made when
 * missing. Throws an error naming the file when a file holds something else than its seed kind.
 */
export function loadPublisherKeys(options: PublisherKeyOptions = {}): PublisherKeys {
  const dir = path.resolve(options.dir ?? defaultKeysDir());
  const created: string[] = [];
  const issuer = loadOrCreate(dir, ISSUER_KIND, options, created);
  const xkey = loadOrCreate(dir, XKEY_KIND, options, created);
  return { dir, issuer, issuerPublicKey: issuer.getPublicKey(), xkey, xkeyPublicKey: xkey.getPublicKey(), created };
}
