/**
 * The whole Nex 0.4 path on one machine: the local node in 0.4.1 mode with the functions nexlet
 * registered (as `nexfn node --emulate 0.4.1` runs them), driven as the `nex` 0.4.1 CLI drives a
 * node: AUCTION for the function's type, the start request checked against the bid's schema,
 * ADEPLOY, the function triggered, WPING listing it with its name and triggers, UNDEPLOY; a
 * WebAssembly function too; and an out-of-process nexlet registering again after its node restarts.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadValidFunction } from '../../src/core/manifest';
import { localArtifactHash } from '../../src/deploy/artifactStore';
import { writeNexfile } from '../../src/deploy/nexfile';
import { LocalNodeHost } from '../../src/devnode/localNodeHost';
import { LocalNexNode04 } from '../../src/devnode/localNode04';
import { readServiceReply } from '../../src/nex04/serviceErrors';
import { control04 } from '../../src/nex04/subjects';
import type { AuctionResponse, StartWorkloadRequest, StopWorkloadResponse, WorkloadSummary } from '../../src/nex04/types';
import { FunctionsNexlet } from '../../src/nexlet/functionsNexlet';
import { DeployedModel } from '../../src/explorer/deployedModel';
import { runNexfn } from '../support/nexfn';
import { buildWat, tempDir } from '../support/wasmFixtures';
import { startNatsServer } from '../support/natsServer';

describe('functions on the local node in 0.4.1 mode, through the functions nexlet', function () {
  this.timeout(60000);
  let host: LocalNodeHost;
  let nc: NatsConnection;
  let work: string;

  /** AUCTION for `type` (the first bid), as the nex CLI does: the bid's schema, lifecycles and xkey. */
  const auction = async (type: string): Promise<AuctionResponse> => {
    const reply = await nc.request(control04.auction('default'), JSON.stringify({ agent_type: type, auction_id: `a-${type}`, tags: {} }), { timeout: 3000 });
    return readServiceReply<AuctionResponse>(reply);
  };
  /** The function's Nexfile (its artifact uploaded), deployed as `nex workload start -f` would: checked against the bid's schema, then ADEPLOY. */
  const deploy = async (dir: string): Promise<{ id: string; name: string }> => {
    const nexfile = await writeNexfile(nc, loadValidFunction(dir));
    const bid = await auction(nexfile.type);
    assert.deepStrictEqual(bid.supported_lifecycles, ['function']);
    const validate = new Ajv({ strict: false }).compile(JSON.parse(bid.start_request_schema));
    assert.ok(validate(nexfile.start_request), JSON.stringify(validate.errors));
    const request: StartWorkloadRequest = { description: nexfile.description, name: nexfile.name, namespace: 'default', run_request: JSON.stringify(nexfile.start_request), tags: nexfile.tags, workload_lifecycle: 'function', workload_type: nexfile.type };
    return readServiceReply(await nc.request(control04.deploy('default', bid.bidder_id), JSON.stringify(request), { timeout: 30000 }));
  };

  before(async () => {
    work = tempDir('nex-nexlet04-');
    host = await LocalNodeHost.start({ stateDir: path.join(work, 'state'), nats: { start: {} }, config: { emulate: '0.4.1', nodeName: 'n04' } });
    nc = await connect({ servers: host.natsUrl });
  });
  after(async () => {
    await nc?.close();
    await host?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('bids for v8 and wasm with the nexlet\'s schema and xkey; a JavaScript function deployed by auction answers its trigger; WPING lists it; UNDEPLOY stops it', async () => {
    assert.ok(host.nexlet?.registered, 'the host started the nexlet with the node');
    const bid = await auction('v8');
    assert.strictEqual(bid.xkey, host.nexlet!.xkey.getPublicKey(), "the bid carries the nexlet's xkey");
    assert.deepStrictEqual(JSON.parse(bid.start_request_schema).required, ['artifact', 'triggers']);

    const dir = path.join(work, 'greet');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'greet.js'), '(subject, payload) => ({ greeting: "Hello, " + String.fromCharCode(...payload), subject });\n');
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'greet', type: 'v8', source: 'greet.js', triggers: ['greet.*'] }));
    const started = await deploy(dir);
    assert.strictEqual(started.name, 'greet');
    const reply = await nc.request('greet.node', 'Ada', { timeout: 10000 });
    assert.deepStrictEqual(reply.json(), { greeting: 'Hello, Ada', subject: 'greet.node' });
    assert.strictEqual(reply.headers?.get('workload_id'), started.id);

    const listed = readServiceReply<WorkloadSummary[]>(await nc.request(control04.workloadPing('default'), JSON.stringify({ filter: null, namespace: 'default' }), { timeout: 5000 }));
    assert.deepStrictEqual(
      listed.map((w) => [w.id, w.name, w.workload_lifecycle, w.workload_state, w.workload_type, w.metadata]),
      [[started.id, 'greet', 'function', 'running', 'v8', { name: 'greet', namespace: 'default', node: host.node.nodeId, sha256: localArtifactHash(loadValidFunction(dir)), triggers: 'greet.*', type: 'v8' }]],
    );

    const stopped = readServiceReply<StopWorkloadResponse>(await nc.request(control04.undeploy('default', started.id), JSON.stringify({ namespace: 'default' }), { timeout: 5000 }));
    assert.deepStrictEqual(stopped, { id: started.id, message: '', stopped: true, workload_type: 'v8' });
    await assert.rejects(nc.request('greet.node', 'Ada', { timeout: 1000 }), /no responders|timeout/i, 'its trigger is gone');
  });

  it('the explorer lists the 0.4 node with its nexlets and workloads, and nexfn deploy deploys to it (only 0.4 nodes answer), or says how when asked for 0.2', async () => {
    const model = new DeployedModel({ nc, discoveryWindowMs: 300 });
    try {
      const snapshot = await model.refresh();
      assert.deepStrictEqual(snapshot.nodes, []);
      assert.deepStrictEqual(
        snapshot.nodes04.map((n) => [n.id, n.name, n.version, n.state, n.agentCount]),
        [[host.node.nodeId, 'n04', '0.4.1', 'running', 2]],
      );
    } finally {
      model.dispose();
    }
    const nodes = await runNexfn(['nodes', '-s', host.natsUrl, '--wait', '300']);
    assert.strictEqual(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, new RegExp(`^n04 +${host.node.nodeId} +0\\.4\\.1 +\\d+s +0 +v8,wasm +running$`, 'm'));
    assert.match(nodes.stdout, new RegExp(`^n04 +nexfn-functions +v8 +0\\.1\\.0 +healthy +running +0 +${host.nexlet!.registered!.agents.v8}$`, 'm'), 'its nexlets');
    assert.match(nodes.stdout, /^no Nex 0\.4 workloads in the namespaces default, system$/m, 'its workloads were read (greet was undeployed)');
    const dir = path.join(work, 'greet');
    const deployed = await runNexfn(['deploy', dir, '-s', host.natsUrl]);
    assert.strictEqual(deployed.code, 0, deployed.stderr);
    const id = /^deployed greet to Nex 0\.4 in the namespace default as workload (\S+)\n$/.exec(deployed.stdout)?.[1];
    assert.ok(id, deployed.stdout);
    const reply = await nc.request('greet.cli', 'Bea', { timeout: 10000 });
    assert.strictEqual(reply.headers?.get('workload_id'), id);
    const stopped = await runNexfn(['stop', id, '-s', host.natsUrl]);
    assert.strictEqual(stopped.stdout, `stopped greet (${id}) in the namespace default\n`, stopped.stderr);
    const legacy = await runNexfn(['deploy', dir, '-s', host.natsUrl, '--nex-version', '0.2', '--keys', path.join(work, 'keys')]);
    assert.strictEqual(legacy.code, 1);
    assert.match(legacy.stderr, /only Nex 0\.4 nodes answer on this connection \(n04 0\.4\.1\).*nexfn deploy --nex-version 0\.4.*nexfn nexlet/);
  });

  it('deploys a WebAssembly function by auction the same way', async () => {
    const dir = path.join(work, 'wecho');
    fs.mkdirSync(dir, { recursive: true });
    await buildWat('echo', dir);
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'wecho', type: 'wasm', artifact: 'echo.wasm', triggers: ['wecho.>'] }));
    const started = await deploy(dir);
    const reply = await nc.request('wecho.a', 'bytes in', { timeout: 10000 });
    assert.strictEqual(reply.string(), 'bytes in');
    assert.strictEqual(reply.headers?.get('workload_id'), started.id);
  });
});

