/**
 * Fault 3, a NATS cluster: three nats-servers with routes (JetStream clustered) on 127.0.0.1, a
 * local node attached to each (its URL only). A deploy lands by auction (a tag picks one node);
 * then the server the client (given all three URLs) is connected to is killed under load: the
 * functions on the nodes of the other servers go on answering, no request is lost, and the client
 * moves to a live server by itself. Whether the killed server's node comes back through another
 * server (the NATS client learns the cluster's URLs) is reported.
 */
import * as net from 'net';
import { jetstreamManager } from '@nats-io/jetstream';
import { triggerFunction } from '../../src/deploy/triggerFunction';
import { NexControlClient } from '../../src/nex/controlClient';
import { delay, deploy, FaultResult, jsFunction, Scope, tally, waitFor, within } from './support';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const REQUESTS = 2000;
const REQUESTERS = 10;
const TIMEOUT_MS = 5000;

export async function natsCluster(scope: Scope): Promise<FaultResult> {
  const problems: string[] = [];
  const clusterPorts = [await freePort(), await freePort(), await freePort()];
  const routes = clusterPorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const servers: Awaited<ReturnType<Scope['server']>>[] = [];
  for (let i = 0; i < 3; i++) {
    servers.push(await scope.server(['--server_name', `faults-s${i}`, '--cluster_name', 'faults', '--cluster', `nats://127.0.0.1:${clusterPorts[i]}`, '--routes', routes]));
  }
  const urls = servers.map((s) => s.url);
  const nc = await scope.connect(urls, 'faults-cluster-client');
  // JetStream clustered: wait for its meta leader before uploading.
  const jsReady = await waitFor(async () => {
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
      return true;
    } catch {
      return false;
    }
  }, 30000, 250);
  if (!jsReady) return { ok: false, figures: 'JetStream of the cluster did not become ready in 30 s' };
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    nodes.push((await scope.node(urls[i], { nodeName: `node-s${i}`, tags: { server: `s${i}` } })).node);
  }
  const client = new NexControlClient(nc);
  const seen = await waitFor(async () => (await client.ping(500)).filter((a) => a.ok).length === 3, 10000, 100);

  // The client's server is the one to kill; functions go to the nodes of the other two, by auction.
  const victim = servers.findIndex((s) => nc.getServer().endsWith(`:${s.port}`));
  const others = [0, 1, 2].filter((i) => i !== victim);
  const root = scope.tempDir('fns');
  const keysDir = scope.keysDir;
  const landed: string[] = [];
  for (const i of [...others, victim]) {
    const result = await deploy(nc, jsFunction(root, `c${i}`, '(subject, payload) => subject;'), keysDir, { tags: { server: `s${i}` } });
    landed.push(`c${i}→${nodes.find((n) => n.nodeId === result.node.nodeId)?.config.nodeName}`);
  }
  const landedRight = landed.every((l) => l.split('→')[0].slice(1) === l.split('-s')[1]);

  let next = 0;
  let replies = 0;
  let lost = 0;
  const errors: string[] = [];
  let killedAt = 0;
  let firstGood = 0;
  const fromServer = nc.getServer();
  const requester = async () => {
    for (;;) {
      const i = next++;
      if (i >= REQUESTS) return;
      if (i === REQUESTS / 4) {
        killedAt = Date.now();
        process.kill(servers[victim].pid, 'SIGKILL');
      }
      const subject = `c${others[i % 2]}.r${i}`;
      const outcome = await within(triggerFunction(nc, subject, new Uint8Array(), { timeoutMs: TIMEOUT_MS }), TIMEOUT_MS + 3000);
      if (outcome === 'hung') lost++;
      else if ('value' in outcome) {
        replies++;
        if (killedAt && !firstGood) firstGood = Date.now();
      } else errors.push(outcome.error.message);
    }
  };
  await Promise.all(Array.from({ length: REQUESTERS }, requester));
  const toServer = nc.getServer();
  const moved = toServer !== fromServer;
  // The killed server's node: gone, or back through another server?
  const victimNode = nodes[victim];
  await delay(1000);
  const victimBack = (await client.ping(750)).some((a) => a.ok && a.value.node_id === victimNode.nodeId);
  const othersAnswer = await Promise.all(others.map(async (i) => {
    const o = await within(triggerFunction(nc, `c${i}.after`, new Uint8Array(), { timeoutMs: TIMEOUT_MS }), TIMEOUT_MS + 3000);
    return o !== 'hung' && 'value' in o;
  }));
  const figures =
    `3 servers with routes, ${seen ? 3 : 'NOT 3'} nodes seen; deploys by auction landed ${landed.join(', ')}; ` +
    `killed the client's server s${victim} under load: ${REQUESTS} requests from ${REQUESTERS} requesters → ${replies} replies, ${errors.length} errors, ${lost} lost; ` +
    `client moved ${moved ? `to ${toServer}` : 'NOT'} by itself; first good reply ${firstGood ? firstGood - killedAt : 'never'} ms after the kill; ` +
    `the other nodes' functions answer after: ${othersAnswer.every(Boolean) ? 'yes' : 'NO'}; the killed server's node ${victimBack ? 'came back through another server' : 'is gone'}` +
    (errors.length ? `; errors: ${tally(errors, 2)}` : '');
  if (!seen) problems.push('not every node answered PING across the routes');
  if (!landedRight) problems.push(`deploys did not land on the tagged nodes: ${landed.join(', ')}`);
  if (lost > 0) problems.push(`${lost} requests lost`);
  if (!moved) problems.push('the client did not move to a live server');
  if (!othersAnswer.every(Boolean)) problems.push("the other nodes' functions do not answer after the kill");
  return { ok: problems.length === 0, figures, problems };
}
