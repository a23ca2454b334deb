/**
 * Fault 5, limits: a trigger payload at and over the server's max_payload (and a reply over it), a
 * JavaScript source of 12,288 and 12,289 bytes, and a 50 MiB wasm module (on a node without size
 * limits, and on one with node_limits.max_workload_bytes of 16 MiB). Each must end in a reply or a
 * clear error, never a hang, and a refused deploy must leave nothing half-deployed: no workload, no
 * deploy record, no artifact left in the object store.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import { CLI_BUCKET } from '../../src/deploy/artifactStore';
import { triggerFunction } from '../../src/deploy/triggerFunction';
import { DEPLOY_RECORDS_BUCKET } from '../../src/deploy/deployRecords';
import type { LocalNexNode } from '../../src/devnode/localNode';
import { deploy, FaultResult, jsFunction, Scope, wasmFunction, within } from './support';
import { EMPTY_WASM_MODULE, padWasm } from '../support/wasmFixtures';

const MiB = 1024 * 1024;

/** A valid wasm module of `size` bytes: the header and one custom section holding the rest. */
export function bigWasm(size: number): Uint8Array {
  return padWasm(EMPTY_WASM_MODULE, size);
}

/** A JavaScript source of exactly `size` bytes that replies "ok". */
function sourceOf(size: number): string {
  const code = '(subject, payload) => "ok";\n';
  return code + '/' + '/'.repeat(size - code.length - 1);
}

/** What a refused deploy left behind: workloads of the name, its artifact object, deploy records. */
async function leftovers(nc: NatsConnection, node: LocalNexNode, name: string, key: string): Promise<string[]> {
  const found: string[] = [];
  if (node.workloads.some((w) => w.name === name)) found.push('a workload');
  try {
    const store = await new Objm(jetstream(nc)).open(CLI_BUCKET);
    const info = await store.info(key);
    if (info && !info.deleted) found.push(`the object ${CLI_BUCKET}/${key} (${info.size} bytes)`);
  } catch {
    // no bucket: nothing left there
  }
  try {
    const kv = await new Kvm(nc).open(DEPLOY_RECORDS_BUCKET);
    for await (const k of await kv.keys()) {
      const entry = await kv.get(k);
      if (entry && entry.operation === 'PUT' && entry.string().includes(`"name":"${name}"`)) found.push(`a deploy record (${k})`);
    }
  } catch {
    // no bucket: no record
  }
  return found;
}

const describe = (o: Awaited<ReturnType<typeof within>>): string => (o === 'hung' ? 'HUNG' : 'error' in o ? `error "${o.error.message.split('\n')[0].slice(0, 140)}"` : 'ok');

