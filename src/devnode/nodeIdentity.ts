/**
 * The local node's identity: a server nkey (its id, N…) and a curve xkey (X…, the recipient of
 * deploy environments). Kept in the node's state folder, so the id survives a restart of the
 * editor; real Nex nodes make new ones on every start.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createCurve, createServer, fromCurveSeed, fromSeed, KeyPair } from '@nats-io/nkeys';

export const IDENTITY_FILE = 'node-identity.json';

export interface NodeIdentity {
  /** The node id: the server key's public key (N…, 56 characters). */
  nodeId: string;
  serverKey: KeyPair;
  /** The curve key deploy environments are sealed to; its public key is the node's xkey (X…). */
  xkey: KeyPair;
  publicXKey: string;
}

interface StoredIdentity {
  server_seed: string;
  curve_seed: string;
}

/** Loads the identity from the state folder, or makes one and keeps it there (file mode 0600). */
export function loadOrCreateIdentity(stateDir: string): NodeIdentity {
  const file = path.join(stateDir, IDENTITY_FILE);
  if (fs.existsSync(file)) {
    let stored: StoredIdentity;
    try {
      stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredIdentity;
      const serverKey = fromSeed(new TextEncoder().encode(stored.server_seed));
      const xkey = fromCurveSeed(new TextEncoder().encode(stored.curve_seed));
      return identity(serverKey, xkey);
    } catch (e) {
      throw new Error(`${file} does not hold a node identity (${(e as Error).message}): delete it to make a new one`);
    }
  }
  const serverKey = createServer();
  const xkey = createCurve();
  fs.mkdirSync(stateDir, { recursive: true });
  const stored: StoredIdentity = { server_seed: new TextDecoder().decode(serverKey.getSeed()), curve_seed: new TextDecoder().decode(xkey.getSeed()) };
  fs.writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
  return identity(serverKey, xkey);
}

function identity(serverKey: KeyPair, xkey: KeyPair): NodeIdentity {
  return { nodeId: serverKey.getPublicKey(), serverKey, xkey, publicXKey: xkey.getPublicKey() };
}
