/**
 * Deploying functions (src/deploy) to local Nex nodes of both versions on a real nats-server: the
 * whole action (keys, node choice, upload, sign, seal, send), redeploys and stops, triggers, logs,
 * events, dry runs, and the refusals a node gives, with its text verbatim and a hint. One deploy is
 * checked independently: its body and JWT are decoded here by hand and held against the reference.
 */
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { createAccount, fromPublic } from '@nats-io/nkeys';
import { loadValidFunction, ValidFunction } from '../../src/core/manifest';
import { CLI_BUCKET, CLI_BUCKET_DESCRIPTION, CLI_BUCKET_MAX_BYTES, artifactKey } from '../../src/deploy/artifactStore';
import { deployFunction, DeployProgress, previewDeploy } from '../../src/deploy/deployFunction';
import { findWorkloads, stopWorkloads } from '../../src/deploy/stopWorkloads';
import { NexEvent } from '../../src/nex/events';
import { triggerFunction } from '../../src/deploy/triggerFunction';
import { watchEvents, watchLogs } from '../../src/deploy/followLogs';
import { WorkloadLogLine } from '../../src/nex/logs';
import { logLevelName } from '../../src/nex/logs';
import { nodeProtocol, NodeRefusal } from '../../src/deploy/nodeReplies';
import { ISSUER_KEY_FILE, loadPublisherKeys, PUBLISHER_XKEY_FILE } from '../../src/deploy/publisherKeys';
import { LocalNexNode } from '../../src/devnode/localNode';
import { NodeConfig } from '../../src/devnode/nodeConfig';
import { NexControlClient } from '../../src/nex/controlClient';
import { buildWat, tempDir } from '../support/wasmFixtures';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A function folder: nexfunction.json with `manifest` and the given files. */
function functionDir(root: string, manifest: Record<string, unknown>, files: Record<string, string | Uint8Array>): ValidFunction {
  const dir = path.join(root, String(manifest.name));
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify(manifest, null, 2));
  return loadValidFunction(dir);
}

/** A JavaScript function named `name`, triggered by `<name>.>`. */
function jsFunction(root: string, name: string, source: string, extra: Record<string, unknown> = {}): ValidFunction {
  return functionDir(root, { name, type: 'v8', source: `${name}.js`, triggers: [`${name}.>`], ...extra }, { [`${name}.js`]: source });
}

/** The JSON of one base64url part of a JWT, decoded by hand. */
const jwtPart = (token: string, index: number) => JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));

