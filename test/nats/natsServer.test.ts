import * as assert from 'assert';
import { connect } from '@nats-io/transport-node';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('real nats-server (test helper)', () => {
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
});
