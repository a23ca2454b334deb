/**
 * Puts a function's artifact where a node fetches it from: the JetStream object store the `nex` CLI
 * uploads to (reference §1.10, `nex devrun`): bucket NEXCLIFILES, created when missing with the
 * CLI's settings, the key being the file's base name with every "." removed. A node reads the
 * object at deploy time (`location` = nats://NEXCLIFILES/<key>), so the same key may be reused.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import type { ValidFunction } from '../core/manifest';
import * as path from 'path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';

/** The bucket the `nex` CLI uploads to. */
export const CLI_BUCKET = 'NEXCLIFILES';
/** The CLI's MaxBytes for the bucket when it creates it (`--bucketmaxbytes`, default 100 MiB). */
export const CLI_BUCKET_MAX_BYTES = 100 * 1024 * 1024;
/** The CLI's description of the bucket. */
export const CLI_BUCKET_DESCRIPTION = 'Ad hoc object storage for NEX CLI developer mode uploads';

/** An artifact in the object store, as a deploy names it. */
export interface StoredArtifact {
  bucket: string;
  key: string;
  /** Bytes. */
  size: number;
  /** Hex SHA-256 of the bytes (a 0.3 node checks it against the JWT's `nats.hash`). */
  sha256: string;
}

/** The `nex` CLI's key for a file: its base name with every "." removed (`echofunction.js` → `echofunctionjs`). */
export function artifactKey(file: string): string {
  const key = path.basename(file).split('.').join('');
  if (key === '') {
    throw new Error(`${file}: the file name leaves no object key once its dots are removed`);
  }
  return key;
}

/** What a deploy of `bytes` from `file` names, without uploading anything (a dry run shows this). */
export function describeArtifact(file: string, bytes: Uint8Array): StoredArtifact {
  return { bucket: CLI_BUCKET, key: artifactKey(file), size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Whether an error says that no JetStream answers (none on the server, or none in that domain). */
function isJetStreamMissing(e: unknown): boolean {
  const error = e as Error & { cause?: Error };
  return /jetstream is not enabled|JetStreamNotEnabled|no responders/i.test(`${error.name} ${error.message} ${error.cause?.message ?? ''}`);
}

/** The upload error, saying what to do when it is the usual one: a server without JetStream. */
function uploadError(e: unknown, file: string, nc: NatsConnection, jsDomain: string | undefined): Error {
  const where = `the object store ${CLI_BUCKET} on ${nc.getServer()}`;
  if (isJetStreamMissing(e)) {
    const domain = jsDomain ? `no JetStream answers in the domain "${jsDomain}" (check --jsdomain)` : 'JetStream is not enabled on this server: start nats-server with -js';
    return new Error(`cannot upload ${file} to ${where}: ${domain}; a node fetches the artifact from there`);
  }
  return new Error(`cannot upload ${file} to ${where}: ${(e as Error).message}`);
}

/**
 * Uploads the file to NEXCLIFILES (made when missing: MaxBytes 100 MiB and the CLI's description)
 * under the CLI's key, in the JetStream domain `jsDomain` when given. Returns where it is, its size
 * and its hex SHA-256. Throws an error naming the file and the server, with a hint for a server
 * without JetStream.
 */
export async function uploadArtifact(nc: NatsConnection, file: string, options: { jsDomain?: string; bytes?: Uint8Array } = {}): Promise<StoredArtifact> {
  const bytes = options.bytes ?? new Uint8Array(fs.readFileSync(file));
  const artifact = describeArtifact(file, bytes);
  try {
    const objm = new Objm(jetstream(nc, options.jsDomain ? { domain: options.jsDomain } : {}));
    const store = await objm.create(CLI_BUCKET, { max_bytes: CLI_BUCKET_MAX_BYTES, description: CLI_BUCKET_DESCRIPTION });
    await store.putBlob({ name: artifact.key }, bytes);
  } catch (e) {
    throw uploadError(e, file, nc, options.jsDomain);
  }
  return artifact;
}

/**
 * Removes an uploaded artifact again (a deploy the node refused): a node reads it only at deploy
 * time, and a stray object of a refused deploy would count against the bucket's MaxBytes.
 */
export async function deleteArtifact(nc: NatsConnection, artifact: StoredArtifact, options: { jsDomain?: string } = {}): Promise<void> {
  const store = await new Objm(jetstream(nc, options.jsDomain ? { domain: options.jsDomain } : {})).open(artifact.bucket);
  await store.delete(artifact.key);
}

/** Hashes by path, kept while the file's size and mtime stay the same. */
const hashes = new Map<string, { size: number; mtimeMs: number; hash: string }>();

/**
 * The hex SHA-256 of a function's local artifact (its source or wasm file), as a node hashes it;
 * undefined when unreadable. Both views ask on every change of the deployed nodes (heartbeats
 * included): an unchanged file is not read again.
 */
export function localArtifactHash(fn: ValidFunction): string | undefined {
  const file = (fn.sourcePath ?? fn.artifactPath)!;
  try {
    const stat = fs.statSync(file);
    const known = hashes.get(file);
    if (known && known.size === stat.size && known.mtimeMs === stat.mtimeMs) {
      return known.hash;
    }
    const hash = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    hashes.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, hash });
    return hash;
  } catch {
    return undefined;
  }
}
