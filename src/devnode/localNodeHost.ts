/**
 * Runs the local Nex node with its NATS: either attached to a NATS server the user names, or on a
 * private nats-server with JetStream that it starts in the node's state folder and stops with the
 * node. The one way the CLI (`nexfn node`) and the editor start a local node.
 */
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionProfile, ConnectionSecrets, connectNats } from '../nats/connection';
import { NatsServerHandle, startNatsServer } from '../nats/natsServerProcess';
import { LocalNexNode, NodeLogLevel } from './localNode';
import { NodeConfig } from './nodeConfig';

export type LocalNodeNats =
  /** Attach to a NATS server the user runs (JetStream is needed for deploys and host services). */
  | { attach: ConnectionProfile; secrets?: ConnectionSecrets }
  /** Start a private nats-server with JetStream; `binary` overrides the search on PATH. */
  | { start: { binary?: string; port?: number } };

export interface LocalNodeHostOptions {
  stateDir: string;
  nats: LocalNodeNats;
  config?: Partial<NodeConfig>;
  log?: (level: NodeLogLevel, text: string) => void;
}

export class LocalNodeHost {
  private constructor(
    readonly node: LocalNexNode,
    readonly nc: NatsConnection,
    /** The URL clients use to reach the node's NATS. */
    readonly natsUrl: string,
    /** The private server, when the host started one. */
    readonly server: NatsServerHandle | undefined,
  ) {}

  static async start(options: LocalNodeHostOptions): Promise<LocalNodeHost> {
    const log = options.log ?? (() => undefined);
    let server: NatsServerHandle | undefined;
    let profile: ConnectionProfile;
    let secrets: ConnectionSecrets = {};
    if ('start' in options.nats) {
      server = await startNatsServer({ binary: options.nats.start.binary, port: options.nats.start.port, dir: path.join(options.stateDir, 'nats') });
      log('info', `started nats-server ${server.url} (JetStream in ${path.join(server.dir, 'js')}, log ${server.logFile})`);
      profile = { servers: [server.url] };
    } else {
      profile = options.nats.attach;
      secrets = options.nats.secrets ?? {};
    }
    let nc: NatsConnection | undefined;
    try {
      nc = await connectNats(profile, secrets, { name: 'nex-local-node' });
      if (!nc.info?.jetstream) {
        log('warn', `${profile.servers.join(', ')} has no JetStream: deploys (the artifact's object store) and KV/object host services will fail; start nats-server with -js`);
      }
      watchConnection(nc, log);
      const node = await LocalNexNode.start({ nc, stateDir: options.stateDir, config: { jsDomain: profile.jsDomain, ...options.config }, log });
      return new LocalNodeHost(node, nc, server?.url ?? profile.servers[0], server);
    } catch (e) {
      await nc?.close().catch(() => undefined);
      await server?.stop();
      throw e;
    }
  }

  /** Stops the node (its workloads first), closes the connection and stops a server it started. */
  async stop(): Promise<void> {
    await this.node.stop();
    await this.nc.close().catch(() => undefined);
    await this.server?.stop();
  }
}

/** Says in the node's log when NATS goes away and comes back. */
function watchConnection(nc: NatsConnection, log: (level: NodeLogLevel, text: string) => void): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        log('warn', `lost the NATS connection (${'server' in status ? status.server : ''}): reconnecting…`);
      } else if (status.type === 'reconnect') {
        log('info', `reconnected to NATS${'server' in status ? ` ${status.server}` : ''}: triggers and the control API are served again`);
      }
    }
  })();
}
