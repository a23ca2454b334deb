/**
 * Runs the local Nex node with its NATS: either attached to a NATS server the user names, or on a
 * private nats-server with JetStream that it starts in the node's state folder and stops with the
 * node. The one way the CLI (`nexfn node`) and the editor start a local node.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionProfile, ConnectionSecrets, connectNats } from '../nats/connection';
import { NatsServerHandle, startNatsServer } from '../nats/natsServerProcess';
import { defaultKeysDir, ISSUER_KEY_FILE, loadPublisherKeys } from '../deploy/publisherKeys';
import { fromPublic } from '@nats-io/nkeys';
import { LocalNexNode, NodeLogLevel } from './localNode';
import { FunctionsNexlet } from '../nexlet/functionsNexlet';
import { LocalNexNode04 } from './localNode04';
import { NodeConfig } from './nodeConfig';

export type LocalNodeNats =
  /** Attach to a NATS server the user runs (JetStream is needed for deploys and host services). */
  | { attach: ConnectionProfile; secrets?: ConnectionSecrets }
  /**
   * Start a private nats-server with JetStream; `binary` overrides the search on PATH. Without a
   * `port`, it listens where it listened last time (kept in the state folder) when that port is
   * free, so a saved connection to it survives a restart.
   */
  | { start: { binary?: string; port?: number } };

/** The file in the node's state folder that keeps its private nats-server's port. */
export const NATS_PORT_FILE = 'nats-port.json';

export interface LocalNodeHostOptions {
  stateDir: string;
  nats: LocalNodeNats;
  config?: Partial<NodeConfig>;
  log?: (level: NodeLogLevel, text: string) => void;
  /**
   * Who may deploy when the node attaches to a NATS server it did not start (0.2.7 and 0.3.0
   * modes): the user's own issuer key, the one deploys sign with (`issuer.nk` in `keysDir`, default
   * $NEX_KEYS_DIR or ~/.nex; made there when missing, as a deploy makes it), plus `validIssuers`.
   * Anyone else allowed to publish on that server is refused ("invalid workload issuer: A…"). On
   * its private server the node accepts any issuer, as before.
   */
  issuers?: { keysDir?: string; validIssuers?: string[] };
}

/** The node a host runs: a 0.2.7/0.3.0 node, or a 0.4.1 node (`emulate: '0.4.1'`, localNode04.ts). */
export type AnyLocalNode = LocalNexNode | LocalNexNode04;

export class LocalNodeHost {
  private constructor(
    readonly node: AnyLocalNode,
    readonly nc: NatsConnection,
    /** The URL clients use to reach the node's NATS. */
    readonly natsUrl: string,
    /** The private server, when the host started one. */
    readonly server: NatsServerHandle | undefined,
    /** In 0.4.1 mode: the functions nexlet registered with the node, which runs what is deployed to it. */
    readonly nexlet?: FunctionsNexlet,
  ) {}

  static async start(options: LocalNodeHostOptions): Promise<LocalNodeHost> {
    const log = options.log ?? (() => undefined);
    const listedIssuers = checkedIssuers(options.issuers?.validIssuers ?? []); // said before anything starts
    let server: NatsServerHandle | undefined;
    let profile: ConnectionProfile;
    let secrets: ConnectionSecrets = {};
    if ('start' in options.nats) {
      server = await startPrivateServer(options.stateDir, options.nats.start, log);
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
      // Once connected (a server that cannot be reached makes no keys): who may deploy.
      options = { ...options, config: { ...options.config, ...issuerConfig(options, listedIssuers, log) } };
      const natsUrl = server?.url ?? profile.servers[0];
      const config = { jsDomain: profile.jsDomain, ...options.config };
      if (config.emulate !== '0.4.1') {
        return new LocalNodeHost(await LocalNexNode.start({ nc, stateDir: options.stateDir, config, log }), nc, natsUrl, server);
      }
      // A 0.4 node runs nothing itself: the functions nexlet registers with it, as with a real one.
      const node = await LocalNexNode04.start({ nc, stateDir: options.stateDir, config, log, natsUrl });
      try {
        const nexlet = await FunctionsNexlet.start({ nc, nexus: node.config.nexus, log: (level, text) => log(level, `functions nexlet: ${text}`) });
        return new LocalNodeHost(node, nc, natsUrl, server, nexlet);
      } catch (e) {
        await node.stop();
        throw e;
      }
    } catch (e) {
      await nc?.close().catch(() => undefined);
      await server?.stop();
      throw e;
    }
  }

  /** Stops the node (its workloads first), closes the connection and stops a server it started. */
  async stop(): Promise<void> {
    await this.nexlet?.stop();
    await this.node.stop();
    await this.nc.close().catch(() => undefined);
    await this.server?.stop();
  }
}

