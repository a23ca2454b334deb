/**
 * The local Nex node against a real nats-server, driven by a test client that builds its requests
 * by hand from the protocol reference (JWT, xkey envelope, location object), not through the
 * project's own protocol code.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomUUID } from 'crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { createAccount, createCurve, KeyPair } from '@nats-io/nkeys';
import { LocalNexNode } from '../../src/devnode/localNode';
import { buildDeployRequest, deployRequestJson } from '../../src/nex/deployRequest';
import { encodeWorkloadJwt } from '../../src/nex/workloadJwt';
import { buildWat, tempDir } from '../support/wasmFixtures';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/** A workload JWT as nats-io/jwt v2 writes generic claims (reference §1.7), built by hand. */
function handJwt(issuer: KeyPair, sub: string, nats: Record<string, unknown>, iat = Math.floor(Date.now() / 1000)): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims = { jti: randomUUID().replace(/-/g, '').toUpperCase(), iat, iss: issuer.getPublicKey(), sub, nats: { ...nats, version: 2 } };
  const payload = b64url(JSON.stringify(claims));
  return `${header}.${payload}.${b64url(issuer.sign(enc(`${header}.${payload}`)))}`;
}

/** The Go *url.URL JSON of nats://bucket/key. */
function goUrl(bucket: string, key: string) {
  return { Scheme: 'nats', Opaque: '', User: null, Host: bucket, Path: `/${key}`, RawPath: '', OmitHost: false, ForceQuery: false, RawQuery: '', Fragment: '', RawFragment: '' };
}

interface Envelope {
  type: string;
  data?: any;
  error?: string;
}

