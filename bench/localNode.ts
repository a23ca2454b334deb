/**
 * The local Nex node under load (issue 10), on a private nats-server the bench starts and stops:
 * - trigger round trip (request on the trigger subject → reply) for a warm JS echo and a WASI echo,
 *   next to a raw NATS request/reply echo on the node's own connection, and the ratio
 *   round trip / (raw NATS echo + the executor's warm run through the worker boundary);
 * - sustained throughput: many requests from concurrent requesters to one JS echo;
 * - deploy time (DEPLOY request → run_response) for a 1 KiB JS function and a 100 KiB wasm module.
 * Numbers are reported next to their targets; nothing here asserts on time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import type { ObjectStore } from '@nats-io/obj';
import { createAccount, createCurve } from '@nats-io/nkeys';
import { utf8 } from '../src/core/bytes';
import { LocalNodeHost } from '../src/devnode/localNodeHost';
import { NatsServerHandle, startNatsServer } from '../src/nats/natsServerProcess';
import { buildDeployRequest, deployRequestJson } from '../src/nex/deployRequest';
import type { FunctionType } from '../src/nex/controlTypes';
import { buildWat, padWasm, tempDir } from '../test/support/wasmFixtures';
import { ms, msRow, Percentiles, row, stats, timeAsync, us } from './measure';

const ROUND_TRIPS = Number(process.env.BENCH_NODE_N ?? 500);
const ROUND_TRIP_WARMUP = 100;
const THROUGHPUT_REQUESTS = 10000;
const THROUGHPUT_REQUESTERS = 50;
const DEPLOYS = 10;
const REQUEST_TIMEOUT_MS = 10000;

/** What the rest of the bench measured in the same run, to compare against. */
export interface NodeBaselines {
  /** Warm JS echo through the worker boundary (WorkerExecutor), as the node runs each trigger. */
  jsWarmRun?: Percentiles;
  /** Warm WASI echo through the worker boundary. */
  wasmWarmRun?: Percentiles;
}

/** A 0.2.7 node replies to a JS function returning a Uint8Array with the JSON of its indices ({"0":104,…}); a WASI echo with the bytes. */
function echoes(reply: Uint8Array, payload: Uint8Array): boolean {
  let bytes: number[];
  if (reply.length === payload.length && reply.every((b, i) => b === payload[i])) {
    return true;
  }
  try {
    const parsed = JSON.parse(new TextDecoder().decode(reply)) as unknown;
    bytes = Array.isArray(parsed) ? parsed : Object.values(parsed as Record<string, number>);
  } catch {
    return false;
  }
  return bytes.length === payload.length && bytes.every((b, i) => b === payload[i]);
}

