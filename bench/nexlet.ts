/**
 * The functions nexlet on the local node's 0.4.1 mode (issue 20), on a private nats-server the bench
 * starts and stops, next to the 0.2.7 local node in the same run:
 * - trigger round trip through the nexlet for a warm JS echo, next to a raw NATS request/reply echo
 *   on the same server, and the ratio round trip / (raw echo + the warm run through the worker
 *   boundary) (target ≤ 1.5x);
 * - replies per second from 50 requesters to one function with one and with two instances in the
 *   workload's queue group (target: two give ≥ 1.6x the replies of one, none lost);
 * - a deploy through AUCTION and ADEPLOY next to a 0.2.7 deploy (DEPLOY) of the same function.
 * Numbers are reported next to their targets; nothing here asserts on time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { utf8 } from '../src/core/bytes';
import { loadValidFunction } from '../src/core/manifest';
import { deployFunction } from '../src/deploy/deployFunction';
import { writeNexfile } from '../src/deploy/nexfile';
import { LocalNodeHost } from '../src/devnode/localNodeHost';
import { readServiceReply } from '../src/nex04/serviceErrors';
import { control04 } from '../src/nex04/subjects';
import type { AuctionResponse, StartWorkloadRequest } from '../src/nex04/types';
import { tempDir } from '../test/support/wasmFixtures';
import { ms, msRow, type Percentiles, row, stats, timeAsync, us } from './measure';

const ROUND_TRIPS = Number(process.env.BENCH_NODE_N ?? 500);
const WARMUP = 100;
const REQUESTS = 10000;
const REQUESTERS = 50;
const DEPLOYS = 10;
const TIMEOUT_MS = 10000;

/** A JS echo function folder named `name`, triggered by `<name>.>`. */
function echoFunction(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'echo.js'), '(subject, payload) => payload;\n');
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: 'echo.js', triggers: [`${name}.>`] }));
  return dir;
}

/** Requests from `requesters` concurrent requesters until `total` went out; replies per second and what was lost. */
async function throughput(c: NatsConnection, subject: string, total: number, requesters: number): Promise<{ perSecond: number; lost: number; latency: Percentiles }> {
  const latencies: number[] = [];
  let lost = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: requesters }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        try {
          await c.request(subject, utf8(`request ${i}`), { timeout: TIMEOUT_MS });
          latencies.push(performance.now() - t0);
        } catch {
          lost++;
        }
      }
    }),
  );
  return { perSecond: (latencies.length / (performance.now() - started)) * 1000, lost, latency: stats(latencies) };
}

