/**
 * Starts a real nats-server (Debian package) with JetStream on 127.0.0.1 and a free port, in its
 * own temp dir, for one test suite. Servers are killed by stop(), and also when the test process
 * exits or is interrupted, so none outlives the tests.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface NatsServerHandle {
  url: string;
  port: number;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let hooksInstalled = false;

function killAll(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function installHooks(): void {
  if (hooksInstalled) {
    return;
  }
  hooksInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

export function natsServerBinary(): string {
  const candidates = [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server'].filter(Boolean) as string[];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) {
    throw new Error('nats-server is not installed: run `apt-get install -y nats-server` (scripts/setup-machine.sh does)');
  }
  return found;
}

export async function startNatsServer(extraArgs: string[] = []): Promise<NatsServerHandle> {
  installHooks();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-nats-'));
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const child = spawn(natsServerBinary(), ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', path.join(dir, 'js'), '--ports_file_dir', dir, ...extraArgs], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (running.delete(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const portsFile = path.join(dir, `nats-server_${child.pid}.ports`);
    const deadline = Date.now() + 10000;
    while (!fs.existsSync(portsFile)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`nats-server did not start: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const ports = JSON.parse(fs.readFileSync(portsFile, 'utf8')) as { nats: string[] };
    const url = ports.nats[0];
    return { url, port: Number(new URL(url).port), pid: child.pid!, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
