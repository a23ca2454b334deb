/** `nexfn node` as a user runs it: a child process, a private nats-server, a deploy, a trigger, Ctrl-C. */
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { createAccount, createCurve } from '@nats-io/nkeys';
import { buildDeployRequest, deployRequestJson } from '../../src/nex/deployRequest';
import { main } from '../../src/cli/nexfn';
import { tempDir } from '../support/wasmFixtures';
import { isAlive } from '../support/processes';

const BIN = path.resolve(__dirname, '../../src/cli/bin.js');


describe('nexfn node', function () {
  this.timeout(60000);
  let state: string;
  let child: ChildProcess | undefined;
  beforeEach(() => (state = tempDir('nex-node-cli-')));
  afterEach(() => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
    }
    fs.rmSync(state, { recursive: true, force: true });
  });

  it('starts a node on a private nats-server, runs a deployed function, and stops everything on Ctrl-C', async () => {
    child = spawn(process.execPath, [BIN, 'node', '--state', state], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const deadline = Date.now() + 20000;
    while (!/Ctrl-C stops it/.test(stdout)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `no start: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /NATS: +(nats:\/\/\S+)/.exec(stdout)![1];
    const nodeId = /node id: +(N[A-Z2-7]{55})/.exec(stdout)![1];
    const xkey = /xkey: +(X[A-Z2-7]{55})/.exec(stdout)![1];
    const serverPid = Number(fs.readFileSync(path.join(state, 'nats', 'server.log'), 'utf8').match(/\[(\d+)\]/)?.[1]);
    const nc = await connect({ servers: url });
    try {
      const store = await new Objm(nc).create('NEXCLIFILES');
      await store.putBlob({ name: 'shout' }, new TextEncoder().encode('(s, p) => String.fromCharCode(...p).toUpperCase();'));
      const body = buildDeployRequest('0.2', {
        name: 'shout',
        type: 'v8',
        bucket: 'NEXCLIFILES',
        key: 'shout',
        hash: 'abc',
        triggerSubjects: ['shout'],
        description: 'from the CLI test',
        issuer: createAccount(),
        senderXKey: createCurve(),
        nodeId,
        nodePublicXKey: xkey,
      });
      const res = JSON.parse((await nc.request(`$NEX.DEPLOY.default.${nodeId}`, deployRequestJson(body), { timeout: 15000 })).string());
      assert.strictEqual(res.error, undefined, res.error);
      assert.strictEqual((await nc.request('shout', 'hey', { timeout: 5000 })).string(), '"HEY"');
    } finally {
      await nc.close();
    }
    assert.match(stderr, /deployed v8 function shout/);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child!.once('exit', (c) => resolve(c)));
    assert.strictEqual(code, 0, stderr);
    assert.match(stdout, /local Nex node stopped/);
    assert.ok(serverPid > 0, 'the private nats-server logged its pid');
    assert.strictEqual(isAlive(serverPid), false, 'the private nats-server is stopped with the node');
  });

  it('says how to fix an unreachable NATS server', async () => {
    let stderr = '';
    const code = await main(['node', '--nats', 'nats://127.0.0.1:1', '--state', state], { stdout: () => undefined, stderr: (t) => (stderr += t), untilStopped: Promise.resolve() });
    assert.strictEqual(code, 1);
    assert.match(stderr, /nexfn node: cannot reach nats:\/\/127\.0\.0\.1:1 .*is the NATS server running there/);
  });
});
