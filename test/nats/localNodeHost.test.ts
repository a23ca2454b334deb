/**
 * The local node with its private nats-server (LocalNodeHost, as the editor and `nexfn node` start
 * it): the server's port is kept in the node's state folder, so the node's URL survives a restart.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import { LocalNodeHost, NATS_PORT_FILE, readRememberedPort } from '../../src/devnode/localNodeHost';
import { localNodeName } from '../../src/devnode/nodeConfig';
import { startNexfn } from '../support/nexfn';
import { tempDir } from '../support/wasmFixtures';

describe('the local node\'s private nats-server (LocalNodeHost)', function () {
  this.timeout(60000);
  let state: string;
  const hosts: LocalNodeHost[] = [];
  beforeEach(() => (state = tempDir('nex-node-host-')));
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop().catch(() => undefined)));
    fs.rmSync(state, { recursive: true, force: true });
  });

  const start = async (log: string[] = []) => {
    const host = await LocalNodeHost.start({ stateDir: state, nats: { start: {} }, config: { heartbeatMs: 60000 }, log: (level, text) => log.push(`${level} ${text}`) });
    hosts.push(host);
    return host;
  };
  const stop = async (host: LocalNodeHost) => {
    hosts.splice(hosts.indexOf(host), 1);
    await host.stop();
  };

  it('keeps its URL across restarts with the same state folder', async () => {
    const first = await start();
    const url = first.natsUrl;
    await stop(first);
    const second = await start();
    assert.strictEqual(second.natsUrl, url, 'the same URL after a restart');
    await stop(second);
    const third = await start();
    assert.strictEqual(third.natsUrl, url, 'and after another one');
    assert.strictEqual(readRememberedPort(state), third.server!.port, `the port is kept in ${NATS_PORT_FILE}`);
    const nc = await connect({ servers: url });
    try {
      const ping = (await nc.request(`$NEX.PING.${third.node.nodeId}`, '', { timeout: 5000 })).json<{ data: { node_id: string } }>();
      assert.strictEqual(ping.data.node_id, third.node.nodeId, 'the node answers on the kept URL');
    } finally {
      await nc.close();
    }
  });

  it('takes a new port when another program holds the kept one, and says so in its log', async () => {
    const first = await start();
    const kept = first.server!.port;
    await stop(first);
    const squatter = net.createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(kept, '127.0.0.1', () => resolve());
    });
    try {
      const log: string[] = [];
      const second = await start(log);
      assert.notStrictEqual(second.server!.port, kept, 'a new port');
      assert.ok(log.some((l) => l.startsWith(`warn port ${kept}, where the node's nats-server listened last time, is taken by another program: starting it on a new port`)), log.join('\n'));
      assert.strictEqual(readRememberedPort(state), second.server!.port, 'the new port is kept for next time');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('starts on a new port when the kept port file is not readable as one', async () => {
    fs.mkdirSync(state, { recursive: true });
    fs.writeFileSync(path.join(state, NATS_PORT_FILE), 'not json');
    const host = await start();
    assert.strictEqual(readRememberedPort(state), host.server!.port);
  });
});

describe('nexfn node: its name and its URL', function () {
  this.timeout(60000);
  let state: string;
  beforeEach(() => (state = tempDir('nex-node-name-')));
  afterEach(() => fs.rmSync(state, { recursive: true, force: true }));

  /** Runs `nexfn node` until it prints how to reach it; returns its URL, id and a stop. */
  const runNode = async () => {
    const run = startNexfn(['node', '--state', state]);
    const deadline = Date.now() + 20000;
    while (!/Ctrl-C stops it/.test(run.out.stdout)) {
      assert.ok(Date.now() < deadline && run.out.code === undefined, `no start: ${run.out.stdout}\n${run.out.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const url = /NATS: +(nats:\/\/\S+)/.exec(run.out.stdout)![1];
    const nodeId = /node id: +(N[A-Z2-7]{55})/.exec(run.out.stdout)![1];
    return {
      url,
      nodeId,
      out: run.out,
      stop: async () => {
        run.stop();
        assert.strictEqual(await run.done, 0, run.out.stderr);
      },
    };
  };

  it('is named nexfn-<host> (the editor\'s node is vscode-<host>) and keeps its URL when started again', async () => {
    const first = await runNode();
    let tags: Record<string, string>;
    const nc = await connect({ servers: first.url });
    try {
      tags = (await nc.request(`$NEX.PING.${first.nodeId}`, '', { timeout: 5000 })).json<{ data: { tags: Record<string, string> } }>().data.tags;
    } finally {
      await nc.close();
    }
    await first.stop();
    assert.match(tags.node_name, /^nexfn-/);
    assert.strictEqual(tags.node_name, localNodeName('nexfn'));
    assert.notStrictEqual(localNodeName('nexfn'), localNodeName('vscode'));
    assert.match(first.out.stdout, new RegExp(`name: +${localNodeName('nexfn')}`));
    const second = await runNode();
    await second.stop();
    assert.strictEqual(second.url, first.url, 'the same URL on the second start');
  });
});