/** The modes whose deploys carry an issuer (Nex 0.4 has none). */
const ISSUER_CHECKED_VERSIONS: readonly string[] = ['0.2.7', '0.3.0'];

/**
 * The node's valid issuers: attached to a server it did not start (0.2.7/0.3.0), the user's own
 * issuer key (made where deploys look for it when there is none yet), the listed ones and any the
 * config already lists; on its private server, what the config lists (by default none: any issuer).
 */
function issuerConfig(options: LocalNodeHostOptions, extra: readonly string[], log: (level: NodeLogLevel, text: string) => void): Partial<NodeConfig> {
  const emulate: string = options.config?.emulate ?? '0.2.7';
  if (!('attach' in options.nats)) {
    if (extra.length > 0 && ISSUER_CHECKED_VERSIONS.includes(emulate)) {
      log('info', 'on its private nats-server the node accepts deploys from any issuer: the listed valid issuers apply when it attaches to a server it did not start');
    }
    return {};
  }
  if (!ISSUER_CHECKED_VERSIONS.includes(emulate)) {
    log('warn', `attached to a NATS server it did not start: in ${emulate} mode the node runs what anyone allowed to publish there deploys (Nex 0.4 has no workload issuers)`);
    return {};
  }
  const dir = path.resolve(options.issuers?.keysDir || defaultKeysDir());
  const keys = loadPublisherKeys({ dir, onCreated: (line) => log('info', `no deploy keys yet: ${line}`) });
  const issuers = [...new Set([keys.issuerPublicKey, ...extra, ...(options.config?.validIssuers ?? [])])];
  const others = issuers.filter((k) => k !== keys.issuerPublicKey);
  log(
    'info',
    `attached to a NATS server it did not start: the node accepts deploys signed by your issuer ${keys.issuerPublicKey} (${path.join(dir, ISSUER_KEY_FILE)})` +
      (others.length > 0 ? ` and by ${others.join(', ')}` : '') +
      '; any other issuer is refused ("invalid workload issuer"). Allow more with --valid-issuer or nex.localNode.validIssuers',
  );
  return { validIssuers: issuers };
}

/** The listed issuers, each an nkey public key (an account key, A…, is what deploys sign with). */
function checkedIssuers(keys: string[]): string[] {
  const out: string[] = [];
  for (const raw of keys) {
    const key = raw.trim();
    try {
      fromPublic(key);
    } catch {
      throw new Error(`valid issuer "${key}" is not an nkey public key (a deploy's issuer is an account key: 56 characters starting with "A")`);
    }
    if (!out.includes(key)) {
      out.push(key);
    }
  }
  return out;
}

/**
 * Starts the node's private nats-server: on the given port, else on the port it had last time when
 * that one is free, else on a new free port (said in the log). The port it got is kept for next time.
 */
async function startPrivateServer(stateDir: string, start: { binary?: string; port?: number }, log: (level: NodeLogLevel, text: string) => void): Promise<NatsServerHandle> {
  const dir = path.join(stateDir, 'nats');
  const remembered = start.port === undefined ? readRememberedPort(stateDir) : undefined;
  let port = start.port ?? remembered;
  if (remembered !== undefined && !(await isPortFree(remembered))) {
    log('warn', `port ${remembered}, where the node's nats-server listened last time, is taken by another program: starting it on a new port (connections saved with the old URL need the new one)`);
    port = undefined;
  }
  let server: NatsServerHandle;
  try {
    server = await startNatsServer({ binary: start.binary, port, dir });
  } catch (e) {
    // Taken between the check and the start: once more on a free port.
    if (remembered === undefined || port === undefined || (await isPortFree(remembered))) {
      throw e;
    }
    log('warn', `port ${remembered}, where the node's nats-server listened last time, was taken meanwhile: starting it on a new port`);
    server = await startNatsServer({ binary: start.binary, dir });
  }
  if (server.port !== remembered) {
    rememberPort(stateDir, server.port);
  }
  return server;
}

/** The port kept in the state folder, if any and valid. */
export function readRememberedPort(stateDir: string): number | undefined {
  try {
    const port = (JSON.parse(fs.readFileSync(path.join(stateDir, NATS_PORT_FILE), 'utf8')) as { port?: unknown }).port;
    return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined; // none yet, or not ours to read: a new port is as good
  }
}

function rememberPort(stateDir: string, port: number): void {
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(path.join(stateDir, NATS_PORT_FILE), JSON.stringify({ port }, null, 2) + '\n');
}

/** Whether nothing listens on 127.0.0.1:port (tried by listening there for a moment). */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
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
