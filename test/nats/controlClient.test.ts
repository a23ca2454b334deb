import * as assert from 'assert';
import * as fs from 'fs';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import { createAccount, createCurve } from '@nats-io/nkeys';
import { LocalNexNode } from '../../src/devnode/localNode';
import { NodeError } from '../../src/nex/controlApi';
import { NexControlClient, NoAnswerError } from '../../src/nex/controlClient';
import { buildDeployRequest } from '../../src/nex/deployRequest';
import { encodeWorkloadJwt } from '../../src/nex/workloadJwt';
import { tempDir } from '../support/wasmFixtures';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

describe('Nex control client (src/nex/controlClient) against two local nodes', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let nc: NatsConnection;
  const nodes: LocalNexNode[] = [];
  const dirs: string[] = [];
  let client: NexControlClient;
  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    for (const [name, emulate] of [['one', '0.2.7'], ['two', '0.3.0']] as const) {
      const dir = tempDir(`nex-cc-${name}-`);
      dirs.push(dir);
      nodes.push(await LocalNexNode.start({ nc, stateDir: dir, config: { nodeName: name, emulate, heartbeatMs: 60000, tags: { team: name } } }));
    }
    client = new NexControlClient(nc);
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await nc?.close();
    await server?.stop();
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  });

  it('discovers every node with PING, and only the matching ones with AUCTION', async () => {
    const answers = await client.ping(300);
    const ids = answers.map((a) => (a.ok ? a.value.node_id : a.error)).sort();
    assert.deepStrictEqual(ids, nodes.map((n) => n.nodeId).sort());
    const auction = await client.auction({ tags: { team: 'two' } }, 300);
    assert.deepStrictEqual(auction.map((a) => a.ok && a.value.node_id), [nodes[1].nodeId]);
    assert.strictEqual((await client.pingNode(nodes[0].nodeId)).version, '0.2.7');
  });

  it('deploys, reads INFO and WPING, stops; a refusal is the node\'s own text', async () => {
    const [node] = nodes;
    const source = new TextEncoder().encode('(s, p) => "ok";');
    await (await new Objm(nc).create('NEXCLIFILES')).putBlob({ name: 'cc' }, source);
    const issuer = createAccount();
    const inputs = { name: 'cc', type: 'v8' as const, bucket: 'NEXCLIFILES', key: 'cc', hash: 'h', triggerSubjects: ['cc.>'], issuer, senderXKey: createCurve(), nodeId: node.nodeId, nodePublicXKey: node.identity.publicXKey };
    const run = await client.deploy('default', node.nodeId, buildDeployRequest('0.2', inputs) as never);
    assert.strictEqual(run.name, 'cc');
    const info = await client.info('default', node.nodeId);
    assert.deepStrictEqual(info.machines.map((m) => m.workload.name), ['cc']);
    const wping = await client.workloadPing('default', 'CC', 300);
    assert.deepStrictEqual(wping.map((a) => a.ok && a.value.running_machines.map((m) => m.id)), [[run.id]], 'names match case-insensitively');
    const denied = { ...buildDeployRequest('0.2', inputs), trigger_subjects: ['$SYS.x'] };
    await assert.rejects(client.deploy('default', node.nodeId, denied as never), (e: unknown) => e instanceof NodeError && e.message === "The trigger subject $SYS.x overlaps with subject(s) in this node's deny list");
    await new Promise((r) => setTimeout(r, 1100));
    const stopped = await client.stop('default', node.nodeId, { workload_id: run.id, workload_jwt: encodeWorkloadJwt(issuer, { name: 'cc', hash: 'h' }, '0.2'), target_node: node.nodeId });
    assert.strictEqual(stopped.stopped, true);
  });

  it('says when no node answers', async () => {
    await assert.rejects(client.info('default', 'NNOSUCHNODE'), (e: unknown) => e instanceof NoAnswerError && /no Nex node answers on \$NEX\.INFO\.default\.NNOSUCHNODE/.test((e as Error).message));
  });
});
