/**
 * What the fault suite shares: real nats-servers (test/support/natsServer.ts), connections made as
 * the product makes them (src/nats/connection.ts: reconnect forever, 500 ms apart), function
 * folders, deploys with a key folder of the suite's own, local nodes in this process or in a
 * separate one (the compiled `nexfn node`, or nodeProcess.js when the heartbeat must be fast), and
 * a registry of everything started, so a fault that fails or runs out of time leaves nothing behind.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadValidFunction, ValidFunction } from '../../src/core/manifest';
import { deployFunction, DeployOptions, DeployResult } from '../../src/deploy/deployFunction';
import { loadPublisherKeys } from '../../src/deploy/publisherKeys';
import { LocalNexNode } from '../../src/devnode/localNode';
import type { NodeConfig } from '../../src/devnode/nodeConfig';
import { connectNats } from '../../src/nats/connection';
import { killAllNatsServers } from '../../src/nats/natsServerProcess';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a fault reports: its outcome (from counts and outcomes, never from timings) and its figures. */
export interface FaultResult {
  ok: boolean;
  /** One line of figures, e.g. "10000 requests, 9950 replies, 50 failed fast, 0 lost". */
  figures: string;
  /** Why it failed (shown under the line). */
  problems?: string[];
}

/** Everything one fault started, undone in reverse order when it ends (also on failure or timeout). */
export class Scope {
  private readonly undo: Array<() => unknown> = [];
  readonly children = new Set<ChildProcess>();

  defer(fn: () => unknown): void {
    this.undo.push(fn);
  }

  async close(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    while (this.undo.length > 0) {
      const fn = this.undo.pop()!;
      try {
        await Promise.race([Promise.resolve(fn()), delay(5000)]);
      } catch {
        // best effort: the next one still runs
      }
    }
  }

  private keys?: string;

  /**
   * The fault's deploy keys (issuer and xkey), made on first use. Node processes get it as
   * $NEX_KEYS_DIR: a node attached to a shared server accepts its own user's issuer.
   */
  get keysDir(): string {
    if (!this.keys) {
      this.keys = this.tempDir('keys');
      loadPublisherKeys({ dir: this.keys });
    }
    return this.keys;
  }

  tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nex-faults-${prefix}-`));
    this.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  async server(extraArgs: string[] = []): Promise<NatsServerHandle> {
    const holder = { server: await startNatsServer(extraArgs) };
    this.defer(() => holder.server.stop());
    return holder.server;
  }

  /** A connection with the product's options (reconnects forever, 500 ms apart). */
  async connect(servers: string | string[], name: string): Promise<NatsConnection> {
    const nc = await connectNats({ servers: Array.isArray(servers) ? servers : [servers] }, {}, { name });
    this.defer(() => nc.close().catch(() => undefined));
    return nc;
  }

  /** A local node in this process, on its own connection. */
  async node(url: string | string[], config: Partial<NodeConfig> = {}, log?: (level: string, text: string) => void): Promise<{ node: LocalNexNode; nc: NatsConnection }> {
    const nc = await this.connect(url, 'nex-local-node');
    const node = await LocalNexNode.start({ nc, stateDir: this.tempDir('node'), config: { heartbeatMs: 60000, ...config }, log });
    this.defer(() => node.stop());
    return { node, nc };
  }

  /**
   * A local node in a process of its own: the compiled `nexfn node --nats URL`, or (heartbeatMs
   * given) nodeProcess.js, the same LocalNodeHost with a faster heartbeat. Resolves once it prints
   * its id.
   */
  async nodeProcess(url: string, options: { stateDir?: string; heartbeatMs?: number; emulate?: string } = {}): Promise<NodeProcess> {
    const stateDir = options.stateDir ?? this.tempDir('nodeproc');
    const args =
      options.heartbeatMs !== undefined
        ? [path.join(__dirname, 'nodeProcess.js'), url, stateDir, String(options.heartbeatMs), options.emulate ?? '0.2.7']
        : [CLI, 'node', '--nats', url, '--state', stateDir, '--emulate', options.emulate ?? '0.2.7'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NEX_KEYS_DIR: this.keysDir } });
    this.children.add(child);
    allChildren.add(child);
    child.once('exit', () => allChildren.delete(child));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 20000;
    let nodeId: string | undefined;
    while (!(nodeId = /node id:\s+(N[A-Z0-9]{55})/.exec(stdout)?.[1])) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the node process did not start: ${stderr.trim() || stdout.trim() || 'no output'}`);
      }
      await delay(20);
    }
    return {
      child,
      pid: child.pid!,
      nodeId,
      stateDir,
      exited,
      output: () => stdout + stderr,
      alive: () => child.exitCode === null && child.signalCode === null,
    };
  }
}

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  nodeId: string;
  stateDir: string;
  exited: Promise<void>;
  output(): string;
  alive(): boolean;
}

/** The compiled CLI, in the same output folder as the suite. */
export const CLI = path.resolve(__dirname, '../../src/cli/bin.js');

const allChildren = new Set<ChildProcess>();

/** Kills every nats-server and node process this process started: for the runner's exit paths. */
export function killEverything(): void {
  for (const child of allChildren) {
    child.kill('SIGKILL');
  }
  allChildren.clear();
  killAllNatsServers();
}

/** A JavaScript function folder (v8) with `source`, triggered by `triggers` (default `<name>.>`). */
export function jsFunction(root: string, name: string, source: string, triggers = [`${name}.>`]): ValidFunction {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.js`), source);
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: `${name}.js`, triggers }));
  return loadValidFunction(dir);
}

/** A wasm function folder whose artifact is `bytes`. */
export function wasmFunction(root: string, name: string, bytes: Uint8Array, triggers = [`${name}.>`]): ValidFunction {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.wasm`), bytes);
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'wasm', artifact: `${name}.wasm`, triggers }));
  return loadValidFunction(dir);
}

/** Deploys with the suite's own keys and no trigger cases run first. */
export function deploy(nc: NatsConnection, fn: ValidFunction, keysDir: string, options: DeployOptions = {}): Promise<DeployResult> {
  return deployFunction(nc, fn, { keysDir, discoveryWindowMs: 300, ...options });
}

/** Resident memory of a process in MiB (from /proc), or NaN where there is none. */
export function rssMiB(pid: number = process.pid): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return pid === process.pid ? Math.round((process.memoryUsage().rss / 1048576) * 10) / 10 : NaN;
  }
}

/** Open file descriptors of a process (from /proc), or NaN. */
export function openFds(pid: number = process.pid): number {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Threads of a process (worker threads count), or NaN. */
export function threads(pid: number = process.pid): number {
  try {
    return Number(/Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return NaN;
  }
}

/** Waits until `check` holds, polling; false when `ms` passed first. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, every = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) {
      return true;
    }
    await delay(every);
  }
  return check();
}

/**
 * Settles within `ms` or says it did not: 'hung' when the promise neither resolved nor rejected
 * (a hang is the one outcome a fault must never see).
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: Error } | 'hung'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    return await Promise.race([promise.then((value) => ({ value }), (error: Error) => ({ error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Counts of error messages, their variable parts (numbers, subjects, ids) folded. */
export function tally(messages: readonly string[], max = 4): string {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const key = m
      .replace(/\b[NAX][A-Z0-9]{55}\b/g, '<id>')
      .replace(/[\w$]+(\.[\w$*>]+)+/g, '<subject>')
      .replace(/\d+/g, 'N')
      .slice(0, 110);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, max)
    .map(([k, n]) => `${n}× "${k}"`)
    .join('; ');
}
