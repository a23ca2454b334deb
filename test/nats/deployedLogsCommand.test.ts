/**
 * Show Deployed Logs (src/vscode/commands/deploy.ts) run twice on one function, against a local Nex
 * node on a real nats-server, with the `vscode` module stood in for (test/support/vscodeStub.ts):
 * one follower and one log channel per function, owned by the connection's scope, following the
 * function across a redeploy.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { loadValidFunction } from '../../src/core/manifest';
import { deployFunction } from '../../src/deploy/deployFunction';
import { LocalNodeFixture, startLocalNodeFixture } from '../support/localNodeFixture';
import { installVscodeStub } from '../support/vscodeStub';

const stub = installVscodeStub();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { showDeployedLogsCommand } = require('../../src/vscode/commands/deploy') as typeof import('../../src/vscode/commands/deploy');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DisposableStore } = require('../../src/vscode/lifecycle') as typeof import('../../src/vscode/lifecycle');

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await delay(20);
  }
}

describe('Show Deployed Logs: one follower per function, across redeploys', function () {
  this.timeout(60000);
  let fixture: LocalNodeFixture;

  before(async () => {
    fixture = await startLocalNodeFixture('nex-logs-command-');
  });
  after(() => fixture?.stop());

  it('shown twice, prints each line once in one channel; follows the redeploy; goes with the connection', async () => {
    const { nc } = fixture;
    const dir = path.join(fixture.work, 'greet');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'greet', type: 'v8', source: 'fn.js', triggers: ['greet.*'] }));
    fs.writeFileSync(path.join(dir, 'fn.js'), '(subject, payload) => "hi";\n');
    const keysDir = path.join(fixture.work, 'keys');
    const first = await deployFunction(nc, loadValidFunction(dir), { keysDir });
    const scope = new DisposableStore();
    const conn = { target: { kind: 'local' }, label: 'test node', nc, profile: {}, namespace: 'default', scope };
    const shown: string[] = [];
    const ext = { connections: { connection: conn }, ui: { info: async (m: string) => void shown.push(m) }, deployedLogs: new Map() };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const show = () => showDeployedLogsCommand(ext as any, { name: 'greet' });

    assert.deepStrictEqual(await show(), [first.workloadId]);
    assert.deepStrictEqual(await show(), [first.workloadId], 'the second Show reveals the same follower');
    assert.strictEqual(stub.channels.length, 1, 'one channel');
    const channel = stub.channels[0];
    assert.strictEqual(channel.shown, 2);

    await nc.request('greet.one', 'x', { timeout: 5000 });
    // The success event follows the log lines: once it is in, a second follower's copy would be too.
    await waitFor('the first run', () => channel.lines.some((l) => l.startsWith('info event function_exec_succeeded on greet.*')));
    await nc.request('greet.two', 'x', { timeout: 5000 });
    await waitFor('the second run', () => channel.lines.some((l) => l.includes('trigger subject: greet.two')));
    const once = (text: string) => channel.lines.filter((l) => l.includes(text)).length;
    assert.strictEqual(once('calling js function via trigger subject: greet.one'), 1, channel.lines.join('\n'));

    const second = await deployFunction(nc, loadValidFunction(dir), { keysDir });
    await waitFor('the redeploy note', () => channel.lines.includes(`info greet redeployed as ${second.workloadId} on node ${fixture.node.nodeId}: following it too`));
    await nc.request('greet.three', 'x', { timeout: 5000 });
    await waitFor("the new workload's line", () => channel.lines.includes(`info [${second.workloadId}] calling js function via trigger subject: greet.three`));
    assert.deepStrictEqual(await show(), [first.workloadId, second.workloadId]);
    assert.strictEqual(stub.channels.length, 1);

    scope.dispose();
    assert.ok(channel.disposed, 'the channel goes with the connection');
    assert.strictEqual(ext.deployedLogs.size, 0);
    assert.deepStrictEqual(shown, []);
  });
});
