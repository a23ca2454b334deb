/** Typed access to the extension's settings. */
import { workspace as Workspace } from 'vscode';
import { RunLimits } from '../executor/types';

export function runLimitsFromSettings(): Partial<RunLimits> {
  const config = Workspace.getConfiguration('nex.run');
  return {
    timeoutMs: config.get<number>('timeoutMs', 5000),
    memoryLimitBytes: config.get<number>('memoryLimitMiB', 64) * 1048576,
  };
}
