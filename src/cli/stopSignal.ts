/** How a long-running nexfn command (node, logs, events) learns that it should end. */
import type { CliIo } from './cliIo';

/** When a long-running command should end, and how to stop listening for it. */
export interface StopSignal {
  stopped: Promise<unknown>;
  /** Removes the signal handlers (a command that ended by itself must not keep Ctrl-C from working). */
  release(): void;
}

/** `io.untilStopped` (tests), else Ctrl-C or SIGTERM. */
export function stopSignal(io: Pick<CliIo, 'untilStopped'>): StopSignal {
  if (io.untilStopped) {
    return { stopped: io.untilStopped, release: () => undefined };
  }
  let release = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    const done = () => {
      release();
      resolve();
    };
    release = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  return { stopped, release };
}
