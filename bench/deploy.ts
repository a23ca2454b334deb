/**
 * Deploying and triggering through this project's own client (src/deploy), end to end against the
 * local node on a private nats-server: a 1 KiB JavaScript function and a 100 KiB wasm module
 * (upload, sign, seal, DEPLOY, reply), next to the bare object-store put plus one request/reply in
 * the same run; and a trigger round trip through triggerFunction next to a raw NATS request.
 */
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import { utf8 } from '../src/core/bytes';
import { loadValidFunction } from '../src/core/manifest';
import { deployFunction } from '../src/deploy/deployFunction';
import { triggerFunction } from '../src/deploy/triggerFunction';
import { loadPublisherKeys } from '../src/deploy/publisherKeys';
import { LocalNodeHost } from '../src/devnode/localNodeHost';
import { NatsServerHandle, startNatsServer } from '../src/nats/natsServerProcess';
import { buildWat, tempDir } from '../test/support/wasmFixtures';
import { padWasm } from '../test/support/wasmFixtures';
import { msRow, row, stats, timeAsync } from './measure';

const DEPLOYS = 10;
const TRIGGERS = 300;

/** A function folder with a JS source of exactly `size` bytes, or a wasm module padded to `size` bytes. */
function functionFolder(root: string, name: string, type: 'v8' | 'wasm', artifact: Uint8Array): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = type === 'v8' ? 'fn.js' : 'fn.wasm';
  fs.writeFileSync(path.join(dir, file), artifact);
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type, [type === 'v8' ? 'source' : 'artifact']: file, triggers: [`${name}.>`] }));
  return dir;
}

function paddedJs(size: number): Uint8Array {
  const head = '(s, p) => p; // ';
  return utf8(head + 'x'.repeat(size - head.length));
}

export async function benchDeploy(): Promise<() => void> {
  const root = tempDir('nex-bench-deploy-');
  let server: NatsServerHandle | undefined;
  let host: LocalNodeHost | undefined;
  let nc: NatsConnection | undefined;
  try {
    server = await startNatsServer();
    // Attached to a server it did not start, the node takes deploys from the issuer in its keys folder only: the bench's.
    host = await LocalNodeHost.start({ stateDir: path.join(root, 'node'), nats: { attach: { servers: [server.url] } }, config: { heartbeatMs: 60000 }, issuers: { keysDir: path.join(root, 'keys') } });
    const conn: NatsConnection = await connect({ servers: server.url });
    nc = conn;
    const keys = loadPublisherKeys({ dir: path.join(root, 'keys') });
    const wasmEcho = new Uint8Array(fs.readFileSync(await buildWat('echo', root)));
    const wasm100k = padWasm(wasmEcho, 102400);
    const store = await new Objm(conn).create('NEXCLIFILES');
    const echoSub = conn.subscribe('bench.raw.echo', { callback: (_e, m) => void m.respond(m.data) });
    await conn.flush();
    const results: Array<[string, ReturnType<typeof stats>, ReturnType<typeof stats>]> = [];
    for (const [label, type, bytes] of [
      ['1 KiB JS function', 'v8', paddedJs(1024)],
      ['100 KiB wasm module', 'wasm', wasm100k],
    ] as const) {
      const bare = stats(
        await timeAsync(
          DEPLOYS,
          async (i) => {
            await store.putBlob({ name: `bare-${type}-${i}` }, bytes);
            await conn.request('bench.raw.echo', 'x', { timeout: 5000 });
          },
          2,
        ),
      );
      const full = stats(
        await timeAsync(
          DEPLOYS,
          async (i) => {
            const fn = loadValidFunction(functionFolder(root, `bench-${type}-${i}`, type, bytes));
            await deployFunction(conn, fn, { keys, nodeId: host!.node.nodeId, discoveryWindowMs: 50 });
          },
          2,
        ),
      );
      results.push([label, bare, full]);
    }
    const echoFn = loadValidFunction(functionFolder(root, 'benchtrigger', 'v8', utf8('(s, p) => "ok";')));
    await deployFunction(conn, echoFn, { keys, nodeId: host.node.nodeId, discoveryWindowMs: 50 });
    const raw = stats(await timeAsync(TRIGGERS, () => conn.request('bench.raw.echo', 'x', { timeout: 5000 }), 50));
    const through = stats(await timeAsync(TRIGGERS, () => triggerFunction(conn, 'benchtrigger.go', utf8('x')), 50));
    echoSub.unsubscribe();
    return () => {
      console.log('deploy end to end through the extension\'s client (upload, sign, seal, DEPLOY → run_response), to the local node:');
      for (const [label, bare, full] of results) {
        msRow(`baseline: object-store put + one request, ${label}`, bare);
        msRow(`deployFunction, ${label}`, full, bare);
      }
      console.log(`remote trigger round trip, ${TRIGGERS} requests after 50 warm-up:`);
      row('baseline: raw NATS request/reply echo', raw);
      row('triggerFunction → a deployed JS function', through, raw);
    };
  } finally {
    await nc?.close().catch(() => undefined);
    await host?.stop();
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
