/**
 * Stopping deployed functions on Nex 0.2/0.3 nodes: finding a function's workloads by name or id
 * (PING and INFO), and STOP, signed by the deploy's issuer, retried once when it shares the deploy's
 * second; a stop deletes the workload's deploy record.
 */
import * as path from 'path';
import { DEFAULT_NAMESPACE } from '../core/subject';
import { controlSubjects, NodeError } from '../nex/controlApi';
import { NexControlClient } from '../nex/controlClient';
import type { NexProtocolVersion, StopRequest, StopResponse } from '../nex/controlTypes';
import { encodeWorkloadJwt } from '../nex/workloadJwt';
import { deleteDeployRecord } from './deployRecords';
import { nodeProtocol, withHint } from './nodeReplies';
import { ISSUER_KEY_FILE, type PublisherKeys } from './publisherKeys';
import type { RunningWorkload } from './runningWorkload';

/** A node refuses a stop whose JWT shares the deploy's `iat` second; the retry waits this long. */
const SAME_SECOND_RETRY_MS = 1000;

/** Waits `ms`, or rejects with the signal's reason when it is aborted first. */
function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The workloads named `nameOrId` (case-insensitively, as nodes match names) or with that workload
 * id, in the namespace, from every node that answers WPING within the window (only `nodeId`'s when
 * given).
 */
export async function findWorkloads(client: NexControlClient, namespace: string, nameOrId: string, options: { nodeId?: string; windowMs?: number } = {}): Promise<RunningWorkload[]> {
  const answers = await client.workloadPing(namespace, nameOrId, options.windowMs);
  return answers.flatMap((answer) =>
    answer.ok && (!options.nodeId || answer.value.node_id === options.nodeId)
      ? answer.value.running_machines.map((m) => ({ nodeId: answer.value.node_id, nodeVersion: answer.value.version, namespace: m.namespace, workloadId: m.id, name: m.name }))
      : [],
  );
}

/** The stop body of the node's format, with a fresh JWT (0.2: `sub` = name; 0.3: `sub` = workload id). */
function stopRequest(workload: RunningWorkload, keys: PublisherKeys, protocol: NexProtocolVersion): StopRequest {
  const jwt = encodeWorkloadJwt(keys.issuer, { name: workload.name, hash: '', requestId: workload.workloadId }, protocol);
  return protocol === '0.2'
    ? { workload_id: workload.workloadId, workload_jwt: jwt, target_node: workload.nodeId }
    : { node_id: workload.nodeId, workload_id: workload.workloadId, workload_jwt: jwt };
}

export interface StopOptions {
  keys: PublisherKeys;
  /** Which format the node takes, when its version does not tell (a source build). */
  nexVersion?: NexProtocolVersion;
  /** The JetStream domain of the deploy records (deployRecords.ts), when not the account's default. */
  jsDomain?: string;
  signal?: AbortSignal;
}

/** Sends a stop; when the node says its claims share the deploy's second, sends a fresh one a second later. */
async function sendStop(send: () => Promise<StopResponse>, signal?: AbortSignal): Promise<StopResponse> {
  try {
    return await send();
  } catch (e) {
    if (!(e instanceof NodeError && /cloned or captured/.test(e.nodeMessage))) {
      throw e;
    }
    await abortableDelay(SAME_SECOND_RETRY_MS, signal);
    return send();
  }
}

/**
 * Stops one workload, signed with the issuer key (a second after its deploy when it must be, see
 * sendStop). A refusal comes back as NodeRefusal with the node's text, plus a hint when only the
 * deploy's issuer may stop it.
 */
export async function stopWorkload(client: NexControlClient, workload: RunningWorkload, options: StopOptions): Promise<StopResponse> {
  const protocol = nodeProtocol(workload.nodeVersion, workload.nodeId, options.nexVersion);
  let response: StopResponse;
  try {
    response = await sendStop(() => client.stop(workload.namespace, workload.nodeId, stopRequest(workload, options.keys, protocol)), options.signal);
  } catch (e) {
    throw withHint(e, { nodeId: workload.nodeId, issuer: options.keys.issuerPublicKey, issuerFile: path.join(options.keys.dir, ISSUER_KEY_FILE) });
  }
  await deleteDeployRecord(client.nc, workload.workloadId, { jsDomain: options.jsDomain });
  return response;
}

/**
 * Stops every workload named `nameOrId` or with that id in the namespace (on `nodeId` only, when
 * given). Throws when none runs, naming what was looked for and where.
 */
export async function stopWorkloads(client: NexControlClient, nameOrId: string, options: StopOptions & { namespace?: string; nodeId?: string; windowMs?: number }): Promise<RunningWorkload[]> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const found = await findWorkloads(client, namespace, nameOrId, options);
  if (found.length === 0) {
    throw new Error(`no workload named "${nameOrId}" or with that id runs in the namespace "${namespace}"${options.nodeId ? ` on node ${options.nodeId}` : ''}: no node answered ${controlSubjects.workloadPing(namespace, nameOrId)}`);
  }
  for (const workload of found) {
    options.signal?.throwIfAborted();
    await stopWorkload(client, workload, options);
  }
  return found;
}
