/**
 * Who may deploy to the local node. Attached to a NATS server it did not start, a 0.2.7/0.3.0 node
 * accepts only the user's own issuer (the key deploys sign with; made where deploys look for it
 * when missing) and the listed valid issuers, and refuses anyone else with the 0.2.7 text at the
 * point a 0.2.7 node checks it (after the JWT, before the artifact). On its private server it
 * accepts any issuer. Real nats-servers.
 */
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { createAccount, createCurve, type KeyPair } from '@nats-io/nkeys';
import { loadPublisherKeys } from '../../src/deploy/publisherKeys';
import { LocalNodeHost } from '../../src/devnode/localNodeHost';
import { EmulatedVersion, protocolOf } from '../../src/devnode/nodeConfig';
import { buildDeployRequest } from '../../src/nex/deployRequest';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';
import { startNexfn } from '../support/nexfn';
import { tempDir } from '../support/wasmFixtures';

const SOURCE = new TextEncoder().encode('(s, p) => "ok";');
const SOURCE_HASH = createHash('sha256').update(SOURCE).digest('hex');

describe('the local node accepts only your issuers on a shared NATS server', function () {
  this.timeout(60000);
  let shared: NatsServerHandle;
  let nc: NatsConnection;
  let dirs: string[] = [];
  const hosts: LocalNodeHost[] = [];
  const friend = createAccount();
  before(async () => {
    shared = await startNatsServer();
    nc = await connect({ servers: shared.url });
    await (await new Objm(nc).create('NEXCLIFILES')).putBlob({ name: 'fn' }, SOURCE);
  });
  after(async () => {
    await nc?.close();
    await shared?.stop();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop().catch(() => undefined)));
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    dirs = [];
  });
  const dir = (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };

  const start = async (nats: 'shared' | 'private', emulate: EmulatedVersion, keysDir: string, log: string[] = []) => {
    const host = await LocalNodeHost.start({
      stateDir: dir('nex-issuers-state-'),
      nats: nats === 'shared' ? { attach: { servers: [shared.url] } } : { start: {} },
      config: { emulate, heartbeatMs: 60000 },
      issuers: { keysDir, validIssuers: [friend.getPublicKey()] },
      log: (level, text) => log.push(`${level} ${text}`),
    });
    hosts.push(host);
    return host;
  };
  let count = 0;
  const deploy = async (host: LocalNodeHost, issuer: KeyPair, options: { key?: string; jwt?: (jwt: string) => string } = {}): Promise<{ error?: string; data?: { started?: boolean; issuer?: string } }> => {
    const node = host.node as { nodeId: string; identity: { publicXKey: string }; version: string };
    const name = `fn${++count}`;
    const body = buildDeployRequest(protocolOf(node.version as EmulatedVersion), {
      name,
      type: 'v8',
      bucket: 'NEXCLIFILES',
      key: options.key ?? 'fn',
      hash: SOURCE_HASH,
      triggerSubjects: [`issuers.${name}`],
      issuer,
      senderXKey: createCurve(),
      nodeId: node.nodeId,
      nodePublicXKey: node.identity.publicXKey,
    }) as unknown as Record<string, unknown>;
    if (options.jwt) {
      body.workload_jwt = options.jwt(body.workload_jwt as string);
    }
    const hostNc = await connect({ servers: host.natsUrl });
    try {
      return JSON.parse((await hostNc.request(`$NEX.DEPLOY.default.${node.nodeId}`, JSON.stringify(body), { timeout: 15000 })).string());
    } finally {
      await hostNc.close();
    }
  };

  for (const emulate of ['0.2.7', '0.3.0'] as const) {
    it(`${emulate}: attached, refuses another issuer with the node's text; accepts your own and a listed one`, async () => {
      const keysDir = path.join(dir('nex-issuers-keys-'), 'keys');
      const log: string[] = [];
      const host = await start('shared', emulate, keysDir, log);
      // No key yet: the node made it where deploys look for it, as a deploy makes it.
      const keyFile = path.join(keysDir, 'issuer.nk');
      assert.ok(fs.existsSync(keyFile), log.join('\n'));
      assert.match(fs.readFileSync(keyFile, 'utf8'), /^SA[A-Z2-7]+$/);
      if (process.platform !== 'win32') {
        assert.strictEqual(fs.statSync(keyFile).mode & 0o777, 0o600);
      }
      const own = loadPublisherKeys({ dir: keysDir, persist: false });
      assert.deepStrictEqual(own.created, [], 'both keys exist, as after a deploy');
      assert.ok(log.some((l) => l.startsWith(`info no deploy keys yet: created the issuer account key ${keyFile} (public key ${own.issuerPublicKey})`)), log.join('\n'));
      assert.ok(log.some((l) => l.includes(`the node accepts deploys signed by your issuer ${own.issuerPublicKey} (${keyFile}) and by ${friend.getPublicKey()}`)), log.join('\n'));
      assert.deepStrictEqual([...(host.node as { config: { validIssuers: string[] } }).config.validIssuers], [own.issuerPublicKey, friend.getPublicKey()]);

      const stranger = createAccount();
      const refused = await deploy(host, stranger);
      assert.strictEqual(refused.error, `invalid workload issuer: ${stranger.getPublicKey()}`);
      // At a 0.2.7 node's point: after the JWT checks, before the artifact is fetched.
      assert.strictEqual((await deploy(host, stranger, { key: 'no-such-artifact' })).error, `invalid workload issuer: ${stranger.getPublicKey()}`);
      const forged = await deploy(host, stranger, { jwt: (jwt) => `${jwt.split('.').slice(0, 2).join('.')}.${'A'.repeat(86)}` });
      assert.match(forged.error ?? '', /^Invalid deploy request: /);

      const mine = await deploy(host, own.issuer);
      assert.strictEqual(mine.error, undefined, mine.error);
      assert.strictEqual(mine.data?.issuer, own.issuerPublicKey);
      const listed = await deploy(host, friend);
      assert.strictEqual(listed.error, undefined, listed.error);
      assert.strictEqual(listed.data?.issuer, friend.getPublicKey());
    });
  }

  it('on its private server, accepts any issuer and touches no keys', async () => {
    const keysDir = path.join(dir('nex-issuers-keys-'), 'keys');
    const log: string[] = [];
    const host = await start('private', '0.2.7', keysDir, log);
    const privateNc = await connect({ servers: host.natsUrl });
    try {
      await (await new Objm(privateNc).create('NEXCLIFILES')).putBlob({ name: 'fn' }, SOURCE);
    } finally {
      await privateNc.close();
    }
    const anyone = createAccount();
    const res = await deploy(host, anyone);
    assert.strictEqual(res.error, undefined, res.error);
    assert.strictEqual(res.data?.issuer, anyone.getPublicKey());
    assert.ok(!fs.existsSync(keysDir), 'no keys made for a private server');
    assert.ok(log.some((l) => l.includes('on its private nats-server the node accepts deploys from any issuer')), log.join('\n'));
  });

  it('nexfn node --nats --keys --valid-issuer: prints and applies the issuers; refuses a key that is not one', async () => {
    const keysDir = dir('nex-issuers-cli-keys-');
    const own = loadPublisherKeys({ dir: keysDir });
    const cli = startNexfn(['node', '--nats', shared.url, '--state', dir('nex-issuers-cli-state-'), '--keys', keysDir, '--valid-issuer', friend.getPublicKey()]);
    try {
      const deadline = Date.now() + 20000;
      while (!/Ctrl-C stops it/.test(cli.out.stdout)) {
        assert.ok(Date.now() < deadline && cli.out.code === undefined, `no start: ${cli.out.stdout}\n${cli.out.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(cli.out.stdout, new RegExp(`issuers: +${own.issuerPublicKey}, ${friend.getPublicKey()}\n`));
      assert.match(cli.out.stderr, /attached to a NATS server it did not start: the node accepts deploys signed by your issuer/);
    } finally {
      cli.stop();
      await cli.done;
    }
    const bad = startNexfn(['node', '--nats', shared.url, '--state', dir('nex-issuers-cli-state-'), '--keys', keysDir, '--valid-issuer', 'not-a-key']);
    assert.strictEqual(await bad.done, 1);
    assert.match(bad.out.stderr, /valid issuer "not-a-key" is not an nkey public key/);
  });
});
