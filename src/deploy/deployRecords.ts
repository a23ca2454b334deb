/**
 * What a workload was deployed with, where every client on the NATS account can read it. A
 * 0.2.7/0.3 node does not report a workload's trigger subjects (INFO lists its name, type and hash
 * only), its events do not carry them, and the signed workload JWT stays on the node. So each
 * deploy writes a record beside the artifact's object store: a JetStream KV bucket keyed by the
 * node-local workload id, written once the node has answered the DEPLOY with that id.
 *
 * Why a record per workload id: a workload id names one deploy on one node, so a record is exact
 * and never goes stale for the workload it names (a redeploy gets a new id and a new record), two
 * namespaces or nodes running the same name do not share one, and any editor or `nexfn` on the
 * account reads it, also after a restart. A workload deployed by another tool (the `nex` CLI) has
 * no record: its triggers are shown as unknown rather than guessed from a manifest.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/nats-core';

/** The KV bucket of deploy records (created by the first deploy, as NEXCLIFILES is). */
export const DEPLOY_RECORDS_BUCKET = 'NEXFN_DEPLOYS';
const BUCKET_DESCRIPTION = 'What nexfn and the Nex Functions extension deployed: the trigger subjects of each workload, by workload id';

/** One deploy, as its client wrote it down. */
export interface DeployRecord {
  /** The record's format. */
  v: 1;
  /** The node-local workload id the node answered the DEPLOY with. */
  workloadId: string;
  name: string;
  namespace: string;
  nodeId: string;
  /** `v8` or `wasm`. */
  type: string;
  /** The trigger subjects sent in the DEPLOY (wildcards as written). */
  triggers: string[];
  /** Hex SHA-256 of the artifact deployed. */
  hash: string;
  /** The issuer (A…) that signed the deploy. */
  issuer: string;
  /** ISO 8601. */
  deployedAt: string;
}

/** A workload id is one KV key token (rs/xid, or the local node's ids). */
const isRecordKey = (id: string): boolean => /^[-_=A-Za-z0-9]+$/.test(id);

/** A record read back, or undefined when the value is not one (written by something else). */
export function parseDeployRecord(data: Uint8Array): DeployRecord | undefined {
  try {
    const r = JSON.parse(new TextDecoder().decode(data)) as Partial<DeployRecord>;
    const strings = [r.workloadId, r.name, r.namespace, r.nodeId, r.type, r.hash, r.issuer, r.deployedAt];
    if (r.v !== 1 || strings.some((s) => typeof s !== 'string') || !Array.isArray(r.triggers) || !r.triggers.every((t) => typeof t === 'string')) {
      return undefined;
    }
    return r as DeployRecord;
  } catch {
    return undefined;
  }
}

function jsOptions(jsDomain: string | undefined): { domain?: string } {
  return jsDomain ? { domain: jsDomain } : {};
}

/** Writes the record of a deploy (creating the bucket when missing). */
export async function writeDeployRecord(nc: NatsConnection, record: DeployRecord, options: { jsDomain?: string } = {}): Promise<void> {
  if (!isRecordKey(record.workloadId)) {
    throw new Error(`the workload id "${record.workloadId}" cannot be a key of ${DEPLOY_RECORDS_BUCKET}`);
  }
  const kvm = new Kvm(jetstream(nc, jsOptions(options.jsDomain)));
  // Made when missing; a bucket made with other settings (by hand, or by an older version) is used as it is.
  const kv = await kvm.create(DEPLOY_RECORDS_BUCKET, { history: 1, description: BUCKET_DESCRIPTION }).catch(() => kvm.open(DEPLOY_RECORDS_BUCKET));
  await kv.put(record.workloadId, JSON.stringify(record));
}

/** Removes the record of a stopped workload; a missing bucket or record is not an error. */
export async function deleteDeployRecord(nc: NatsConnection, workloadId: string, options: { jsDomain?: string } = {}): Promise<void> {
  if (!isRecordKey(workloadId)) {
    return;
  }
  try {
    const kv = await new Kvm(jetstream(nc, jsOptions(options.jsDomain))).open(DEPLOY_RECORDS_BUCKET);
    await kv.delete(workloadId);
  } catch {
    // No bucket (nothing was ever recorded) or no JetStream: nothing to remove.
  }
}

/**
 * Reads deploy records for a reader that asks again and again (the deployed model): the bucket is
 * opened once it exists, a record once read is kept (a workload id's record never changes), and
 * `watch` reports records written from now on, so a workload seen before its record was written
 * gets its triggers as soon as the record arrives.
 */
export class DeployRecordReader {
  private kv?: KV;
  private readonly known = new Map<string, DeployRecord>();
  private watcher?: QueuedIterator<KvWatchEntry>;
  private watching = false;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { jsDomain?: string; onRecord?: (record: DeployRecord) => void } = {},
  ) {}

  /** The record of a workload when one was read; no I/O. */
  get(workloadId: string): DeployRecord | undefined {
    return this.known.get(workloadId);
  }

  /** Reads the records of the ids not read yet. A missing bucket, record or JetStream leaves them unknown. */
  async load(workloadIds: readonly string[]): Promise<void> {
    const missing = [...new Set(workloadIds)].filter((id) => !this.known.has(id) && isRecordKey(id));
    if (missing.length === 0 || this.closed) {
      return;
    }
    const kv = await this.open();
    if (!kv) {
      return;
    }
    await Promise.all(
      missing.map(async (id) => {
        try {
          const entry = await kv.get(id);
          const record = entry && entry.operation === 'PUT' ? parseDeployRecord(entry.value) : undefined;
          if (record && record.workloadId === id) {
            this.known.set(id, record);
            // Told as a watched record is: the first deploy's record can come before the watch (which starts once the bucket exists).
            this.options.onRecord?.(record);
          }
        } catch {
          // Unreadable now: asked again on the next load.
        }
      }),
    );
  }

  /** Stops the watch. */
  close(): void {
    this.closed = true;
    this.watcher?.stop();
  }

  /** The bucket, once it exists (opening binds without asking the server, so its status is asked for). */
  private async open(): Promise<KV | undefined> {
    if (!this.kv) {
      try {
        const kv = await new Kvm(jetstream(this.nc, jsOptions(this.options.jsDomain))).open(DEPLOY_RECORDS_BUCKET);
        await kv.status();
        this.kv = kv;
      } catch {
        // No bucket yet (nothing was deployed with a record) or no JetStream: asked again on the next load.
        return undefined;
      }
    }
    if (!this.watching && this.options.onRecord && !this.closed) {
      this.watching = true;
      void this.watch(this.kv);
    }
    return this.kv;
  }

  private async watch(kv: KV): Promise<void> {
    try {
      const watcher = await kv.watch({ include: 'updates' });
      if (this.closed) {
        watcher.stop();
        return;
      }
      this.watcher = watcher;
      for await (const entry of watcher) {
        const record = entry.operation === 'PUT' ? parseDeployRecord(entry.value) : undefined;
        if (record && record.workloadId === entry.key) {
          this.known.set(record.workloadId, record);
          this.options.onRecord?.(record);
        }
      }
    } catch {
      // The watch ended (connection closed); records are still read on each load.
    } finally {
      this.watching = false;
    }
  }
}
