/** A local Nex node on a real nats-server of its own, with a second connection for the test's client. */
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { LocalNexNode } from '../../src/devnode/localNode';
import type { NodeConfig } from '../../src/devnode/nodeConfig';
import { NatsServerHandle, startNatsServer } from './natsServer';
import { tempDir } from './wasmFixtures';

export interface LocalNodeFixture {
  server: NatsServerHandle;
  /** The node's own connection. */
  nodeNc: NatsConnection;
  /** The test's client connection. */
  nc: NatsConnection;
  node: LocalNexNode;
  /** A temp folder for the test (the node's state is in it); removed by stop(). */
  work: string;
  /** Stops the node, closes both connections, stops the server and removes `work`. */
  stop(): Promise<void>;
}

export async function startLocalNodeFixture(prefix: string, config: Partial<NodeConfig> = {}): Promise<LocalNodeFixture> {
  const server = await startNatsServer();
  const nodeNc = await connect({ servers: server.url, name: 'local-node' });
  const nc = await connect({ servers: server.url, name: 'tester' });
  const work = tempDir(prefix);
  const node = await LocalNexNode.start({ nc: nodeNc, stateDir: path.join(work, 'node'), config: { heartbeatMs: 60000, ...config } });
  return {
    server,
    nodeNc,
    nc,
    node,
    work,
    stop: async () => {
      await node.stop();
      await nc.close();
      await nodeNc.close();
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
