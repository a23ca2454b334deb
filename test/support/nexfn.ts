/** nexfn run in the test's own process (main() from src/cli/nexfn.ts), with what it wrote captured. */
import { main } from '../../src/cli/nexfn';

export interface NexfnOutput {
  stdout: string;
  stderr: string;
  /** The exit code, once the command ended. */
  code: number | undefined;
}

/** Starts nexfn with `argv`; `stop` ends a long-running command as Ctrl-C would. */
export function startNexfn(argv: string[]): { out: NexfnOutput; done: Promise<number>; stop: () => void } {
  const out: NexfnOutput = { stdout: '', stderr: '', code: undefined };
  let stop!: () => void;
  const untilStopped = new Promise<void>((resolve) => (stop = resolve));
  const done = main(argv, {
    stdout: (c) => (out.stdout += typeof c === 'string' ? c : new TextDecoder().decode(c)),
    stderr: (t) => (out.stderr += t),
    untilStopped,
  }).then((code) => (out.code = code));
  return { out, done, stop };
}

/** Runs nexfn with `argv` to its end; its exit code and what it wrote. */
export async function runNexfn(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { out, done } = startNexfn(argv);
  const code = await done;
  return { code, stdout: out.stdout, stderr: out.stderr };
}