describe('deploy (src/deploy) to local Nex nodes on a real nats-server', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let nodeNc: NatsConnection;
  let nc: NatsConnection;
  let client: NexControlClient;
  let root: string;
  let keysDir: string;
  const nodes: Record<string, LocalNexNode> = {};
  const nodeLog: string[] = [];
  const dirs: string[] = [];

  const startNode = async (name: string, config: Partial<NodeConfig>) => {
    const stateDir = tempDir(`nex-deploy-${name}-`);
    dirs.push(stateDir);
    nodes[name] = await LocalNexNode.start({ nc: nodeNc, stateDir, config: { nodeName: name, heartbeatMs: 60000, tags: { team: name }, ...config }, log: (level, text) => nodeLog.push(`${level}: ${text}`) });
    return nodes[name];
  };
  const keysOf = (dir = keysDir) => loadPublisherKeys({ dir });

  before(async () => {
    server = await startNatsServer();
    nodeNc = await connect({ servers: server.url, name: 'local-nodes' });
    nc = await connect({ servers: server.url, name: 'deployer' });
    client = new NexControlClient(nc);
    root = tempDir('nex-deploy-fns-');
    keysDir = path.join(tempDir('nex-deploy-keys-'), 'nex');
    dirs.push(root, path.dirname(keysDir));
    await startNode('two', { emulate: '0.2.7' });
    await startNode('three', { emulate: '0.3.0' });
  });
  after(async () => {
    for (const node of Object.values(nodes)) await node.stop();
    await nc?.close();
    await nodeNc?.close();
    await server?.stop();
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  });

  it('deploys a JS function to the node the auction finds, creating the keys once; a trigger gets what a 0.2.7 node replies', async () => {
    const progress: DeployProgress[] = [];
    const fn = jsFunction(root, 'shout', '(subject, payload) => String.fromCharCode(...payload).toUpperCase();', { description: 'shouts' });
    const result = await deployFunction(nc, fn, { tags: { team: 'two' }, keysDir, onProgress: (p) => progress.push(p) });
    assert.strictEqual(result.node.nodeId, nodes.two.nodeId);
    assert.strictEqual(result.version, '0.2.7');
    assert.strictEqual(result.node.protocol, '0.2');
    assert.match(result.workloadId, /^[0-9a-v]{20}$/);
    assert.strictEqual(result.name, 'shout');
    assert.strictEqual(result.hash, createHash('sha256').update(fs.readFileSync(fn.sourcePath!)).digest('hex'));
    assert.deepStrictEqual(result.artifact, { bucket: 'NEXCLIFILES', key: 'shoutjs', size: fs.statSync(fn.sourcePath!).size, sha256: result.hash });
    assert.deepStrictEqual(result.replaced, []);
    const keyLines = progress.filter((p) => p.step === 'keys').map((p) => p.message);
    assert.strictEqual(keyLines.length, 2, keyLines.join('\n'));
    assert.match(keyLines[0], new RegExp(`^created the issuer account key ${keysDir}/issuer\\.nk \\(public key A[A-Z2-7]{55}\\)`));
    assert.match(keyLines[1], /^created the publisher curve key .*publisher\.xk \(public key X[A-Z2-7]{55}\)$/);
    assert.strictEqual(fs.statSync(keysDir).mode & 0o777, 0o700);
    for (const file of [ISSUER_KEY_FILE, PUBLISHER_XKEY_FILE]) {
      assert.strictEqual(fs.statSync(path.join(keysDir, file)).mode & 0o777, 0o600, file);
    }
    assert.match(fs.readFileSync(path.join(keysDir, ISSUER_KEY_FILE), 'utf8'), /^SA[A-Z2-7]{56}$/, 'the seed alone, as the nex CLI writes it');
    assert.match(fs.readFileSync(path.join(keysDir, PUBLISHER_XKEY_FILE), 'utf8'), /^SX[A-Z2-7]{56}$/);
    assert.strictEqual(result.issuer, keysOf().issuerPublicKey);
    assert.deepStrictEqual(
      progress.map((p) => p.step),
      ['keys', 'keys', 'node', 'upload', 'deploy'],
    );

    const reply = await triggerFunction(nc, 'shout.hi', enc('hey'));
    assert.strictEqual(dec(reply.reply), '"HEY"', 'a 0.2.7 node replies with JSON.stringify of the return value');
    assert.strictEqual(reply.size, 5);
    assert.ok(reply.roundTripMs > 0 && reply.roundTripMs < 5000);

    const again: DeployProgress[] = [];
    const second = await deployFunction(nc, jsFunction(root, 'whisper', '(s, p) => String.fromCharCode(...p).toLowerCase();'), { nodeId: nodes.two.nodeId, keysDir, onProgress: (p) => again.push(p) });
    assert.ok(!again.some((p) => p.step === 'keys'), 'the keys are reused, not made again');
    assert.strictEqual(second.issuer, result.issuer);
  });

  it('builds and deploys a WASI function to a 0.3.0 node; its env reaches it sealed and never shows on $NEX subjects or in the logs', async () => {
    const wasmDir = tempDir('nex-deploy-wat-');
    dirs.push(wasmDir);
    const echoWasm = fs.readFileSync(await buildWat('echo', wasmDir));
    const echo = functionDir(root, { name: 'echo', type: 'wasm', artifact: 'echo.wasm', triggers: ['echo.>'], build: { command: 'cp src/echo.bin echo.wasm' } }, { 'src/echo.bin': echoWasm });
    const progress: DeployProgress[] = [];
    const built: string[] = [];
    const result = await deployFunction(nc, echo, { nodeId: nodes.three.nodeId, keysDir, onProgress: (p) => progress.push(p), onBuildOutput: (l) => built.push(l) });
    assert.strictEqual(progress[0].step, 'build', 'built first: the artifact was missing');
    assert.ok(built.some((l) => l.includes('cp src/echo.bin echo.wasm')), built.join('\n'));
    assert.strictEqual(result.version, '0.3.0');
    assert.strictEqual(result.node.protocol, '0.3');
    assert.strictEqual(result.artifact.key, 'echowasm');
    assert.strictEqual(dec((await triggerFunction(nc, 'echo.x', enc('raw bytes back'))).reply), 'raw bytes back');

    const secret = 's3cr3t-value-never-logged';
    const onWire: string[] = [];
    const spy = nc.subscribe('$NEX.>', { callback: (_e, m) => void onWire.push(`${m.subject} ${m.string()}`) });
    const logLines: WorkloadLogLine[] = [];
    const logs = await watchLogs(nc, { onLine: (l) => logLines.push(l) });
    const envDir = tempDir('nex-deploy-envwat-');
    dirs.push(envDir);
    const env = functionDir(root, { name: 'envdump', type: 'wasm', artifact: 'env.wasm', triggers: ['envdump'], env: { SECRET_TOKEN: secret, LEVEL: 'debug' } }, { 'env.wasm': fs.readFileSync(await buildWat('env', envDir)) });
    const lines: string[] = [];
    await deployFunction(nc, env, { nodeId: nodes.three.nodeId, keysDir, onProgress: (p) => lines.push(p.message) });
    const vars = dec((await triggerFunction(nc, 'envdump', new Uint8Array())).reply).split('\0').filter(Boolean).sort();
    assert.deepStrictEqual(vars, ['LEVEL=debug', `SECRET_TOKEN=${secret}`]);
    // The node publishes its logs of the run before the reply and the run's event after it, all on
    // one connection: once the spy has the event, it has every line the run made.
    const deadline = Date.now() + 15000;
    while (!onWire.some((m) => m.startsWith('$NEX.events.default.function_exec_succeeded ') && m.includes('"envdump"'))) {
      assert.ok(Date.now() < deadline, `no function_exec_succeeded event for envdump: ${onWire.map((m) => m.split(' ')[0]).join(', ')}`);
      await delay(20);
    }
    await nc.flush();
    spy.unsubscribe();
    logs.stop();
    assert.ok(onWire.some((m) => m.startsWith(`$NEX.DEPLOY.default.${nodes.three.nodeId} `)), 'the spy saw the deploy');
    for (const text of [...onWire, ...logLines.map((l) => l.text), ...lines, ...nodeLog]) {
      assert.ok(!text.includes(secret), `the env value leaked: ${text}`);
    }
  });

  it('sends a deploy that decodes, by hand, to the fields and types of the reference (0.2 and 0.3)', async () => {
    const bodies: Array<{ subject: string; body: any }> = [];
    const spy = nc.subscribe('$NEX.DEPLOY.>', { callback: (_e, m) => void bodies.push({ subject: m.subject, body: JSON.parse(m.string()) }) });
    const fn = jsFunction(root, 'check', '(s, p) => "checked";', { env: { COLOR: 'blue' }, description: 'checked by hand', triggers: ['check.one', 'check.two.*'] });
    const keys = keysOf();
    const sha = createHash('sha256').update(fs.readFileSync(fn.sourcePath!)).digest('hex');
    const on02 = await deployFunction(nc, fn, { nodeId: nodes.two.nodeId, keysDir });
    const on03 = await deployFunction(nc, fn, { nodeId: nodes.three.nodeId, keysDir });
    spy.unsubscribe();
    assert.deepStrictEqual(bodies.map((b) => b.subject), [`$NEX.DEPLOY.default.${nodes.two.nodeId}`, `$NEX.DEPLOY.default.${nodes.three.nodeId}`]);
    for (const [{ body }, node, version] of [[bodies[0], nodes.two, '0.2'], [bodies[1], nodes.three, '0.3']] as const) {
      // §1.4: the 0.2 fields, their JSON types, a Go *url.URL object for location.
      assert.strictEqual(body.type, 'v8');
      assert.strictEqual(body.description, 'checked by hand');
      assert.deepStrictEqual(body.location, { Scheme: 'nats', Opaque: '', User: null, Host: 'NEXCLIFILES', Path: '/checkjs', RawPath: '', OmitHost: false, ForceQuery: false, RawQuery: '', Fragment: '', RawFragment: '' });
      assert.deepStrictEqual(body.trigger_subjects, ['check.one', 'check.two.*']);
      assert.strictEqual(body.target_node, node.nodeId);
      assert.strictEqual(body.sender_public_key, keys.xkeyPublicKey);
      assert.match(body.sender_public_key, /^X[A-Z2-7]{55}$/);
      assert.strictEqual(body.essential, undefined, 'never essential for a function');
      assert.strictEqual(body.argv, undefined);
      // §1.6: base64 (std, padded) of "xkv1" ‖ nonce ‖ box, opened with the node's xkey.
      assert.match(body.environment, /^[A-Za-z0-9+/]+={0,2}$/);
      const sealed = Buffer.from(body.environment, 'base64');
      assert.strictEqual(sealed.subarray(0, 4).toString('latin1'), 'xkv1');
      assert.deepStrictEqual(JSON.parse(dec(node.identity.xkey.open(sealed, body.sender_public_key)!)), { COLOR: 'blue' });
      // §1.7: the JWT, decoded by hand.
      const token: string = body.workload_jwt;
      assert.strictEqual(token.split('.').length, 3);
      assert.deepStrictEqual(jwtPart(token, 0), { typ: 'JWT', alg: 'ed25519-nkey' });
      const claims = jwtPart(token, 1);
      assert.strictEqual(claims.iss, keys.issuerPublicKey);
      assert.match(claims.iss, /^A[A-Z2-7]{55}$/, 'an account key, as the nex CLI uses');
      assert.ok(Number.isInteger(claims.iat) && Math.abs(claims.iat - Date.now() / 1000) < 30, 'iat in unix seconds');
      assert.strictEqual(typeof claims.jti, 'string');
      assert.strictEqual(claims.nats.version, 2);
      assert.strictEqual(claims.nats.hash, sha);
      const [header, payload, signature] = token.split('.');
      assert.ok(fromPublic(claims.iss).verify(enc(`${header}.${payload}`), Buffer.from(signature, 'base64url')), 'signed by iss over header.payload');
      if (version === '0.2') {
        assert.strictEqual(claims.sub, 'check', '0.2: the name is the JWT sub');
        assert.strictEqual(claims.nats.name, undefined);
        for (const field of ['id', 'workload_name', 'hash']) assert.strictEqual(body[field], undefined, `no ${field} at 0.2`);
      } else {
        // §1.5: id = JWT sub, workload_name = nats.name, hash = nats.hash.
        assert.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.strictEqual(claims.sub, body.id);
        assert.strictEqual(body.workload_name, 'check');
        assert.strictEqual(claims.nats.name, 'check');
        assert.strictEqual(body.hash, sha);
        assert.strictEqual(body.host_services, undefined);
      }
    }
    assert.notStrictEqual(on02.workloadId, on03.workloadId);
    const status = await (await jetstreamManager(nc)).streams.info(`OBJ_${CLI_BUCKET}`);
    assert.strictEqual(status.config.max_bytes, CLI_BUCKET_MAX_BYTES);
    assert.strictEqual(CLI_BUCKET_MAX_BYTES, 104857600);
    assert.strictEqual(status.config.description, CLI_BUCKET_DESCRIPTION);
    assert.strictEqual(artifactKey('/x/echo.function.js'), 'echofunctionjs', 'every dot removed, as the nex CLI does');
  });

  it('takes the namespace and the auction\'s tags from the manifest\'s deploy section; options win over them', async () => {
    const fn = jsFunction(root, 'teamed', '(s, p) => "team a";', { deploy: { namespace: 'team-a', tags: { team: 'three' } } });
    assert.deepStrictEqual(fn.manifest.deploy, { namespace: 'team-a', tags: { team: 'three' } });
    const subjects: string[] = [];
    const spy = nc.subscribe('$NEX.DEPLOY.>', { callback: (_e, m) => void subjects.push(m.subject) });
    // Two nodes take v8 workloads: with no tags the auction would ask which; the manifest's tags pick "three".
    const result = await deployFunction(nc, fn, { keysDir });
    await nc.flush();
    spy.unsubscribe();
    assert.strictEqual(result.node.nodeId, nodes.three.nodeId, 'the node without the tag team=three is not picked');
    assert.strictEqual(result.namespace, 'team-a');
    assert.deepStrictEqual(subjects, [`$NEX.DEPLOY.team-a.${nodes.three.nodeId}`]);
    const inTeam = await client.info('team-a', nodes.three.nodeId);
    assert.deepStrictEqual(inTeam.machines.filter((m) => m.workload.name === 'teamed').map((m) => m.id), [result.workloadId]);
    const inDefault = await client.info('default', nodes.three.nodeId);
    assert.deepStrictEqual(inDefault.machines.filter((m) => m.workload.name === 'teamed'), [], 'not in the default namespace');
    assert.deepStrictEqual((await findWorkloads(client, 'team-a', 'teamed')).map((w) => w.workloadId), [result.workloadId]);

    const preview = await previewDeploy(nc, fn, { keysDir });
    assert.strictEqual(preview.namespace, 'team-a');
    assert.strictEqual(preview.node.nodeId, nodes.three.nodeId);
    assert.deepStrictEqual(preview.replaces, [result.workloadId]);
    const overridden = await previewDeploy(nc, fn, { keysDir, namespace: 'default', tags: { team: 'two' } });
    assert.strictEqual(overridden.namespace, 'default');
    assert.strictEqual(overridden.node.nodeId, nodes.two.nodeId);
    await assert.rejects(
      previewDeploy(nc, jsFunction(root, 'untagged', '(s, p) => 1;', { deploy: { tags: { team: 'nobody' } } }), { keysDir }),
      /^Error: no Nex node answered the auction for a v8 workload with tags team=nobody on .*: \d+ node\(s\) answer PING, but none takes v8 workloads with those tags/,
    );
    await stopWorkloads(client, result.workloadId, { namespace: 'team-a', keys: keysOf() });
  });

  it('redeploys by replacing (new id, old one gone), and stops by name or id; another issuer gets the node\'s own text', async () => {
    const fn = jsFunction(root, 'counter', '(s, p) => "v1";');
    const first = await deployFunction(nc, fn, { nodeId: nodes.two.nodeId, keysDir });
    fs.writeFileSync(fn.sourcePath!, '(s, p) => "v2";');
    const steps: string[] = [];
    const second = await deployFunction(nc, fn, { nodeId: nodes.two.nodeId, keysDir, onProgress: (p) => steps.push(p.step) });
    assert.notStrictEqual(second.workloadId, first.workloadId);
    assert.deepStrictEqual(second.replaced, [first.workloadId]);
    assert.ok(steps.includes('replace'), steps.join());
    const info = await client.info('default', nodes.two.nodeId);
    assert.deepStrictEqual(info.machines.filter((m) => m.workload.name === 'counter').map((m) => m.id), [second.workloadId], 'the old workload is gone');
    assert.strictEqual(dec((await triggerFunction(nc, 'counter.x', new Uint8Array())).reply), '"v2"');

    const strangerKeys = loadPublisherKeys({ dir: tempDir('nex-deploy-stranger-') });
    dirs.push(strangerKeys.dir);
    await assert.rejects(stopWorkloads(client, 'counter', { keys: strangerKeys }), (e: unknown) => {
      assert.ok(e instanceof NodeRefusal, String(e));
      assert.strictEqual(e.nodeMessage, 'Invalid stop request: the only entity allowed to terminate a workload is the issuer that originally started it');
      assert.ok(e.message.startsWith(e.nodeMessage), 'the node text comes first');
      assert.match(e.message, new RegExp(`\\nhint: only the issuer that deployed the workload may stop it; this stop was signed by ${strangerKeys.issuerPublicKey}`));
      return true;
    });
    const stopped = await stopWorkloads(client, 'counter', { keys: keysOf() });
    assert.deepStrictEqual(stopped.map((w) => [w.workloadId, w.nodeId]), [[second.workloadId, nodes.two.nodeId]]);
    await assert.rejects(triggerFunction(nc, 'counter.x', new Uint8Array()), /^Error: no function is subscribed to counter\.x on .*: no deployed workload has a trigger that matches it/);

    const on03 = await deployFunction(nc, jsFunction(root, 'byid', '(s, p) => 1;'), { nodeId: nodes.three.nodeId, keysDir });
    assert.deepStrictEqual((await findWorkloads(client, 'default', on03.workloadId)).map((w) => w.name), ['byid']);
    await stopWorkloads(client, on03.workloadId, { keys: keysOf() });
    assert.deepStrictEqual(await findWorkloads(client, 'default', 'byid', { windowMs: 300 }), []);
    await assert.rejects(stopWorkloads(client, 'byid', { keys: keysOf(), windowMs: 300 }), /^Error: no workload named "byid" or with that id runs in the namespace "default": no node answered \$NEX\.WPING\.default\.byid/);
  });

  it('previews a deploy (dry run): sends nothing, writes no keys, hides the env values', async () => {
    const fresh = path.join(tempDir('nex-deploy-dry-'), 'keys');
    dirs.push(path.dirname(fresh));
    const fn = jsFunction(root, 'dryrun', '(s, p) => "dry";', { env: { API_KEY: 'hidden-value-123' } });
    const sent: string[] = [];
    const spy = nc.subscribe('$NEX.DEPLOY.>', { callback: (_e, m) => void sent.push(m.subject) });
    const jsApi: string[] = [];
    const jsSpy = nc.subscribe('$JS.API.>', { callback: (_e, m) => void jsApi.push(m.subject) });
    const keyLines: string[] = [];
    const preview = await previewDeploy(nc, fn, { nodeId: nodes.two.nodeId, keysDir: fresh, onProgress: (p) => p.step === 'keys' && keyLines.push(p.message) });
    await nc.flush();
    spy.unsubscribe();
    jsSpy.unsubscribe();
    assert.deepStrictEqual(sent, [], 'no DEPLOY');
    assert.deepStrictEqual(jsApi.filter((s) => /OBJ_NEXCLIFILES|STREAM\.CREATE/.test(s) && !/INFO/.test(s)), [], 'no upload');
    assert.strictEqual(fs.existsSync(fresh), false, 'no keys written');
    assert.strictEqual(keyLines.length, 2);
    assert.match(keyLines[0], /no issuer account key in .*issuer\.nk: a deploy would create one/);
    const text = JSON.stringify(preview);
    assert.ok(!text.includes('hidden-value-123'), text);
    assert.deepStrictEqual(preview.environment, { names: ['API_KEY'], sealedTo: nodes.two.identity.publicXKey });
    assert.strictEqual(preview.node.nodeId, nodes.two.nodeId);
    assert.strictEqual(preview.namespace, 'default');
    assert.deepStrictEqual(preview.subjects, { deploy: `$NEX.DEPLOY.default.${nodes.two.nodeId}`, triggers: ['dryrun.>'] });
    const bytes = fs.readFileSync(fn.sourcePath!);
    assert.deepStrictEqual(preview.artifact, { bucket: 'NEXCLIFILES', key: 'dryrunjs', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), file: fn.sourcePath });
    assert.strictEqual(preview.claims.sub, 'dryrun');
    assert.strictEqual(preview.claims.iss, preview.keys.issuer);
    assert.deepStrictEqual(preview.keys.missing.map((f) => path.basename(f)), ['issuer.nk', 'publisher.xk']);
    assert.strictEqual(preview.request.type, 'v8');
    assert.strictEqual(preview.request.workload_jwt, '(signed by the issuer: see claims)');
    assert.match(String(preview.request.environment), /^\(sealed to X[A-Z2-7]{55}: API_KEY\)$/);
    const store = await new Objm(nc).open(CLI_BUCKET);
    assert.strictEqual(await store.info('dryrunjs'), null, 'the artifact was not uploaded');
  });

  it('stops when cancelled, sending nothing more, and refuses a function without triggers before anything', async () => {
    const fn = jsFunction(root, 'cancelled', '(s, p) => 1;');
    const sent: string[] = [];
    const spy = nc.subscribe('$NEX.DEPLOY.>', { callback: (_e, m) => void sent.push(m.subject) });
    const controller = new AbortController();
    const steps: string[] = [];
    const onProgress = (p: DeployProgress) => {
      steps.push(p.step);
      if (p.step === 'node') {
        controller.abort();
      }
    };
    await assert.rejects(deployFunction(nc, fn, { nodeId: nodes.two.nodeId, keysDir, signal: controller.signal, onProgress }), (e: Error) => e.name === 'AbortError');
    await nc.flush();
    spy.unsubscribe();
    assert.deepStrictEqual(steps, ['node']);
    assert.deepStrictEqual(sent, []);
    const bare = functionDir(root, { name: 'notriggers', type: 'v8', source: 'n.js' }, { 'n.js': '(s, p) => 1;' });
    await assert.rejects(deployFunction(nc, bare, { nodeId: nodes.two.nodeId, keysDir }), /nexfunction\.json: "triggers" is empty: a node runs a function only for messages on its trigger subjects/);
  });

  it('chooses among several nodes with the preference hook, and says so when it cannot', async () => {
    const fn = jsFunction(root, 'choosy', '(s, p) => "chosen";');
    await assert.rejects(previewDeploy(nc, fn, { keysDir }), /^Error: \d+ Nex nodes answered the auction for a v8 workload: choose one with --node: N[A-Z2-7]{55} \((two|three), Nex 0\.\d\.\d\)/);
    const preview = await previewDeploy(nc, fn, { keysDir, preferNode: (c) => c.find((n) => n.node_id === nodes.three.nodeId) });
    assert.strictEqual(preview.node.nodeId, nodes.three.nodeId);
    await assert.rejects(previewDeploy(nc, fn, { keysDir, tags: { team: 'nobody' } }), /^Error: no Nex node answered the auction for a v8 workload with tags team=nobody on .*: \d+ node\(s\) answer PING, but none takes v8 workloads with those tags/);
  });

  it('follows logs by workload id with levels per version, and the events of the namespace and the system', async () => {
    const events: NexEvent[] = [];
    const lines: WorkloadLogLine[] = [];
    const fails = await deployFunction(nc, jsFunction(root, 'fails', '(s, p) => { throw new Error("boom"); };'), { nodeId: nodes.three.nodeId, keysDir });
    const other = await deployFunction(nc, jsFunction(root, 'quiet', '(s, p) => 1;'), { nodeId: nodes.three.nodeId, keysDir });
    const eventWatch = await watchEvents(nc, { onEvent: (e) => events.push(e) });
    const logWatch = await watchLogs(nc, { workloadIds: [fails.workloadId], onLine: (l) => lines.push(l) });
    nc.publish('fails.now', 'x');
    await triggerFunction(nc, 'quiet.now', new Uint8Array());
    const deadline = Date.now() + 15000;
    while (!events.some((e) => e.type === 'function_exec_failed') || !lines.some((l) => l.level === 'error')) {
      assert.ok(Date.now() < deadline, `no failure seen: ${JSON.stringify(lines)} ${JSON.stringify(events.map((e) => e.type))}`);
      await delay(50);
    }
    // The node's failure ends the wait at once, in its words; a subscriber that never answers times out.
    await assert.rejects(triggerFunction(nc, 'fails.request', new Uint8Array(), { timeoutMs: 5000 }), /^Error: fails failed on node N[A-Z2-7]+ \(function_exec_failed on fails\.>\): Error: boom$/);
    const hush = nc.subscribe('hush.request');
    await assert.rejects(triggerFunction(nc, 'hush.request', new Uint8Array(), { timeoutMs: 500 }), /^Error: no reply on hush\.request within 500 ms, and no node reported the function failing/);
    hush.unsubscribe();
    eventWatch.stop();
    logWatch.stop();
    assert.ok(lines.every((l) => l.workloadId === fails.workloadId), 'only the followed workload');
    assert.ok(lines.some((l) => l.level === 'info' && l.text === 'calling js function via trigger subject: fails.now'), JSON.stringify(lines));
    assert.ok(lines.some((l) => l.level === 'error' && /failed to execute function on trigger subject fails\.now/.test(l.text)), JSON.stringify(lines));
    assert.ok(lines.every((l) => l.subject === `$NEX.logs.default.${nodes.three.nodeId}.${fails.workloadId}` && l.nodeId === nodes.three.nodeId), '0.3 layout');
    const failed = events.find((e) => e.type === 'function_exec_failed')!;
    assert.strictEqual(failed.workloadId, fails.workloadId);
    assert.strictEqual(failed.namespace, 'default');
    assert.strictEqual(failed.data.workload_name, 'fails');
    assert.ok(events.some((e) => e.type === 'function_exec_succeeded' && e.workloadId === other.workloadId));
    // 0.2: agent lines (`…<id>.<name>`) use the agent's enum; node lines (`…<name>.<id>`) and 0.3 use slog.
    assert.strictEqual(logLevelName('$NEX.logs.default.N1.wid.name', 2, 'wid'), 'error');
    assert.strictEqual(logLevelName('$NEX.logs.default.N1.wid.name', 4, 'wid'), 'info');
    assert.strictEqual(logLevelName('$NEX.logs.default.N1.wid.name', 3, 'wid'), 'warn');
    assert.strictEqual(logLevelName('$NEX.logs.default.N1.name.wid', -4, 'wid'), 'debug');
    assert.strictEqual(logLevelName('$NEX.logs.default.N1.name.wid', 8, 'wid'), 'error');
    assert.strictEqual(logLevelName('$NEX.logs.default.N1.wid', 4, 'wid'), 'warn');
    assert.strictEqual(logLevelName('$NEX.logs.default.N1.wid', 0, 'wid'), 'info');
  });

  it('says so when the node is gone (its id out of date), leaving nothing deployed; and when the object store is full', async () => {
    const fn = jsFunction(root, 'orphan', '(s, p) => 1;');
    await assert.rejects(deployFunction(nc, fn, { nodeId: 'NDOESNOTEXISTANYMORE', keysDir }), /no Nex node answers on \$NEX\.PING\.NDOESNOTEXISTANYMORE: the node is gone, or its id is out of date/);
    for (const node of Object.values(nodes)) {
      assert.ok(!node.workloads.some((w) => w.name === 'orphan'), 'nothing half-deployed');
    }
    const small = await startNatsServer();
    const smallNc = await connect({ servers: small.url });
    try {
      await new Objm(smallNc).create('NEXCLIFILES', { max_bytes: 1024 });
      const big = jsFunction(root, 'toobig', `(s, p) => 1; // ${'x'.repeat(4000)}`);
      const smallState = tempDir('nex-deploy-small-');
      dirs.push(smallState);
      const node = await LocalNexNode.start({ nc: smallNc, stateDir: smallState, config: { heartbeatMs: 60000 } });
      try {
        await assert.rejects(deployFunction(smallNc, big, { nodeId: node.nodeId, keysDir }), /cannot upload .*toobig\.js to the object store NEXCLIFILES on .*: maximum bytes exceeded/);
        assert.deepStrictEqual(node.workloads, [], 'nothing deployed');
      } finally {
        await node.stop();
      }
    } finally {
      await smallNc.close();
      await small.stop();
    }
  });

  it('reads the deploy format from the node version', () => {
    assert.strictEqual(nodeProtocol('0.2.7', 'N1'), '0.2');
    assert.strictEqual(nodeProtocol('0.3.0-rc1', 'N1'), '0.3');
    assert.throws(() => nodeProtocol('development', 'NDEV'), /^Error: node NDEV reports Nex version "development" \(a source build.*\): this client deploys to Nex 0\.2\.x and 0\.3\.x nodes; .*--nex-version/);
    assert.throws(() => nodeProtocol('0.4.1', 'N1'), /not a 0\.2\.x or 0\.3\.x release/);
    assert.strictEqual(nodeProtocol('development', 'NDEV', '0.3'), '0.3');
  });

  it('refuses key files of the wrong kind, naming the file, and never overwrites them', () => {
    const dir = tempDir('nex-deploy-badkeys-');
    dirs.push(dir);
    const userSeed = 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4';
    fs.writeFileSync(path.join(dir, ISSUER_KEY_FILE), userSeed);
    assert.throws(() => loadPublisherKeys({ dir }), (e: Error) => {
      assert.strictEqual(e.message.includes(userSeed), false, 'no seed in the message');
      assert.match(e.message, new RegExp(`^${path.join(dir, ISSUER_KEY_FILE)} holds a user seed, not the issuer account key \\(a seed starting "SA"\\)`));
      return true;
    });
    assert.strictEqual(fs.readFileSync(path.join(dir, ISSUER_KEY_FILE), 'utf8'), userSeed, 'left as it was');
    fs.writeFileSync(path.join(dir, ISSUER_KEY_FILE), new TextDecoder().decode(createAccount().getSeed()) + '\n');
    fs.writeFileSync(path.join(dir, PUBLISHER_XKEY_FILE), 'not a seed');
    assert.throws(() => loadPublisherKeys({ dir }), /publisher\.xk holds no nkey seed, not the publisher curve key \(a seed starting "SX"\)/);
  });

  describe('refusals: the node\'s text verbatim, then a hint', () => {
    const fn = () => jsFunction(root, 'refused', '(s, p) => "no";');
    const expectRefusal = async (nodeId: string, nodeMessage: string | RegExp, hint: RegExp) => {
      await assert.rejects(deployFunction(nc, fn(), { nodeId, keysDir }), (e: unknown) => {
        assert.ok(e instanceof NodeRefusal, String(e));
        if (typeof nodeMessage === 'string') {
          assert.strictEqual(e.nodeMessage, nodeMessage);
        } else {
          assert.match(e.nodeMessage, nodeMessage);
        }
        assert.ok(e.message.startsWith(`${e.nodeMessage}\nhint: `), e.message);
        assert.match(e.hint ?? '', hint);
        return true;
      });
    };

    it('type not allowed: the node\'s workload_types must list it (and the auction says none takes it)', async () => {
      const node = await startNode('wasmonly', { workloadTypes: ['wasm'] });
      await expectRefusal(node.nodeId, 'Unsupported workload type on this node: v8', new RegExp(`^node ${node.nodeId} does not run v8 workloads: its config's workload_types must list "v8"`));
      await assert.rejects(deployFunction(nc, fn(), { tags: { team: 'wasmonly' }, keysDir }), /no Nex node answered the auction for a v8 workload with tags team=wasmonly .*none takes v8 workloads with those tags: a node's workload_types must list "v8"/);
    });

    it('issuer not allowed: the node\'s valid_issuers must list the issuer key', async () => {
      const node = await startNode('strict', { validIssuers: [createAccount().getPublicKey()] });
      const issuer = keysOf().issuerPublicKey;
      await expectRefusal(node.nodeId, `invalid workload issuer: ${issuer}`, new RegExp(`config's valid_issuers: add ${issuer} \\(the public key of .*issuer\\.nk\\)`));
    });

    it('lame duck: deploy elsewhere; the auction skips such nodes', async () => {
      const node = await startNode('leaving', {});
      await client.lameDuck(node.nodeId);
      await expectRefusal(node.nodeId, 'Node is in lame duck mode. Workload deploy request denied', /is shutting down and takes no new workloads: deploy to another node/);
      await assert.rejects(deployFunction(nc, fn(), { tags: { team: 'leaving' }, keysDir }), /no Nex node answered the auction .*: only nodes in lame duck mode/);
    });

    it('the node finds no JetStream for the artifact: start nats-server with -js', async () => {
      const node = await startNode('nojs', { jsDomain: 'elsewhere' });
      // A 0.2.7 node says "nats: no responders available for request" (reference §11); the local node passes on the JS client's text.
      await expectRefusal(node.nodeId, /^Failed to cache workload bytes: (nats: no responders available for request|jetstream is not enabled)$/, /start nats-server with -js/);
    });

    it('a server without JetStream: the upload says to start nats-server with -js', async () => {
      const dir = tempDir('nex-deploy-nojs-');
      dirs.push(dir);
      const server = await startNatsServer([], { dir, jetStream: false });
      let plain: NatsConnection | undefined;
      let node: LocalNexNode | undefined;
      try {
        const noJs = await connect({ servers: server.url });
        plain = noJs;
        node = await LocalNexNode.start({ nc: noJs, stateDir: path.join(dir, 'node'), config: { heartbeatMs: 60000 } });
        await assert.rejects(deployFunction(noJs, fn(), { nodeId: node.nodeId, keysDir }), /^Error: cannot upload .*refused\.js to the object store NEXCLIFILES on .*: JetStream is not enabled on this server: start nats-server with -js/);
      } finally {
        await node?.stop();
        await plain?.close();
        await server.stop();
      }
    });
  });
});