export async function benchNexlet(baselines: { jsWarmRun?: Percentiles } = {}): Promise<() => void> {
  const work = tempDir('nex-bench-nexlet-');
  let host04: LocalNodeHost | undefined;
  let host02: LocalNodeHost | undefined;
  let c: NatsConnection | undefined;
  let c02: NatsConnection | undefined;
  try {
    host04 = await LocalNodeHost.start({ stateDir: path.join(work, 'node04'), nats: { start: {} }, config: { emulate: '0.4.1', nodeName: 'bench-04' } });
    host02 = await LocalNodeHost.start({ stateDir: path.join(work, 'node02'), nats: { start: {} }, config: { emulate: '0.2.7', nodeName: 'bench-02' } });
    const client = await connect({ servers: host04.natsUrl, name: 'bench-client' });
    c = client;
    const client02 = await connect({ servers: host02.natsUrl, name: 'bench-client-02' });
    c02 = client02;

    /** Upload (the Nexfile), AUCTION, then ADEPLOY: the time of all three, as a 0.2.7 deploy's includes its upload. */
    const deploy04 = async (dir: string): Promise<number> => {
      const t0 = performance.now();
      const nexfile = await writeNexfile(client, loadValidFunction(dir));
      const request: StartWorkloadRequest = { description: '', name: nexfile.name, namespace: 'default', run_request: JSON.stringify(nexfile.start_request), tags: {}, workload_lifecycle: 'function', workload_type: 'v8' };
      const bid = readServiceReply<AuctionResponse>(await client.request(control04.auction('default'), JSON.stringify({ agent_type: 'v8', auction_id: `${nexfile.name}-${t0}`, tags: {} }), { timeout: 3000 }));
      readServiceReply(await client.request(control04.deploy('default', bid.bidder_id), JSON.stringify(request), { timeout: 30000 }));
      return performance.now() - t0;
    };

    // 1. Trigger round trip, next to a raw NATS echo on the same server.
    await deploy04(echoFunction(work, 'echo1'));
    host04.nc.subscribe('bench.raw', { callback: (_e, m) => void m.respond(m.data) });
    await host04.nc.flush();
    const payload = utf8('hello, nex');
    const raw = stats(await timeAsync(ROUND_TRIPS, () => client.request('bench.raw', payload, { timeout: TIMEOUT_MS }), WARMUP));
    const through = stats(await timeAsync(ROUND_TRIPS, () => client.request('echo1.x', payload, { timeout: TIMEOUT_MS }), WARMUP));
    let warm = baselines.jsWarmRun;
    if (!warm) {
      const { WorkerExecutor } = await import('../src/executor/workerExecutor');
      const { DEFAULT_LIMITS } = await import('../src/executor/types');
      const runner = new WorkerExecutor();
      warm = stats(await timeAsync(ROUND_TRIPS, () => runner.run({ subject: 'bench.echo', payload, limits: DEFAULT_LIMITS, workload: 'bench', source: '(s, p) => p;', fileName: 'echo.js' })));
      runner.dispose();
    }

    // 2. One instance, then two in the workload's queue group.
    const one = await throughput(client, 'echo1.load', REQUESTS, REQUESTERS);
    await deploy04(echoFunction(work, 'echo1'));
    const two = await throughput(client, 'echo1.load', REQUESTS, REQUESTERS);
    const instances = host04.nexlet!.workloads.filter((w) => w.name === 'echo1').map((w) => w.counts.triggers);

    // 3. Deploys: 0.4.1 AUCTION + ADEPLOY against 0.2.7 DEPLOY of the same function (distinct names).
    const deploys04: number[] = [];
    const deploys02: number[] = [];
    for (let i = 0; i < DEPLOYS; i++) {
      deploys04.push(await deploy04(echoFunction(work, `dep04x${i}`)));
      const fn = loadValidFunction(echoFunction(work, `dep02x${i}`));
      const t0 = performance.now();
      await deployFunction(client02, fn, { keysDir: path.join(work, 'keys') });
      deploys02.push(performance.now() - t0);
    }

    return () => {
      console.log('functions nexlet on the local node in 0.4.1 mode (a private nats-server, one client connection):');
      console.log(`trigger round trip, ${ROUND_TRIPS} requests after ${WARMUP} warm-up requests:`);
      row('baseline: raw NATS request/reply echo', raw);
      row('JS echo through the nexlet (QuickJS)', through, raw);
      console.log(`  round trip / (raw NATS echo + warm run through the worker boundary, p50 ${us(warm!.p50)}): ${(through.p50 / (raw.p50 + warm!.p50)).toFixed(2)}x   (target ≤ 1.5x)`);
      console.log(`${REQUESTS} requests from ${REQUESTERS} concurrent requesters to one function:`);
      console.log(`  one instance:  ${one.perSecond.toFixed(0)} replies/s, latency p50 ${ms(one.latency.p50)} p95 ${ms(one.latency.p95)}, lost ${one.lost}`);
      console.log(`  two instances: ${two.perSecond.toFixed(0)} replies/s, latency p50 ${ms(two.latency.p50)} p95 ${ms(two.latency.p95)}, lost ${two.lost} (triggers per instance: ${instances.join(' + ')})`);
      console.log(`  two / one: ${(two.perSecond / one.perSecond).toFixed(2)}x   (target ≥ 1.6x, none lost)`);
      console.log(`deploy, ${DEPLOYS} each (artifact upload included in both):`);
      msRow('baseline: 0.2.7 local node: deployFunction (auction, upload, INFO, DEPLOY)', stats(deploys02));
      msRow('0.4.1 local node + nexlet: upload, AUCTION, ADEPLOY', stats(deploys04), stats(deploys02));
    };
  } finally {
    await c?.close().catch(() => undefined);
    await c02?.close().catch(() => undefined);
    await host04?.stop().catch((e: Error) => console.error(`stopping the 0.4.1 node: ${e.message}`));
    await host02?.stop().catch((e: Error) => console.error(`stopping the 0.2.7 node: ${e.message}`));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** `node out/bench/nexlet.js`: this part alone. */
if (require.main === module) {
  benchNexlet()
    .then((report) => report())
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
}