export async function benchLocalNode(baselines: NodeBaselines = {}): Promise<() => void> {
  const stateDir = tempDir('nex-bench-node-');
  const wasmDir = tempDir('nex-bench-node-wasm-');
  let server: NatsServerHandle | undefined;
  let host: LocalNodeHost | undefined;
  let client: NatsConnection | undefined;
  const nodeLog: string[] = [];
  try {
    server = await startNatsServer();
    const issuer = createAccount();
    // Attached to a server it did not start, the node takes deploys from its own issuer (kept in the bench's folder) and the listed ones.
    host = await LocalNodeHost.start({
      stateDir,
      nats: { attach: { servers: [server.url] } },
      config: { nodeName: 'bench-node' },
      issuers: { keysDir: path.join(stateDir, 'keys'), validIssuers: [issuer.getPublicKey()] },
      log: (level, text) => level !== 'info' && level !== 'debug' && nodeLog.push(`${level}: ${text}`),
    });
    const nc = host.nc;
    const node = host.node;
    const c = await connect({ servers: server.url, name: 'bench-client' });
    client = c;
    const store: ObjectStore = await new Objm(c).create('NEXCLIFILES');
    const sender = createCurve();

    /** Uploads the artifact (untimed), then times DEPLOY → run_response. */
    const deploy = async (name: string, type: FunctionType, artifact: Uint8Array, trigger: string): Promise<number> => {
      await store.putBlob({ name }, artifact);
      const body = deployRequestJson(
        buildDeployRequest('0.2', {
          name,
          type,
          bucket: 'NEXCLIFILES',
          key: name,
          hash: createHash('sha256').update(artifact).digest('hex'),
          triggerSubjects: [trigger],
          description: `${name} from the bench`,
          issuer,
          senderXKey: sender,
          nodeId: node.nodeId,
          nodePublicXKey: node.identity.publicXKey,
        }),
      );
      const t0 = performance.now();
      const res = JSON.parse((await c.request(`$NEX.DEPLOY.default.${node.nodeId}`, body, { timeout: 15000 })).string()) as { error?: string; data?: { started?: boolean } };
      const elapsed = performance.now() - t0;
      if (res.error || !res.data?.started) {
        throw new Error(`deploy of ${name} refused: ${res.error ?? JSON.stringify(res)}`);
      }
      return elapsed;
    };
    const request = async (subject: string, payload: Uint8Array): Promise<void> => {
      const reply = await c.request(subject, payload, { timeout: REQUEST_TIMEOUT_MS });
      if (!echoes(reply.data, payload)) {
        throw new Error(`${subject}: the reply ${JSON.stringify(reply.string())} is not the payload`);
      }
    };

    // 1. Trigger round trip, next to a plain NATS echo on the node's own connection.
    const echoWasm = new Uint8Array(fs.readFileSync(await buildWat('echo', wasmDir)));
    await deploy('echojs', 'v8', utf8('(s, p) => p;\n'), 'bench.node.js');
    await deploy('echowasm', 'wasm', echoWasm, 'bench.node.wasm');
    nc.subscribe('bench.node.raw', { callback: (_e, m) => void m.respond(m.data) });
    await nc.flush();
    const payload = utf8('hello, nex');
    const raw = stats(await timeAsync(ROUND_TRIPS, () => request('bench.node.raw', payload), ROUND_TRIP_WARMUP));
    const js = stats(await timeAsync(ROUND_TRIPS, () => request('bench.node.js', payload), ROUND_TRIP_WARMUP));
    const wasi = stats(await timeAsync(ROUND_TRIPS, () => request('bench.node.wasm', payload), ROUND_TRIP_WARMUP));
    // The executor's own warm run, when the rest of the bench did not measure it.
    const measured = async (kind: 'js' | 'wasm'): Promise<Percentiles> => {
      const { WorkerExecutor } = await import('../src/executor/workerExecutor');
      const { DEFAULT_LIMITS } = await import('../src/executor/types');
      const runner = new WorkerExecutor();
      try {
        const base = { subject: 'bench.echo', payload, limits: DEFAULT_LIMITS, workload: 'bench' };
        const wasmPath = `${wasmDir}/echo.wasm`;
        return stats(await timeAsync(ROUND_TRIPS, () => runner.run(kind === 'js' ? { ...base, source: '(s, p) => p;', fileName: 'echo.js' } : { ...base, kind: 'wasm', artifactPath: wasmPath })));
      } finally {
        runner.dispose();
      }
    };
    const jsRun = baselines.jsWarmRun ?? (await measured('js'));
    const wasmRun = baselines.wasmWarmRun ?? (await measured('wasm'));

    // 2. Sustained throughput: concurrent requesters, each sending its next request when its reply came.
    const latencies: number[] = [];
    let lost = 0;
    let wrong = 0;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: THROUGHPUT_REQUESTERS }, async () => {
        for (let i = next++; i < THROUGHPUT_REQUESTS; i = next++) {
          const p = utf8(`request ${i}`);
          const t0 = performance.now();
          try {
            const reply = await c.request('bench.node.js', p, { timeout: REQUEST_TIMEOUT_MS });
            latencies.push(performance.now() - t0);
            if (!echoes(reply.data, p)) wrong++;
          } catch {
            lost++;
          }
        }
      }),
    );
    const throughputMs = performance.now() - started;
    const sustained = stats(latencies);

    // 3. Deploy time: distinct names, so no STOP (which needs claims a second newer) between them.
    const jsSource = (i: number) => {
      const head = `(subject, payload) => payload; // deploy ${i} `;
      return utf8(head.padEnd(1024, '-'));
    };
    const bigWasm = padWasm(echoWasm, 100 * 1024);
    if ((await WebAssembly.compile(bigWasm as Uint8Array<ArrayBuffer>)) === undefined) throw new Error('the padded module does not compile');
    const jsDeploys: number[] = [];
    const wasmDeploys: number[] = [];
    for (let i = 0; i < DEPLOYS; i++) {
      jsDeploys.push(await deploy(`deployjs${i}`, 'v8', jsSource(i), `bench.deploy.js.${i}`));
      wasmDeploys.push(await deploy(`deploywasm${i}`, 'wasm', bigWasm, `bench.deploy.wasm.${i}`));
    }
    // Deployed functions answer (untimed).
    await request(`bench.deploy.js.${DEPLOYS - 1}`, payload);
    await request(`bench.deploy.wasm.${DEPLOYS - 1}`, payload);

    return () => {
      console.log(`local Nex node (emulating ${node.version}) on a private nats-server, one client connection in this process`);
      console.log(`trigger round trip (request on the trigger subject → reply), ${ROUND_TRIPS} requests each after ${ROUND_TRIP_WARMUP} warm-up requests:`);
      row('baseline: raw NATS request/reply echo', raw);
      row('JS echo (s, p) => p through the node', js, raw);
      row('WASI echo through the node', wasi, raw);
      const ratio = (rt: Percentiles, run: Percentiles) => (rt.p50 / (raw.p50 + run.p50)).toFixed(2);
      console.log(`  round trip / (raw NATS echo + warm run through the worker boundary, p50 ${us(jsRun.p50)} JS, ${us(wasmRun.p50)} WASI):`);
      console.log(`    JS ${ratio(js, jsRun)}x, WASI ${ratio(wasi, wasmRun)}x   (target p50 ≤ 3x)`);
      console.log(`sustained throughput, ${THROUGHPUT_REQUESTS} requests from ${THROUGHPUT_REQUESTERS} concurrent requesters to one JS echo:`);
      console.log(`  ${((latencies.length / throughputMs) * 1000).toFixed(0)} replies/s in ${(throughputMs / 1000).toFixed(2)} s   (target ≥ 1000 replies/s)`);
      console.log(`  latency p50 ${ms(sustained.p50)}  p95 ${ms(sustained.p95)}  p99 ${ms(sustained.p99)}`);
      console.log(`  lost ${lost} (no reply within ${REQUEST_TIMEOUT_MS / 1000} s), wrong replies ${wrong}`);
      console.log(`deploy (DEPLOY request → run_response, artifact already in the object store), ${DEPLOYS} deploys each:`);
      msRow(`1 KiB JS function (${jsSource(0).length} bytes)`, stats(jsDeploys));
      msRow(`100 KiB wasm module (${bigWasm.length} bytes)`, stats(wasmDeploys));
      if (nodeLog.length > 0) {
        console.log(`node warnings and errors (${nodeLog.length}):`);
        for (const line of nodeLog.slice(0, 10)) console.log(`  ${line}`);
      }
    };
  } finally {
    await client?.close().catch(() => undefined);
    await host?.stop().catch((e: Error) => console.error(`stopping the local node: ${e.message}`));
    await server?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(wasmDir, { recursive: true, force: true });
  }
}