describe('an out-of-process functions nexlet and a restarting 0.4.1 node', function () {
  this.timeout(60000);
  it('registers again after its node restarts, and the node bids for it again', async () => {
    const server = await startNatsServer();
    const work = tempDir('nex-nexlet-restart-');
    const nodeNc = await connect({ servers: server.url });
    const nexletNc = await connect({ servers: server.url });
    const client = await connect({ servers: server.url });
    const stateDir = path.join(work, 'state');
    let node = await LocalNexNode04.start({ nc: nodeNc, stateDir, natsUrl: server.url });
    const lines: string[] = [];
    let onLine: () => void = () => undefined;
    const nexlet = await FunctionsNexlet.start({
      nc: nexletNc,
      heartbeatMs: 200,
      log: (_level, text) => {
        lines.push(text);
        onLine();
      },
    });
    const bidFor = async () => readServiceReply<AuctionResponse>(await client.request(control04.auction('default'), JSON.stringify({ agent_type: 'v8', auction_id: 'x', tags: {} }), { timeout: 2000 }));
    try {
      const first = nexlet.registered!.agents.v8;
      assert.ok((await bidFor()).bidder_id);
      const registeredAgain = new Promise<void>((resolve) => (onLine = () => lines.some((l) => /^registered with node/.test(l) && lines.indexOf(l) > 0) && resolve()));
      await node.stop();
      node = await LocalNexNode04.start({ nc: nodeNc, stateDir, natsUrl: server.url });
      await registeredAgain;
      assert.ok(lines.some((l) => /does not answer|restarted/.test(l)), lines.join('\n'));
      assert.notStrictEqual(nexlet.registered!.agents.v8, first, 'a new agent id from the new node');
      assert.ok((await bidFor()).bidder_id, 'the restarted node bids for the nexlet again');
    } finally {
      await nexlet.stop();
      await node.stop();
      await Promise.all([nodeNc.close(), nexletNc.close(), client.close()]);
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
