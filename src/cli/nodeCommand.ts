/**
 * nexfn node: a local Nex node in the foreground, on a private nats-server (default) or attached to
 * one the user names. Prints how to reach it, logs each deploy, trigger failure and stop, and shuts
 * down cleanly (workloads, node_stopped, the private server) on Ctrl-C.
 */
import * as os from 'os';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { LocalNodeHost, LocalNodeNats } from '../devnode/localNodeHost';
import type { NodeLogLevel } from '../devnode/localNode';
import { EMULATED_VERSIONS, EmulatedVersion, localNodeName } from '../devnode/nodeConfig';
import { loadNatsContext, parseServers } from '../nats/connection';
import { stopSignal } from './stopSignal';

export interface NodeCommandOptions {
  nats?: string;
  startNats?: boolean;
  context?: string;
  creds?: string;
  nkey?: string;
  user?: string;
  namespace: string;
  emulate: string;
  state?: string;
}

/** Where a nexlet started beside a 0.4.1 local node registers: the node's NATS and nexus. */
export interface NexletTarget {
  natsUrl: string;
  nexus: string;
  nodeId: string;
  /** The node's own connection (the nexlet may open its own from natsUrl instead). */
  nc: NatsConnection;
  log: (level: NodeLogLevel, text: string) => void;
}

/** Starts a nexlet against the node; resolves once it registered (or failed), with a way to stop it. */
export type NexletStarter = (target: NexletTarget) => Promise<{ stop(): Promise<void> }>;

/**
 * HOOK(nexlet): the functions nexlet `nexfn node --emulate 0.4.1` starts in-process against its
 * node. Undefined until src/nexlet/ has a FunctionsNexlet to start: set it here (e.g.
 * `(t) => FunctionsNexlet.start({ servers: [t.natsUrl], nexus: t.nexus, log: t.log })`), or pass
 * NodeCommandIo.startNexlet.
 */
export const startFunctionsNexlet: NexletStarter | undefined = undefined;

export interface NodeCommandIo {
  /** With --emulate 0.4.1: starts the nexlet beside the node (default: startFunctionsNexlet). */
  startNexlet?: NexletStarter;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves when the node should stop (Ctrl-C); by default SIGINT or SIGTERM. */
  untilStopped?: Promise<unknown>;
}

/** Where the local node keeps its identity, artifacts and private NATS data by default. */
export function defaultNodeStateDir(): string {
  return path.join(os.homedir(), '.nex-functions', 'local-node');
}

export async function nodeCommand(options: NodeCommandOptions, io: NodeCommandIo): Promise<number> {
  if (!EMULATED_VERSIONS.includes(options.emulate as EmulatedVersion)) {
    throw new Error(`--emulate must be one of ${EMULATED_VERSIONS.join(', ')}, got "${options.emulate}"`);
  }
  if ((options.nats || options.context) && options.startNats) {
    throw new Error('give either --nats/--context (attach) or --start-nats, not both');
  }
  let nats: LocalNodeNats;
  if (options.context) {
    const context = loadNatsContext(options.context);
    nats = { attach: context.profile, secrets: context.secrets };
  } else if (options.nats) {
    if (options.user && !process.env.NATS_PASSWORD) {
      // Said before connecting: the server would only refuse the credentials.
      throw new Error(`no password was given for --user ${options.user}: set $NATS_PASSWORD`);
    }
    nats = { attach: { servers: parseServers(options.nats), credsFile: options.creds, nkeySeedFile: options.nkey, user: options.user }, secrets: { password: process.env.NATS_PASSWORD, token: process.env.NATS_TOKEN } };
  } else {
    nats = { start: {} };
  }
  const stateDir = path.resolve(options.state ?? defaultNodeStateDir());
  const host = await LocalNodeHost.start({
    stateDir,
    nats,
    // "nexfn-<host>": told apart from the editor's local node ("vscode-<host>") in any list of nodes.
    config: { emulate: options.emulate as EmulatedVersion, nodeName: localNodeName('nexfn') },
    log: (level, text) => io.stderr(`[${new Date().toISOString().slice(11, 23)}] ${level.toUpperCase().padEnd(5)} ${text}\n`),
  });
  const { node } = host;
  const is04 = node.version === '0.4.1';
  io.stdout(
    [
      `local Nex node running (emulating Nex ${node.version}); deployed workloads do not survive a restart, as on a real node`,
      `  node id:  ${node.nodeId}`,
      `  name:     ${node.config.nodeName}`,
      `  xkey:     ${node.identity.publicXKey}`,
      `  NATS:     ${host.natsUrl}${host.server ? ' (a private nats-server, stopped with the node)' : ''}`,
      `  state:    ${stateDir}`,
      is04
        ? `  try:      nats --server ${host.natsUrl} req '$NEX.SVC.system.control.INFO.${node.nodeId}' ''   (or: nex node ls -s ${host.natsUrl})`
        : `  try:      nats --server ${host.natsUrl} req '$NEX.INFO.${options.namespace}.${node.nodeId}' ''`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  let nexlet: { stop(): Promise<void> } | undefined;
  if (is04) {
    const starter = io.startNexlet ?? startFunctionsNexlet;
    const log = (level: NodeLogLevel, text: string) => io.stderr(`[${new Date().toISOString().slice(11, 23)}] ${level.toUpperCase().padEnd(5)} nexlet: ${text}\n`);
    if (starter) {
      try {
        nexlet = await starter({ natsUrl: host.natsUrl, nexus: node.config.nexus, nodeId: node.nodeId, nc: host.nc, log });
      } catch (e) {
        io.stderr(`the functions nexlet did not start: ${(e as Error).message}; the node answers, but nothing can run on it until a nexlet registers\n`);
      }
    } else {
      io.stderr(`no functions nexlet is built in yet: the node runs nothing until a nexlet registers on $NEX.SVC.${node.config.nexus}.agent.RREGISTER (${host.natsUrl})\n`);
    }
  }
  const signal = stopSignal(io);
  await signal.stopped;
  signal.release();
  io.stderr('stopping the local node…\n');
  await nexlet?.stop().catch((e: Error) => io.stderr(`stopping the nexlet: ${e.message}\n`));
  await host.stop();
  io.stdout('local Nex node stopped\n');
  return 0;
}
