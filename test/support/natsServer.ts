/**
 * A real nats-server (Debian package) with JetStream on 127.0.0.1 and a free port, for one test
 * suite: the product's own starter (src/nats/natsServerProcess.ts), plus hooks that kill the
 * servers when the test process is interrupted, so none outlives the tests.
 */
import { killAllNatsServers, NatsServerHandle, NatsServerOptions, startNatsServer as start } from '../../src/nats/natsServerProcess';

export type { NatsServerHandle };

let hooksInstalled = false;

export function startNatsServer(extraArgs: string[] = [], options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  if (!hooksInstalled) {
    hooksInstalled = true;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        killAllNatsServers();
        process.kill(process.pid, signal);
      });
    }
  }
  return start({ ...options, extraArgs });
}