describe('local Nex node (0.2.7) against a real nats-server', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let client: NatsConnection;
  let node: LocalNexNode;
  let stateDir: string;
  let wasmDir: string;
  const issuer = createAccount();
  const publisher = createCurve();
  const logs: string[] = [];

  const request = async (subject: string, body: unknown, timeout = 15000): Promise<Envelope> => {
    const m = await client.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout });
    return JSON.parse(m.string()) as Envelope;
  };
  const upload = async (key: string, bytes: Uint8Array) => {
    const store = await new Objm(client).create('NEXCLIFILES');
    await store.putBlob({ name: key }, bytes);
  };
  const deployBody = (o: { name: string; type?: string; key?: string; triggers?: string[]; env?: Record<string, string>; jwt?: string; extra?: Record<string, unknown> }) => ({
    type: o.type ?? 'v8',
    location: goUrl('NEXCLIFILES', o.key ?? o.name),
    workload_jwt: o.jwt ?? handJwt(issuer, o.name, { hash: 'abc12345TODOmakethisreal' }),
    environment: Buffer.from(publisher.seal(enc(JSON.stringify(o.env ?? {})), node.identity.publicXKey)).toString('base64'),
    sender_public_key: publisher.getPublicKey(),
    target_node: node.nodeId,
    description: `${o.name} from the test`,
    trigger_subjects: o.triggers ?? [`${o.name}.>`],
    ...o.extra,
  });
  const deploy = (body: unknown, ns = 'default') => request(`$NEX.DEPLOY.${ns}.${node.nodeId}`, body);
  const trigger = async (subject: string, payload: string, timeout = 5000) => dec((await client.request(subject, payload, { timeout })).data);

  before(async () => {
    server = await startNatsServer();
    stateDir = tempDir('nex-node-');
    wasmDir = tempDir('nex-node-wasm-');
    nc = await connect({ servers: server.url, name: 'local-node', reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    client = await connect({ servers: server.url, name: 'test-client', reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    node = await LocalNexNode.start({ nc, stateDir, config: { nodeName: 'test-node', heartbeatMs: 200 }, log: (level, text) => logs.push(`${level}: ${text}`) });
  });
  after(async () => {
    await node?.stop();
    await nc?.close();
    await client?.close();
    await server?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(wasmDir, { recursive: true, force: true });
  });

  it('answers PING with the 0.2.7 envelope and fields, and keeps its id across restarts', async () => {
    const reply = await request('$NEX.PING', '');
    assert.strictEqual(reply.type, 'io.nats.nex.v1.ping_response');
    const d = reply.data;
    assert.strictEqual(d.node_id, node.nodeId);
    assert.match(d.node_id, /^N[A-Z2-7]{55}$/);
    assert.match(d.target_xkey, /^X[A-Z2-7]{55}$/);
    assert.strictEqual(d.version, '0.2.7');
    assert.strictEqual(d.nexus, 'nexus');
    assert.match(d.uptime, /^\d+s$/);
    assert.strictEqual(d.tags.node_name, 'test-node');
    assert.strictEqual(d.tags['nex.local'], 'true');
    for (const t of ['nex.os', 'nex.arch', 'nex.cpucount']) {
      assert.ok(d.tags[t], t);
    }
    assert.strictEqual(d.running_machines, 0);
    assert.deepStrictEqual((await request(`$NEX.PING.${node.nodeId}`, '')).data.node_id, node.nodeId);
    const again = await LocalNexNode.start({ nc: client, stateDir, config: { heartbeatMs: 60000 } });
    assert.strictEqual(again.nodeId, node.nodeId, 'the identity is kept in the state folder');
    await again.stop();
  });

  it('answers AUCTION only when every filter matches, and INFO with its types and xkey', async () => {
    const yes = await request('$NEX.AUCTION', { workload_types: ['v8'], tags: { node_name: 'test-node' } });
    assert.strictEqual(yes.type, 'io.nats.nex.v1.auction_response');
    assert.strictEqual(yes.data.node_id, node.nodeId);
    await assert.rejects(request('$NEX.AUCTION', { workload_types: ['native'] }, 500), /503|no responders|timeout/i, 'a node without native stays silent');
    await assert.rejects(request('$NEX.AUCTION', { os: 'plan9' }, 500), /503|no responders|timeout/i);
    assert.strictEqual((await request('$NEX.AUCTION', 'not json')).data.node_id, node.nodeId, 'a body that is not JSON means no filter');
    // A field of the wrong kind is a body Go cannot decode: no filter, as above. It once made the node
    // throw inside the NATS client's reader, after which it answered nothing at all.
    assert.strictEqual((await request('$NEX.AUCTION', { arch: 5, tags: ['x'] })).data.node_id, node.nodeId, 'fields of the wrong kind mean no filter');
    assert.strictEqual((await request(`$NEX.PING.${node.nodeId}`, '')).data.node_id, node.nodeId, 'and the node still answers');
    const info = await request(`$NEX.INFO.default.${node.nodeId}`, '');
    assert.strictEqual(info.type, 'io.nats.nex.v1.info_response');
    assert.deepStrictEqual(info.data.supported_workload_types, ['v8', 'wasm']);
    assert.strictEqual(info.data.public_xkey, node.identity.publicXKey);
    assert.ok(info.data.memory.total > 0);
    assert.deepStrictEqual(info.data.machines, []);
  });

  it('deploys a JavaScript function from the object store; a trigger gets what a 0.2.7 node replies', async () => {
    const source = '(subject, payload) => ({ subject, text: String.fromCharCode(...payload) });\n';
    await upload('echojs', enc(source));
    const events: any[] = [];
    const sub = client.subscribe('$NEX.events.default.*', { callback: (_e, m) => void events.push(JSON.parse(m.string())) });
    const res = await deploy(deployBody({ name: 'echojs', triggers: ['echo.js.*'] }));
    assert.strictEqual(res.error, undefined, res.error);
    assert.strictEqual(res.type, 'io.nats.nex.v1.run_response');
    assert.deepStrictEqual(Object.keys(res.data), ['started', 'id', 'issuer', 'name']);
    assert.strictEqual(res.data.started, true);
    assert.match(res.data.id, /^[0-9a-v]{20}$/);
    assert.strictEqual(res.data.issuer, issuer.getPublicKey());
    assert.strictEqual(res.data.name, 'echojs');
    assert.deepStrictEqual(JSON.parse(await trigger('echo.js.hi', 'héllo'.normalize())), { subject: 'echo.js.hi', text: 'hÃ©llo' }, 'bytes become chars one by one, as in V8');
    await client.flush();
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    const deployed = events.find((e) => e.type === 'workload_deployed');
    assert.ok(deployed, JSON.stringify(events));
    assert.deepStrictEqual(deployed.data, { code: 0, workload_name: 'echojs' });
    assert.strictEqual(deployed.source, `${node.nodeId}-${res.data.id}`);
    assert.strictEqual(deployed.namespace, 'default');
    assert.deepStrictEqual(Object.keys(deployed), [...Object.keys(deployed)].sort(), 'keys sorted, as sdk-go writes them');
    const ran = events.find((e) => e.type === 'function_exec_succeeded');
    assert.strictEqual(ran.data.trigger_subject, 'echo.js.*', 'the subscription pattern, not the concrete subject');
    assert.ok(ran.data.elapsed_nanos > 0);
    const info = await request(`$NEX.INFO.default.${node.nodeId}`, '');
    const machine = info.data.machines[0];
    assert.strictEqual(machine.id, res.data.id);
    assert.strictEqual(machine.workload.hash, createHash('sha256').update(source).digest('hex'));
    assert.strictEqual(machine.workload.type, 'v8');
    assert.deepStrictEqual((await request(`$NEX.INFO.other.${node.nodeId}`, '')).data.machines, [], 'INFO lists only the namespace of the subject');
  });

  it('deploys a WASI function: argv, stdin and stdout as a 0.2.7 node gives them', async () => {
    const wasm = await buildWat('echo', wasmDir);
    await upload('echowasm', new Uint8Array(fs.readFileSync(wasm)));
    const res = await deploy(deployBody({ name: 'echowasm', type: 'wasm', triggers: ['echo.wasm'] }));
    assert.strictEqual(res.error, undefined, res.error);
    assert.strictEqual(await trigger('echo.wasm', 'raw bytes back'), 'raw bytes back');
  });

  it('refuses bad deploys with the exact text of a 0.2.7 node, in its order', async () => {
    await upload('good', enc('(s, p) => 1;'));
    const expectError = async (body: unknown, error: string | RegExp, ns = 'default') => {
      const res = await deploy(body, ns);
      assert.strictEqual(res.type, 'io.nats.nex.v1.run_response');
      assert.strictEqual(res.data, '', 'data is an empty Go []byte');
      if (typeof error === 'string') {
        assert.strictEqual(res.error, error);
      } else {
        assert.match(res.error ?? '', error);
      }
    };
    await expectError(deployBody({ name: 'good', type: 'native' }), 'Unsupported workload type on this node: native');
    await expectError(deployBody({ name: 'good', triggers: ['$SYS.x'] }), "The trigger subject $SYS.x overlaps with subject(s) in this node's deny list");
    await expectError(deployBody({ name: 'good', triggers: ['$NEX.>'] }), "The trigger subject $NEX.> overlaps with subject(s) in this node's deny list");
    await expectError({ ...deployBody({ name: 'good' }), location: 'nats://NEXCLIFILES/good' }, 'Unable to deserialize deploy request: json: cannot unmarshal string into Go struct field DeployRequest.location of type url.URL');
    await expectError({ ...deployBody({ name: 'good' }), environment: 'not base64!' }, /^Failed to decrypt environment for deploy request: illegal base64 data at input byte \d+$/);
    const other = createAccount();
    const forged = handJwt(other, 'good', { hash: 'x' }).split('.');
    const claims = JSON.parse(Buffer.from(forged[1], 'base64url').toString());
    claims.iss = issuer.getPublicKey();
    await expectError(deployBody({ name: 'good', jwt: `${forged[0]}.${b64url(JSON.stringify(claims))}.${forged[2]}` }), 'Invalid deploy request: could not decode workload JWT: claim failed V2 signature verification');
    await expectError(deployBody({ name: 'bad name!', key: 'good' }), /^Invalid deploy request: .*workload name claim \('bad name!'\) does not match requirements \(\^\[a-zA-Z0-9_-\]\+\$\)/);
    await expectError(deployBody({ name: 'missing' }), 'Failed to cache workload bytes: nats: object not found');
    await expectError({ ...deployBody({ name: 'good' }), location: goUrl('NOSUCHBUCKET', 'good') }, 'Failed to cache workload bytes: nats: stream not found');
    await upload('empty', new Uint8Array());
    await expectError(deployBody({ name: 'empty' }), 'Failed to deploy workload: workload rejected by agent: total bytes is required');
    await expectError(deployBody({ name: 'good', triggers: [] }), 'Failed to deploy workload: workload rejected by agent: at least one trigger subject is required for this workload type');
    await upload('broken', enc('(s, p) => {\n  return p +;\n};'));
    await expectError(deployBody({ name: 'broken' }), /^Failed to deploy workload: workload rejected by agent: Failed to validate workload: failed to compile source for execution: SyntaxError: /);
    await upload('toolarge', enc(`(s, p) => p; // ${'x'.repeat(13000)}`));
    await expectError(deployBody({ name: 'toolarge' }), /^Failed to deploy workload: workload rejected by agent: Failed to validate workload: source file \(130\d\d bytes\) exceeds maximum of 12288 bytes$/);
    await upload('notwasm', enc('hello'));
    await expectError(deployBody({ name: 'notwasm', type: 'wasm' }), /^Failed to deploy workload: workload rejected by agent: Failed to validate workload: failed to compile module: /);
    await expectError('{"type": "v8",', /^Unable to deserialize deploy request: /);
    await expectError({ ...deployBody({ name: 'good' }), environment: undefined }, /^Unable to deserialize deploy request: the request has no environment/);
    assert.ok(logs.some((l) => /without environment crashes a real 0\.2\.7 node/.test(l)), 'the log says a real node would crash');
  });

  it('serves KV host calls from the JetStream bucket a 0.2 node provisions', async () => {
    await upload('counter', enc('(s, p) => { let old = []; try { old = hostServices.kv.get("n"); } catch (e) { /* 0.2 throws for a missing key */ } const n = Number(String.fromCharCode(...old)) + 1; hostServices.kv.set("n", new Uint8Array(String(n).split("").map((c) => c.charCodeAt(0)))); return n; };'));
    const res = await deploy(deployBody({ name: 'counter', triggers: ['count'] }));
    assert.strictEqual(res.error, undefined, res.error);
    assert.strictEqual(await trigger('count', ''), '1');
    assert.strictEqual(await trigger('count', ''), '2');
    const kv = await new Kvm(client).open('hs_default_counter_kv');
    assert.strictEqual((await kv.get('n'))!.string(), '2');
  });

  it('keeps answering other functions while one spins, and reports the failure', async () => {
    await upload('spin', enc('(s, p) => { for (;;) {} };'));
    assert.strictEqual((await deploy(deployBody({ name: 'spin', triggers: ['spin'] }))).error, undefined);
    const failed = new Promise<any>((resolve) => {
      const sub = client.subscribe('$NEX.events.default.function_exec_failed', { callback: (_e, m) => (sub.unsubscribe(), resolve(JSON.parse(m.string()))) });
    });
    client.publish('spin', 'x');
    const started = Date.now();
    assert.match(await trigger('echo.js.during', 'x'), /echo\.js\.during/);
    assert.ok(Date.now() - started < 2000, 'the echo answered while the spinner spins');
    const event = await failed;
    assert.strictEqual(event.data.workload_name, 'spin');
    assert.match(event.data.error, /5000 ms/);
  });

  it('stops a workload only for its issuer, with fresh claims, in its namespace', async () => {
    await upload('stopme', enc('(s, p) => "still here";'));
    const iat = Math.floor(Date.now() / 1000);
    const res = await deploy(deployBody({ name: 'stopme', triggers: ['stopme'], jwt: handJwt(issuer, 'stopme', { hash: 'x' }, iat) }));
    const id = res.data.id;
    const stop = (body: unknown, ns = 'default') => request(`$NEX.STOP.${ns}.${node.nodeId}`, body);
    const stopBody = (jwt: string, workloadId = id) => ({ workload_id: workloadId, workload_jwt: jwt, target_node: node.nodeId });
    assert.strictEqual((await stop(stopBody(handJwt(issuer, 'stopme', {}), 'nosuchid'))).error, 'No such workload');
    assert.match((await stop(stopBody(handJwt(issuer, 'stopme', {}, iat)))).error ?? '', /^Invalid stop request: stop claims appear to be cloned or captured/);
    await new Promise((r) => setTimeout(r, 1100));
    assert.strictEqual((await stop(stopBody(handJwt(createAccount(), 'stopme', {})))).error, 'Invalid stop request: the only entity allowed to terminate a workload is the issuer that originally started it');
    assert.strictEqual((await stop(stopBody(handJwt(issuer, 'stopme', {})), 'other')).error, 'No such workload');
    assert.strictEqual(await trigger('stopme', ''), '"still here"');
    const ok = await stop(stopBody(handJwt(issuer, 'stopme', {})));
    assert.strictEqual(ok.error, undefined, ok.error);
    assert.deepStrictEqual(ok.data, { stopped: true, id, issuer: issuer.getPublicKey(), name: 'stopme' });
    await assert.rejects(trigger('stopme', '', 500), /503|no responders|timeout/i, 'the trigger is unsubscribed');
  });

  it('publishes workload console output on $NEX.logs with the 0.2 layout and levels', async () => {
    await upload('logger', enc('(s, p) => { console.log("hello from the function"); return 1; };'));
    const res = await deploy(deployBody({ name: 'logger', triggers: ['logger'] }));
    const lines: Array<{ subject: string; body: any }> = [];
    const sub = client.subscribe(`$NEX.logs.default.>`, { callback: (_e, m) => void lines.push({ subject: m.subject, body: JSON.parse(m.string()) }) });
    await client.flush();
    await trigger('logger', '');
    await client.flush();
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    const line = lines.find((l) => l.body.text === 'hello from the function');
    assert.ok(line, JSON.stringify(lines));
    assert.strictEqual(line.subject, `$NEX.logs.default.${node.nodeId}.${res.data.id}.logger`);
    assert.deepStrictEqual(line.body, { text: 'hello from the function', level: 4, id: res.data.id });
    assert.ok(lines.some((l) => l.body.text === 'calling js function via trigger subject: logger'));
  });

  it('sends heartbeats, and after a NATS restart answers again', async () => {
    const beat = await new Promise<any>((resolve) => {
      const sub = client.subscribe('$NEX.events.system.heartbeat', { callback: (_e, m) => (sub.unsubscribe(), resolve(JSON.parse(m.string()))) });
    });
    assert.strictEqual(beat.data.node_id, node.nodeId);
    assert.ok(beat.data.running_machines >= 3);
    server = await server.restart();
    const deadline = Date.now() + 15000;
    let reply: string | undefined;
    while (reply === undefined) {
      assert.ok(Date.now() < deadline, 'the node did not answer after the restart');
      reply = await trigger('echo.js.back', 'again', 500).catch(() => undefined);
    }
    assert.match(reply, /echo\.js\.back/);
    assert.strictEqual((await request(`$NEX.PING.${node.nodeId}`, '')).data.node_id, node.nodeId);
  });

  it('refuses deploys in lame duck mode', async () => {
    const res = await request(`$NEX.LAMEDUCK.${node.nodeId}`, '');
    assert.deepStrictEqual(res, { type: 'io.nats.nex.v1.lameduck_response', data: { node_id: node.nodeId, success: true } });
    const refused = await deploy(deployBody({ name: 'good', triggers: ['late'] }));
    assert.strictEqual(refused.error, 'Node is in lame duck mode. Workload deploy request denied');
    assert.strictEqual((await request(`$NEX.PING.${node.nodeId}`, '')).data.tags['nex.lameduck'], 'true');
  });
});

describe('local Nex node stops cleanly', function () {
  this.timeout(30000);
  it('stops its workloads and says node_stopped', async () => {
    const server = await startNatsServer();
    const stateDir = tempDir('nex-node-stop-');
    const nc = await connect({ servers: server.url });
    try {
      const node = await LocalNexNode.start({ nc, stateDir });
      const stopped = new Promise<any>((resolve) => {
        const sub = nc.subscribe('$NEX.events.system.node_stopped', { callback: (_e: unknown, m: { string(): string }) => (sub.unsubscribe(), resolve(JSON.parse(m.string()))) });
      });
      await nc.flush();
      await node.stop();
      assert.deepStrictEqual((await stopped).data, { graceful: true, id: node.nodeId });
      await assert.rejects(nc.request(`$NEX.PING.${node.nodeId}`, '', { timeout: 500 }), /503|no responders|timeout/i);
      assert.deepStrictEqual(fs.readdirSync(stateDir).filter((f) => f !== 'workloads'), [path.basename('node-identity.json')]);
    } finally {
      await nc.close();
      await server.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('local Nex node emulating 0.3.0', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let node: LocalNexNode;
  let stateDir: string;
  const issuer = createAccount();
  const sender = createCurve();
  before(async () => {
    server = await startNatsServer();
    stateDir = tempDir('nex-node03-');
    nc = await connect({ servers: server.url });
    node = await LocalNexNode.start({ nc, stateDir, config: { emulate: '0.3.0', heartbeatMs: 60000 } });
  });
  after(async () => {
    await node?.stop();
    await nc?.close();
    await server?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  const request = async (subject: string, body: string): Promise<Envelope> => JSON.parse((await nc.request(subject, body, { timeout: 15000 })).string());

  it('reports 0.3.0, takes the 0.3 body, replies as a 0.3 node, logs and undeploys in the 0.3 layout', async () => {
    assert.strictEqual((await request(`$NEX.PING.${node.nodeId}`, '')).data.version, '0.3.0');
    const source = new TextEncoder().encode('(s, p) => { console.log("in 0.3"); return "hi"; };');
    await (await new Objm(nc).create('NEXCLIFILES')).putBlob({ name: 'hi03' }, source);
    const hash = createHash('sha256').update(source).digest('hex');
    const inputs = { name: 'hi03', type: 'v8' as const, bucket: 'NEXCLIFILES', key: 'hi03', hash, triggerSubjects: ['hi03'], issuer, senderXKey: sender, nodeId: node.nodeId, nodePublicXKey: node.identity.publicXKey };
    const wrongHash = JSON.parse(deployRequestJson(buildDeployRequest('0.3', inputs)));
    wrongHash.hash = 'f'.repeat(64);
    assert.strictEqual((await request(`$NEX.DEPLOY.default.${node.nodeId}`, JSON.stringify(wrongHash))).error, 'Invalid deploy request: artifact hash claim does not match request');
    const res = await request(`$NEX.DEPLOY.default.${node.nodeId}`, deployRequestJson(buildDeployRequest('0.3', inputs)));
    assert.strictEqual(res.error, undefined, res.error);
    const id = res.data.id;
    const logs: any[] = [];
    const logSub = nc.subscribe('$NEX.logs.default.>', { callback: (_e, m) => void logs.push({ subject: m.subject, body: JSON.parse(m.string()) }) });
    const events: any[] = [];
    const eventSub = nc.subscribe('$NEX.events.default.*', { callback: (_e, m) => void events.push(JSON.parse(m.string())) });
    await nc.flush();
    assert.strictEqual((await nc.request('hi03', '', { timeout: 5000 })).string(), '"hi"');
    await new Promise((r) => setTimeout(r, 1100)); // a stop must not share the deploy's iat second
    const stopJwt = encodeWorkloadJwt(issuer, { name: 'hi03', hash, requestId: id }, '0.3');
    const stopped = await request(`$NEX.STOP.default.${node.nodeId}`, JSON.stringify({ node_id: node.nodeId, workload_id: id, workload_jwt: stopJwt }));
    assert.deepStrictEqual(stopped.data, { id, issuer: issuer.getPublicKey(), stopped: true });
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    logSub.unsubscribe();
    eventSub.unsubscribe();
    const line = logs.find((l) => l.body.text === 'in 0.3');
    assert.strictEqual(line.subject, `$NEX.logs.default.${node.nodeId}.${id}`, '0.3: five tokens');
    assert.strictEqual(line.body.level, 0, '0.3: slog info');
    const succeeded = events.find((e) => e.type === 'function_exec_succeeded');
    assert.strictEqual(succeeded.data.workload_id, id);
    const undeployed = events.find((e) => e.type === 'workload_undeployed');
    assert.deepStrictEqual(undeployed.data, { reason: 'Workload undeploy requested', workload_id: id, workload_name: 'hi03' });
  });
});

describe('local Nex node: two functions on overlapping subjects', function () {
  this.timeout(60000);
  it('delivers a message to both (plain subscriptions, as 0.2.7), and each answers its own subjects', async () => {
    const server = await startNatsServer();
    const stateDir = tempDir('nex-node-overlap-');
    const nc = await connect({ servers: server.url });
    const node = await LocalNexNode.start({ nc, stateDir, config: { heartbeatMs: 60000 } });
    try {
      const store = await new Objm(nc).create('NEXCLIFILES');
      const issuer = createAccount();
      const sender = createCurve();
      for (const [name, trigger] of [['wide', 'over.*'], ['narrow', 'over.x']]) {
        await store.putBlob({ name }, new TextEncoder().encode(`(s, p) => "${name}";`));
        const body = buildDeployRequest('0.2', { name, type: 'v8', bucket: 'NEXCLIFILES', key: name, hash: 'h', triggerSubjects: [trigger], issuer, senderXKey: sender, nodeId: node.nodeId, nodePublicXKey: node.identity.publicXKey });
        const res = JSON.parse((await nc.request(`$NEX.DEPLOY.default.${node.nodeId}`, deployRequestJson(body), { timeout: 15000 })).string());
        assert.strictEqual(res.error, undefined, res.error);
      }
      const ran: string[] = [];
      const sub = nc.subscribe('$NEX.events.default.function_exec_succeeded', { callback: (_e: unknown, m: { string(): string }) => void ran.push(JSON.parse(m.string()).data.workload_name) });
      await nc.flush();
      assert.strictEqual((await nc.request('over.y', '', { timeout: 5000 })).string(), '"wide"');
      const both = (await nc.request('over.x', '', { timeout: 5000 })).string();
      assert.ok(['"wide"', '"narrow"'].includes(both), both);
      const deadline = Date.now() + 5000;
      while (ran.length < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      sub.unsubscribe();
      assert.deepStrictEqual([...ran].sort(), ['narrow', 'wide', 'wide'], 'over.x ran both functions');
    } finally {
      await node.stop();
      await nc.close();
      await server.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
