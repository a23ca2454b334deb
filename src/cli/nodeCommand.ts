/**
 * nexfn node: a local Nex node in the foreground, on a private nats-server (default) or attached to
 * one the user names. Prints how to reach it, logs each deploy, trigger failure and stop, and shuts
 * down cleanly (workloads, node_stopped, the private server) on Ctrl-C.
 */
import * as os from 'os';
import * as path from 'path';
import { LocalNodeHost, LocalNodeNats } from '../devnode/localNodeHost';
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
  /** With --nats/--context: issuers accepted besides the user's own (repeatable). */
  validIssuer?: string[];
  /** The folder of the user's deploy keys (default $NEX_KEYS_DIR, else ~/.nex). */
  keys?: string;
}

export interface NodeCommandIo {
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
    issuers: { keysDir: options.keys, validIssuers: options.validIssuer ?? [] },
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
      ...(is04 ? [] : [`  issuers:  ${node.config.validIssuers.length > 0 ? node.config.validIssuers.join(', ') : 'any'}`]),
      is04
        ? `  try:      nats --server ${host.natsUrl} req '$NEX.SVC.system.control.INFO.${node.nodeId}' ''   (or: nex node ls -s ${host.natsUrl})`
        : `  try:      nats --server ${host.natsUrl} req '$NEX.INFO.${options.namespace}.${node.nodeId}' ''`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  const agents = host.nexlet?.registered?.agents;
  if (agents) {
    io.stdout(`the functions nexlet runs what is deployed to it: JavaScript (type v8) as agent ${agents.v8} on QuickJS, WebAssembly (type wasm) as agent ${agents.wasm}\n`);
  }
  const signal = stopSignal(io);
  await signal.stopped;
  signal.release();
  io.stderr('stopping the local node…\n');
  await host.stop();
  io.stdout('local Nex node stopped\n');
  return 0;
}