export async function limits(scope: Scope): Promise<FaultResult> {
  const problems: string[] = [];
  const figures: string[] = [];
  const server = await scope.server();
  const { node } = await scope.node(server.url);
  const nc = await scope.connect(server.url, 'faults-limits');
  const root = scope.tempDir('fns');
  const keysDir = scope.keysDir;
  const maxPayload = nc.info!.max_payload;

  // Payloads at and over max_payload, and a reply over it.
  await deploy(nc, jsFunction(root, 'size', '(subject, payload) => "len:" + payload.length;'), keysDir, { nodeId: node.nodeId });
  await deploy(nc, jsFunction(root, 'bigreply', `(subject, payload) => "x".repeat(${maxPayload + 10});`), keysDir, { nodeId: node.nodeId });
  let t = Date.now();
  const at = await within(triggerFunction(nc, 'size.at', new Uint8Array(maxPayload), { timeoutMs: 10000 }), 15000);
  const atMs = Date.now() - t;
  const atOk = at !== 'hung' && 'value' in at && new TextDecoder().decode(at.value.reply) === JSON.stringify(`len:${maxPayload}`);
  t = Date.now();
  const over = await within(triggerFunction(nc, 'size.over', new Uint8Array(maxPayload + 1), { timeoutMs: 10000 }), 15000);
  const overMs = Date.now() - t;
  t = Date.now();
  const bigReply = await within(triggerFunction(nc, 'bigreply.x', new Uint8Array(), { timeoutMs: 10000 }), 15000);
  const bigReplyMs = Date.now() - t;
  figures.push(`max_payload ${maxPayload}: at → ${atOk ? 'reply' : describe(at)} (${atMs} ms); over → ${describe(over)} (${overMs} ms); reply over → ${describe(bigReply)} (${bigReplyMs} ms)`);
  if (!atOk) problems.push(`a payload of max_payload bytes: ${describe(at)}`);
  if (over === 'hung' || !('error' in over) || !/payload/i.test(over.error.message)) problems.push(`a payload over max_payload: ${describe(over)} (expected an error naming the payload)`);
  if (bigReply === 'hung' || !('error' in bigReply) || !/payload/i.test(bigReply.error.message)) problems.push(`a reply over max_payload: ${describe(bigReply)} (expected the node's error naming the payload)`);

  // JavaScript sources of 12,288 and 12,289 bytes.
  const fits = await within(deploy(nc, jsFunction(root, 'js12288', sourceOf(12288)), keysDir, { nodeId: node.nodeId }), 20000);
  const fitsRuns = fits !== 'hung' && 'value' in fits ? await within(triggerFunction(nc, 'js12288.x', new Uint8Array(), { timeoutMs: 5000 }), 8000) : fits;
  const fitsOk = fitsRuns !== 'hung' && 'value' in fitsRuns;
  const tooBig = await within(deploy(nc, jsFunction(root, 'js12289', sourceOf(12289)), keysDir, { nodeId: node.nodeId }), 20000);
  const tooBigLeft = await leftovers(nc, node, 'js12289', 'js12289js');
  figures.push(`JS 12,288 bytes → ${fitsOk ? 'deployed and answers' : describe(fitsRuns)}; 12,289 bytes → ${describe(tooBig)}, left behind: ${tooBigLeft.join(', ') || 'nothing'}`);
  if (!fitsOk) problems.push(`a 12,288-byte source: ${describe(fitsRuns)}`);
  if (tooBig === 'hung' || !('error' in tooBig) || !tooBig.error.message.includes('exceeds maximum of 12288 bytes')) problems.push(`a 12,289-byte source: ${describe(tooBig)} (expected the node's "exceeds maximum of 12288 bytes")`);
  if (tooBigLeft.length > 0) problems.push(`a refused 12,289-byte source left ${tooBigLeft.join(', ')}`);

  // A 50 MiB wasm module: on a node with node_limits.max_workload_bytes 16 MiB, then on one without limits.
  const big = bigWasm(50 * MiB);
  const limited = await scope.node(server.url, { nodeName: 'limited', maxWorkloadBytes: 16 * MiB });
  t = Date.now();
  const refused = await within(deploy(nc, wasmFunction(root, 'big50', big), keysDir, { nodeId: limited.node.nodeId }), 120000);
  const refusedMs = Date.now() - t;
  const refusedLeft = await leftovers(nc, limited.node, 'big50', 'big50wasm');
  figures.push(`50 MiB wasm on a node limited to 16 MiB → ${describe(refused)} (${refusedMs} ms), left behind: ${refusedLeft.join(', ') || 'nothing'}`);
  if (refused === 'hung' || !('error' in refused) || !refused.error.message.includes('Workload file size would exceed node limitations')) problems.push(`50 MiB wasm on a limited node: ${describe(refused)}`);
  if (refusedLeft.length > 0) problems.push(`a refused 50 MiB deploy left ${refusedLeft.join(', ')}`);
  t = Date.now();
  const unlimited = await within(deploy(nc, wasmFunction(root, 'big50u', big), keysDir, { nodeId: node.nodeId }), 120000);
  const unlimitedMs = Date.now() - t;
  const unlimitedLanded = node.workloads.filter((w) => w.name === 'big50u').length;
  figures.push(`on a node without limits → ${describe(unlimited)} (${unlimitedMs} ms, ${unlimitedLanded} workload)`);
  if (unlimited === 'hung') problems.push('50 MiB wasm on a node without limits hung');
  else if ('value' in unlimited ? unlimitedLanded !== 1 : unlimitedLanded !== 0) problems.push(`50 MiB wasm on a node without limits: ${describe(unlimited)} but ${unlimitedLanded} workloads of it`);
  return { ok: problems.length === 0, figures: figures.join('; '), problems };
}
