import * as assert from 'assert';
import { connect } from '@nats-io/transport-node';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findNatsServer, NatsServerMissingError } from '../../src/nats/natsServerProcess';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';
import { isAlive } from '../support/processes';


describe('real nats-server (src/nats/natsServerProcess)', () => {
  let server: NatsServerHandle;
  let nc: Awaited<ReturnType<typeof connect>>;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url, name: 'nex-functions-test' });
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('listens on 127.0.0.1 on a free port with JetStream on', () => {
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.notStrictEqual(server.port, 4222);
    assert.strictEqual(nc.info?.jetstream, true);
  });

  it('answers a request through a subscriber', async () => {
    const sub = nc.subscribe('demo.echo');
    (async () => {
      for await (const m of sub) {
        m.respond(`echo: ${m.string()}`);
      }
    })();
    const reply = await nc.request('demo.echo', 'hello', { timeout: 2000 });
    assert.strictEqual(reply.string(), 'echo: hello');
    sub.unsubscribe();
  });

  it('reports "no responders" for a subject nobody serves', async () => {
    await assert.rejects(nc.request('nobody.home', 'x', { timeout: 2000 }), /no responders|503/i);
  });

  it('stops the server and leaves no process behind', async () => {
    const other = await startNatsServer();
    assert.ok(isAlive(other.pid));
    await other.stop();
    assert.strictEqual(isAlive(other.pid), false);
  });

  it('restarts on the same port with the same JetStream store; a client reconnects by itself', async () => {
    const own = await startNatsServer();
    const client = await connect({ servers: own.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    try {
      const sub = client.subscribe('svc.echo');
      (async () => {
        for await (const m of sub) {
          m.respond(`echo: ${m.string()}`);
        }
      })();
      await client.flush();
      const statuses: string[] = [];
      (async () => {
        for await (const s of client.status()) {
          statuses.push(s.type);
        }
      })();
      const restarted = await own.restart();
      assert.strictEqual(restarted.port, own.port);
      assert.notStrictEqual(restarted.pid, own.pid);
      assert.strictEqual(isAlive(own.pid), false, 'the old process is gone');
      const deadline = Date.now() + 10000;
      let reply: string | undefined;
      while (reply === undefined) {
        assert.ok(Date.now() < deadline, `no reply after the restart; statuses: ${statuses.join(', ')}`);
        reply = await client.request('svc.echo', 'again', { timeout: 500 }).then((m: { string(): string }) => m.string(), () => undefined);
      }
      assert.strictEqual(reply, 'echo: again', 'the subscription came back with the connection');
      assert.ok(statuses.includes('disconnect') && statuses.includes('reconnect'), statuses.join(', '));
      await client.close();
      await restarted.stop();
      assert.strictEqual(isAlive(restarted.pid), false);
      assert.strictEqual(fs.existsSync(own.dir), false, 'the temp folder is removed');
    } finally {
      await client.close().catch(() => undefined);
      await own.stop();
    }
  });

  it('says how to install nats-server when it is missing', () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir', 'nats-server');
    assert.throws(() => findNatsServer(missing), (e: unknown) => e instanceof NatsServerMissingError && /was not found at .*no-such-dir.*install it with/.test((e as Error).message));
    const savedPath = process.env.PATH;
    try {
      process.env.PATH = path.join(os.tmpdir(), 'empty-path');
      // Debian installs it in /usr/sbin, which is searched too: only check the message where it is absent.
      if (!fs.existsSync('/usr/sbin/nats-server') && !fs.existsSync('/usr/bin/nats-server') && !fs.existsSync('/usr/local/bin/nats-server')) {
        assert.throws(() => findNatsServer(), /nats-server is not installed: install it with/);
      } else {
        assert.match(findNatsServer(), /nats-server$/);
      }
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
