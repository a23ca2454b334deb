/** nexfn nodes and nexfn which: what is deployed where, and what a subject triggers. */
import { Command } from 'commander';
import type { CliIo } from './nexfn';

/** Adds the commands to the program; `setExitCode` sets nexfn's exit code. */
export function registerNodesCommands(_program: Command, _io: CliIo, _setExitCode: (code: number) => void): void {
  // Filled in by the explorer work (issue 11).
}
