/**
 * nexfn nodes and nexfn which, driven through `main` as a user runs them, against two local Nex
 * nodes on a real nats-server (and a second server no node is attached to).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadValidFunction } from '../../src/core/manifest';
import { deployFunction } from '../../src/deploy/deployFunction';
import { LocalNexNode } from '../../src/devnode/localNode';
import type { NodesJson } from '../../src/explorer/nodesJson';
import { tempDir } from '../support/wasmFixtures';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';
import { runNexfn } from '../support/nexfn';

const cli = runNexfn;

/** A function folder under `root`: nexfunction.json with these fields, and its source. */
function writeFunction(root: string, name: string, manifest: Record<string, unknown>): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.js`), '(subject, payload) => subject;');
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: `${name}.js`, ...manifest }));
  return dir;
}

describe('nexfn nodes and which', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let empty: NatsServerHandle;
  let nodeNc: NatsConnection;
  let nc: NatsConnection;
  const nodes: LocalNexNode[] = [];
  let work: string;
  let fnRoot: string;
  let greetId: string;

  before(async () => {
    [server, empty] = await Promise.all([startNatsServer(), startNatsServer()]);
    nodeNc = await connect({ servers: server.url });
    nc = await connect({ servers: server.url });
    work = tempDir('nex-nodes-cli-');
    for (const [name, emulate] of [['alpha', '0.2.7'], ['beta', '0.3.0']] as const) {
      nodes.push(await LocalNexNode.start({ nc: nodeNc, stateDir: path.join(work, name), config: { nodeName: name, emulate, heartbeatMs: 60000 } }));
    }
    fnRoot = path.join(work, 'functions');
    const greet = writeFunction(fnRoot, 'greet', { triggers: ['greet.*'] });
    writeFunction(fnRoot, 'hello', { triggers: ['greet.hello', 'hello.>'] });
    writeFunction(fnRoot, 'broken', { type: 'python' });
    const result = await deployFunction(nc, loadValidFunction(greet), { nodeId: nodes[0].nodeId, keysDir: path.join(work, 'keys') });
    greetId = result.workloadId;
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await nc?.close();
    await nodeNc?.close();
    await Promise.all([server?.stop(), empty?.stop()]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('nodes --json prints one model for both generations: both nodes (0.2/0.3 here) and the namespace\'s workloads', async () => {
    const run = await cli(['nodes', '--server', server.url, '--json', '--wait', '300']);
    assert.strictEqual(run.code, 0, run.stderr);
    assert.strictEqual(run.stderr, '');
    const snapshot = JSON.parse(run.stdout) as NodesJson;
    assert.strictEqual(snapshot.namespace, 'default');
    assert.deepStrictEqual(snapshot.nodes.map((n) => [n.generation, n.name, n.id, n.version, n.state]), [
      ['0.2/0.3', 'alpha', nodes[0].nodeId, '0.2.7', 'up'],
      ['0.2/0.3', 'beta', nodes[1].nodeId, '0.3.0', 'up'],
    ]);
    assert.deepStrictEqual(snapshot.namespaces, ['default']);
    assert.deepStrictEqual(snapshot.nodes[0].workloads!.map((w) => [w.name, w.id, w.type, w.namespace, w.triggers]), [['greet', greetId, 'v8', 'default', ['greet.*']]]);
    assert.deepStrictEqual(snapshot.nodes[1].workloads, []);
  });

  it('nodes prints a table of the nodes, then of the workloads', async () => {
    const run = await cli(['nodes', '-s', server.url, '--wait', '300']);
    assert.strictEqual(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.match(lines[0], /^NODE +ID +VERSION +UPTIME +RUNNING +TYPES +STATE$/);
    assert.match(lines[1], new RegExp(`^alpha +${nodes[0].nodeId} +0\\.2\\.7 +\\d+s +1 +v8,wasm +up$`));
    assert.match(lines[2], new RegExp(`^beta +${nodes[1].nodeId} +0\\.3\\.0 +\\d+s +0 +v8,wasm +up$`));
    assert.strictEqual(lines[4], 'workloads in the namespace default:');
    assert.match(lines[5], /^WORKLOAD +ID +NAMESPACE +TYPE +NODE +UPTIME +RUNTIME +HASH +TRIGGERS$/);
    assert.match(lines[6], new RegExp(`^greet +${greetId} +default +v8 +alpha +\\d+s +\\S+ +[0-9a-f]{12} +greet\\.\\*$`));
  });

  it('nodes in a namespace without workloads says so', async () => {
    const run = await cli(['nodes', '-s', server.url, '--wait', '300', '--namespace', 'other']);
    assert.strictEqual(run.code, 0, run.stderr);
    assert.match(run.stdout, /\nno workloads in the namespace other\n$/);
  });

  it('nodes explains a namespace with a dot, an unreachable server and a server without nodes', async () => {
    const dotted = await cli(['nodes', '-s', server.url, '--namespace', 'a.b']);
    assert.strictEqual(dotted.code, 2);
    assert.strictEqual(dotted.stderr, 'nexfn nodes: --namespace: "a.b" is not a namespace: a namespace is one subject token (no ".", "*", ">" or whitespace), e.g. "default"\n');

    const unreachable = await cli(['nodes', '-s', 'nats://127.0.0.1:1']);
    assert.strictEqual(unreachable.code, 1);
    assert.match(unreachable.stderr, /^nexfn nodes: cannot reach nats:\/\/127\.0\.0\.1:1 \(.*\): is the NATS server running there, and is the URL right\?\n$/);

    const lonely = await cli(['nodes', '-s', empty.url, '--wait', '200']);
    assert.strictEqual(lonely.code, 1);
    assert.strictEqual(lonely.stdout, '');
    assert.match(lonely.stderr, /^nexfn nodes: no Nex node answered on \$NEX\.PING or \$NEX\.SVC\.system\.control\.PING within 200 ms: is a node running[^\n]*--wait\n$/, "one line: the NATS server's no-responders status is not an answer");

    const badWait = await cli(['nodes', '--wait', 'soon']);
    assert.strictEqual(badWait.code, 2);
    assert.match(badWait.stderr, /--wait must be a positive whole number, got "soon"/);
  });

  it('which lists the local functions a subject triggers', async () => {
    const run = await cli(['which', 'greet.hello', fnRoot]);
    assert.strictEqual(run.code, 0, run.stderr);
    const rel = (name: string) => path.relative(process.cwd(), path.join(fnRoot, name));
    assert.strictEqual(run.stdout, `local functions that greet.hello triggers:\n  greet (${rel('greet')}) via greet.*\n  hello (${rel('hello')}) via greet.hello\n`);
    assert.strictEqual(run.stderr, '1 function with problems left out (nexfn validate lists them)\n');

    const none = await cli(['which', 'bye.now', fnRoot]);
    assert.strictEqual(none.code, 1);
    assert.strictEqual(none.stdout, 'no local function is triggered by bye.now (2 functions looked at)\n');
  });

  it('which with connection flags lists the deployed workloads too, with the triggers they were deployed with', async () => {
    const run = await cli(['which', 'greet.hello', fnRoot, '-s', server.url, '--wait', '300']);
    assert.strictEqual(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`\\ndeployed workloads in the namespace default that greet\\.hello triggers:\\n  greet \\(${greetId}\\) on node alpha via greet\\.\\*\\n$`));

    // Its deploy record says what greet subscribes with, whether or not its manifest is among the folders given.
    const elsewhere = await cli(['which', 'greet.hello', path.join(fnRoot, 'hello'), '-s', server.url, '--wait', '300']);
    assert.strictEqual(elsewhere.code, 0, elsewhere.stderr);
    assert.match(elsewhere.stdout, new RegExp(`\\n  greet \\(${greetId}\\) on node alpha via greet\\.\\*\\n$`));
    assert.strictEqual(elsewhere.stderr, '');

    const lonely = await cli(['which', 'greet.hello', fnRoot, '-s', empty.url, '--wait', '200']);
    assert.strictEqual(lonely.code, 0, 'the local answer stands');
    assert.match(lonely.stderr, /no Nex node answered on \$NEX\.PING or \$NEX\.SVC\.system\.control\.PING within 200 ms: .*: only local functions were checked\n$/);
  });

  it('which never says a deployed function handles a subject its manifest gained after the deploy: a drift note on a line of its own', async () => {
    const manifest = path.join(fnRoot, 'greet', 'nexfunction.json');
    const before = fs.readFileSync(manifest, 'utf8');
    fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(before), triggers: ['greet.*', 'greetings.*.x'] }));
    try {
      const run = await cli(['which', 'greetings.a.x', path.join(fnRoot, 'greet'), '-s', server.url, '--wait', '300']);
      assert.strictEqual(run.code, 0, run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      assert.deepStrictEqual(lines.slice(0, 2), ['local functions that greetings.a.x triggers:', `  greet (${path.relative(process.cwd(), path.join(fnRoot, 'greet'))}) via greetings.*.x`]);
      assert.strictEqual(lines[2], 'no deployed workload in the namespace default is known to be triggered by greetings.a.x');
      assert.strictEqual(lines[3], `note: greet (${greetId}): triggers changed, not deployed (+greetings.*.x) (its manifest ${path.relative(process.cwd(), manifest)})`);
    } finally {
      fs.writeFileSync(manifest, before);
    }
  });

  it('which looks in every namespace the given manifests deploy to', async () => {
    const dir = writeFunction(fnRoot, 'teamfn', { triggers: ['team.*'], deploy: { namespace: 'team-a' } });
    const result = await deployFunction(nc, loadValidFunction(dir), { nodeId: nodes[1].nodeId, keysDir: path.join(work, 'keys') });
    try {
      const run = await cli(['which', 'team.one', fnRoot, '-s', server.url, '--wait', '300']);
      assert.strictEqual(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`\\ndeployed workloads in the namespace team-a that team\\.one triggers:\\n  teamfn \\(${result.workloadId}\\) on node beta via team\\.\\*\\n$`));
      const nodesRun = await cli(['nodes', '-s', server.url, '--wait', '300', '--json']);
      assert.deepStrictEqual((JSON.parse(nodesRun.stdout) as NodesJson).nodes[1].workloads, [], 'nodes reads the --namespace only');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('which refuses a wildcard subject and a missing folder', async () => {
    const wildcard = await cli(['which', 'greet.*', fnRoot]);
    assert.strictEqual(wildcard.code, 2);
    assert.match(wildcard.stderr, /^nexfn which: subject "greet\.\*": a trigger is published on a concrete subject/);
    const missing = await cli(['which', 'greet.hello', path.join(work, 'nowhere')]);
    assert.strictEqual(missing.code, 2);
    assert.match(missing.stderr, /nowhere: no such file or folder\n$/);
  });
});
