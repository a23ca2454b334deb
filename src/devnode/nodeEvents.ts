/**
 * What a node publishes about itself and its workloads (reference §2): CloudEvents on
 * `$NEX.events.<namespace>.<type>` (src/nex/events.ts) and log lines on `$NEX.logs.…`
 * (src/nex/logs.ts), with the layout and level numbers of the emulated version.
 */
import { LogLevelName, logLevelNumber, LogOrigin } from '../nex/logs';
import { EmulatedVersion, protocolOf } from './nodeConfig';

/** The events themselves (types, subjects, the CloudEvent envelope) are src/nex/events.ts's, shared with the client. */
export { type CloudEvent, cloudEvent, eventSubject, type NodeEventType, SYSTEM_NAMESPACE } from '../nex/events';

/** What wrote a line: the workload's output (stdout, stderr, the agent's own info lines) or the node. */
export type LogSource = 'workloadStdout' | 'workloadStderr' | 'workloadInfo' | 'node';

/** Where a line of `source` goes and its level number, in the emulated version's layout (src/nex/logs.ts). */
export function logLine(version: EmulatedVersion, source: LogSource, nodeLevel: LogLevelName = 'info'): { origin: LogOrigin; level: number } {
  const origin: LogOrigin = source === 'node' ? 'node' : 'agent';
  const level: LogLevelName = source === 'node' ? nodeLevel : source === 'workloadStderr' ? 'error' : 'info';
  return { origin, level: logLevelNumber(protocolOf(version), origin, level) };
}
