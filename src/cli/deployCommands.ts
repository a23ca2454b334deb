/** nexfn deploy, stop, trigger, logs, events and record: deployed functions on Nex nodes. */
import { Command } from 'commander';
import type { CliIo } from './nexfn';

/** Adds the commands to the program; `setExitCode` sets nexfn's exit code. */
export function registerDeployCommands(_program: Command, _io: CliIo, _setExitCode: (code: number) => void): void {
  // Filled in by the deploy work (issue 12).
}
