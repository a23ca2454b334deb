/** Where a nexfn command writes, and how a long-running one learns to stop: the process, or a test. */
export interface CliIo {
  stdout: (chunk: string | Uint8Array) => void;
  stderr: (text: string) => void;
  /** For long-running commands (nexfn node): resolves when they should stop; default Ctrl-C. */
  untilStopped?: Promise<unknown>;
}
