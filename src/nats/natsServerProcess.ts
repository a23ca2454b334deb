/**
 * A private `nats-server` with JetStream on 127.0.0.1 and a free port, in a folder of its own: what
 * the local Nex node starts when the user has no NATS server, and what the NATS tests run against.
 * A started server is stopped with its owner and never outlives the process that started it.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface NatsServerOptions {
  /** The nats-server binary; default: found on PATH or where Debian installs it. */
  binary?: string;
  /** The server's folder (JetStream store, log, ports file); default: a new temp folder, removed on stop. */
  dir?: string;
  /** The port; default: a free one. */
  port?: number;
  /** JetStream on (default), or off: how a server without JetStream is tried. */
  jetStream?: boolean;
  /** More command-line arguments for nats-server. */
  extraArgs?: string[];
  /** How long to wait for the server to listen (default 10 s). */
  startTimeoutMs?: number;
}

export interface NatsServerHandle {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** The server's own log file (stdout and stderr). */
  logFile: string;
  /** Stops the server; a temp folder it made is removed. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port with the same JetStream store. */
  restart(): Promise<NatsServerHandle>;
}

/** Thrown when no nats-server binary can be found; the message says how to install one. */
export class NatsServerMissingError extends Error {
  override name = 'NatsServerMissingError';
}

const INSTALL_HINT =
  process.platform === 'darwin'
    ? '"brew install nats-server"'
    : process.platform === 'win32'
      ? '"winget install nats-io.nats-server" (or "choco install nats-server")'
      : '"apt-get install nats-server" on Debian/Ubuntu (or the release binary of nats-io/nats-server on PATH)';

/** Finds the nats-server binary: the given path, then PATH, then where Debian installs it. */
export function findNatsServer(configured?: string): string {
  if (configured) {
    if (!fs.existsSync(configured)) {
      throw new NatsServerMissingError(`nats-server was not found at ${configured}: fix the path, or install it with ${INSTALL_HINT}`);
    }
    return configured;
  }
  const name = process.platform === 'win32' ? 'nats-server.exe' : 'nats-server';
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) {
      return candidate;
    }
  }
  throw new NatsServerMissingError(`nats-server is not installed: install it with ${INSTALL_HINT}, or attach to a NATS server you run`);
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every server this process started, synchronously: for process exit. */
export function killAllNatsServers(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

export function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  return start(options, options.dir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'nex-nats-')) : undefined);
}

/** Starts a server; `tempDir`, when given, is the server's folder and is removed on stop. */
async function start(options: NatsServerOptions, tempDir: string | undefined): Promise<NatsServerHandle> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killAllNatsServers);
  }
  const binary = findNatsServer(options.binary);
  const dir = tempDir ?? options.dir!;
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'server.log');
  const log = fs.openSync(logFile, 'a');
  const jetStreamArgs = options.jetStream === false ? [] : ['-js', '-sd', path.join(dir, 'js')];
  const args = ['-a', '127.0.0.1', '-p', String(options.port ?? -1), ...jetStreamArgs, '--ports_file_dir', dir, ...(options.extraArgs ?? [])];
  const child = spawn(binary, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined); // reported below as "did not start"
  const stopProcess = async () => {
    if (running.delete(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };
  const stop = async () => {
    await stopProcess();
    if (tempDir) {
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
  };
  try {
    const portsFile = path.join(dir, `nats-server_${child.pid}.ports`);
    const deadline = Date.now() + (options.startTimeoutMs ?? 10000);
    // The server creates the ports file and then writes it: read it until it parses.
    let ports: { nats: string[] } | undefined;
    while (!(ports = readPortsFile(portsFile))) {
      if (child.exitCode !== null || child.pid === undefined || Date.now() > deadline) {
        throw new Error(`nats-server did not start (${binary} ${args.join(' ')}): ${fs.readFileSync(logFile, 'utf8').trim() || 'no output'}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    fs.rmSync(portsFile, { force: true });
    const url = ports.nats[0];
    const port = Number(new URL(url).port);
    const handle: NatsServerHandle = {
      url,
      port,
      pid: child.pid!,
      dir,
      logFile,
      stop,
      restart: async () => {
        await stopProcess();
        return start({ ...options, binary, port }, tempDir);
      },
    };
    return handle;
  } catch (e) {
    await stop();
    throw e;
  }
}

function readPortsFile(file: string): { nats: string[] } | undefined {
  try {
    const ports = JSON.parse(fs.readFileSync(file, 'utf8')) as { nats?: string[] };
    return Array.isArray(ports.nats) && ports.nats.length > 0 ? { nats: ports.nats } : undefined;
  } catch {
    return undefined; // not there yet, or only partly written
  }
}
