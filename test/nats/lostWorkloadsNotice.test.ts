/**
 * The editor's notice when the local node stops (src/vscode/localNode/lostWorkloadsNotice.ts), with
 * the real LocalNodeController (its own private nats-server) and the `vscode` module stood in for:
 * two functions deployed, the node stopped, one message naming both with "Redeploy 2 functions",
 * and that button starting the node again and deploying both on it. Deploy Function itself is
 * replaced by the deploy core (src/deploy/deployFunction.ts) over the test's connection.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import Module = require('module');
import { loadValidFunction, ValidFunction } from '../../src/core/manifest';
import { deployFunction } from '../../src/deploy/deployFunction';
import { loadPublisherKeys } from '../../src/deploy/publisherKeys';
import type { DeployArgs } from '../../src/vscode/commands/deploy';
import type { UserInterface } from '../../src/vscode/ui';

/** Anything: callable, constructible, extendable, and every property is another one of these. */
function inert(): unknown {
  const target = function () {};
  return new Proxy(target, {
    get: (t, key) => (key === 'prototype' ? t.prototype : key === Symbol.toPrimitive ? () => '' : key === 'then' ? undefined : inert()),
    apply: () => inert(),
    construct: () => ({}),
  });
}

/** The little of `vscode` the controller and the notice use, the rest inert. */
class EventEmitter<T> {
  private listeners: Array<(e: T) => void> = [];
  readonly event = (listener: (e: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(e: T): void {
    this.listeners.forEach((l) => l(e));
  }
  dispose(): void {
    this.listeners = [];
  }
}
const nodeLog: string[] = [];
const fakeVscode: Record<string, unknown> = {
  EventEmitter,
  StatusBarAlignment: { Left: 1, Right: 2 },
  workspace: { isTrusted: true },
  commands: { executeCommand: async () => undefined },
  window: {
    createOutputChannel: () => {
      const write = (level: string) => (text: string) => nodeLog.push(`${level} ${text}`);
      return { trace: write('trace'), debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), show: () => undefined, dispose: () => undefined };
    },
    createStatusBarItem: () => ({ text: '', show: () => undefined, dispose: () => undefined }),
  },
};
const vscodeStub = new Proxy(fakeVscode, { get: (t, key) => (key in t ? t[key as string] : key === '__esModule' ? false : inert()) });
const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const originalLoad = loader._load;
loader._load = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? vscodeStub : originalLoad.call(this, request, ...rest);
};
// Editor modules another test may have loaded with another stand-in: load them again with this one.
for (const id of Object.keys(require.cache)) {
  if (id.includes(`${path.sep}src${path.sep}vscode${path.sep}`)) {
    delete require.cache[id];
  }
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LocalNodeController } = require('../../src/vscode/localNode/localNodeController') as typeof import('../../src/vscode/localNode/localNodeController');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LostWorkloadsNotice } = require('../../src/vscode/localNode/lostWorkloadsNotice') as typeof import('../../src/vscode/localNode/lostWorkloadsNotice');

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, shown: string[], ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}; shown: ${shown.join(' | ')}`);
    await delay(50);
  }
}

describe('the notice of what a stop of the local node lost (src/vscode/localNode/lostWorkloadsNotice)', function () {
  this.timeout(60000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-lost-'));
  const shown: string[] = [];
  let press: string | undefined;
  const ui: UserInterface = {
    pick: async () => undefined,
    input: async () => undefined,
    info: async (message, ...actions) => {
      shown.push(`info: ${message}${actions.length ? ` [${actions.join('|')}]` : ''}`);
      return actions.find((a) => a === press);
    },
    warn: async (message) => (shown.push(`warn: ${message}`), undefined),
    error: async (message) => (shown.push(`error: ${message}`), undefined),
  };
  const config = {
    localNode: { startWithWorkspace: false, emulate: '0.2.7', natsUrl: '', natsServerPath: '' },
    onDidChange: () => ({ dispose: () => undefined }),
    affectsLocalNodeRestart: () => false,
  };
  const controller = new LocalNodeController({ stateDir: path.join(work, 'node'), config: config as never, ui: () => ui });
  const keys = loadPublisherKeys({ dir: path.join(work, 'keys') });
  const functions: ValidFunction[] = [];
  const fnFolder = (name: string, manifest: Record<string, unknown>) => {
    const dir = path.join(work, 'ws', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'fn.js'), '(subject) => subject;\n');
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: 'fn.js', ...manifest }));
    functions.push(loadValidFunction(dir));
  };
  /** The editor's connection, as far as the notice sees it: up once connected to the running node. */
  const connections = {
    state: 'disconnected' as string,
    connection: undefined as { nc: NatsConnection } | undefined,
    async connect() {
      const nc = await connect({ servers: controller.host!.natsUrl, name: 'editor' });
      this.connection = { nc };
      this.state = 'connected';
      return this.connection;
    },
    async close() {
      await this.connection?.nc.close();
      this.connection = undefined;
      this.state = 'disconnected';
    },
  };
  const deployed: DeployArgs[] = [];
  const deploy = async (_ext: unknown, args?: unknown) => {
    const { function: dir, nodeId } = args as DeployArgs;
    deployed.push({ function: dir, nodeId });
    const fn = functions.find((f) => f.dir === dir)!;
    return deployFunction(connections.connection!.nc, fn, { keys, nodeId });
  };
  const ext = { localNode: controller, catalog: { functions }, connections, get ui() { return ui; } };
  const notice = new LostWorkloadsNotice(ext as never, deploy as never);

  after(async () => {
    notice.dispose();
    await connections.close();
    await controller.stop();
    controller.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('says what the stop lost, once, and "Redeploy 2 functions" starts the node and deploys both again', async () => {
    fnFolder('greet', { triggers: ['greet.>'] });
    fnFolder('echo', { triggers: ['echo.>'], deploy: { namespace: 'team-a' } });
    fnFolder('unrelated', {});
    const host = await controller.start();
    await connections.connect();
    const first: Array<Awaited<ReturnType<typeof deployFunction>>> = [];
    for (const fn of functions.slice(0, 2)) {
      first.push(await deployFunction(connections.connection!.nc, fn, { keys }));
    }
    assert.deepStrictEqual(host.node.workloads.map((w) => `${w.name}@${w.namespace}`), ['greet@default', 'echo@team-a']);

    press = 'Redeploy 2 functions';
    await connections.close(); // as Stop Local Node disconnects first
    await controller.stop();
    await waitFor('the redeploy', () => shown.some((s) => s.startsWith('info: Redeployed') || s.startsWith('warn:') || s.startsWith('error:')), shown);
    assert.deepStrictEqual(shown, [
      'info: The local node stopped: 2 deployed functions were lost (greet, echo in team-a). A Nex node does not keep workloads across restarts. [Redeploy 2 functions]',
      'info: Redeployed 2 functions (greet, echo) on the local node.',
    ]);
    assert.ok(
      nodeLog.some((l) => l === `warn stopped with 2 workloads, lost with the node: greet (${first[0].workloadId}) in default, echo (${first[1].workloadId}) in team-a`),
      nodeLog.join('\n'),
    );
    const again = controller.host;
    assert.ok(again && again !== host, 'the node was started again');
    assert.strictEqual(again.node.nodeId, host.node.nodeId, 'with the same id');
    assert.strictEqual(connections.state, 'connected', 'the notice connected before deploying');
    assert.deepStrictEqual(deployed.map((d) => [path.basename(d.function!), d.nodeId]), [
      ['greet', host.node.nodeId],
      ['echo', host.node.nodeId],
    ]);
    assert.deepStrictEqual(again.node.workloads.map((w) => `${w.name}@${w.namespace}`), ['greet@default', 'echo@team-a']);
    assert.ok(!again.node.workloads.some((w) => first.some((f) => f.workloadId === w.id)), 'new workloads');
  });

  it('a stop that loses a function of no workspace offers no button, and a stop of an empty node says nothing', async () => {
    shown.length = 0;
    press = undefined;
    functions.length = 0;
    await connections.close();
    await controller.stop();
    await waitFor('the message', () => shown.length > 0, shown);
    assert.deepStrictEqual(shown, ['info: The local node stopped: 2 deployed functions were lost (greet, echo in team-a). A Nex node does not keep workloads across restarts.']);
    shown.length = 0;
    await controller.start();
    await controller.stop();
    await delay(300);
    assert.deepStrictEqual(shown, []);
  });
});
