/**
 * Log lines on `$NEX.logs.…` (reference §2.1, §2.2): their subject layout and level numbers per
 * version, for both sides: the local node writes them, the client reads them.
 * - 0.3: `$NEX.logs.<ns>.<node>.<workloadId>`, slog levels everywhere.
 * - 0.2: agent-forwarded lines (workload output) `….<node>.<workloadId>.<name>` with the agent's
 *   own level enum; node-generated lines `….<node>.<name>.<workloadId>` (the tokens swapped, as
 *   0.2.7 does) with slog levels.
 */
import { API_PREFIX } from './controlApi';
import { NexProtocolVersion } from './controlTypes';

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** Who wrote a line: the workload's agent (its output) or the node itself. */
export type LogOrigin = 'agent' | 'node';

/** slog levels: 0.3 lines, and 0.2 node-generated lines. */
export const SLOG_LEVELS: Readonly<Record<LogLevelName, number>> = { debug: -4, info: 0, warn: 4, error: 8 };

/** The 0.2 agent's enum: panic 0, fatal 1, error 2, warn 3, info 4, debug 5, trace 6. */
export const AGENT_LEVELS: Readonly<Record<LogLevelName, number>> = { error: 2, warn: 3, info: 4, debug: 5 };

/** A log message body: the text, its level number, and the workload id. */
export interface LogBody {
  text: string;
  level: number;
  id: string;
}

/** One log message of a workload as a follower passes it on (one write of the agent, not always one line). */
export interface WorkloadLogLine {
  subject: string;
  nodeId: string;
  workloadId: string;
  level: LogLevelName;
  /** The level number as the node sent it (a Nex 0.4 line has none: slog's number for its level). */
  rawLevel: number;
  text: string;
  /** A Nex 0.4 line's stream: stdout lines are `info`, stderr ones `error`. */
  stream?: 'stdout' | 'stderr';
}

/** The subject a line is published on. */
export function logSubject(protocol: NexProtocolVersion, origin: LogOrigin, namespace: string, nodeId: string, workloadId: string, workloadName: string): string {
  if (protocol === '0.3') {
    return `${API_PREFIX}.logs.${namespace}.${nodeId}.${workloadId}`;
  }
  return origin === 'node' ? `${API_PREFIX}.logs.${namespace}.${nodeId}.${workloadName}.${workloadId}` : `${API_PREFIX}.logs.${namespace}.${nodeId}.${workloadId}.${workloadName}`;
}

/** The level number a line of `level` gets: only 0.2 agent lines use the agent's enum. */
export function logLevelNumber(protocol: NexProtocolVersion, origin: LogOrigin, level: LogLevelName): number {
  return protocol === '0.2' && origin === 'agent' ? AGENT_LEVELS[level] : SLOG_LEVELS[level];
}

/**
 * The level of a received line, by the layout of its subject: a 0.2 agent line (six tokens, the
 * workload id fifth) uses the agent's enum, everything else slog numbers.
 */
export function logLevelName(subject: string, level: number, workloadId: string): LogLevelName {
  const tokens = subject.split('.');
  if (tokens.length === 6 && tokens[4] === workloadId) {
    return level <= AGENT_LEVELS.error ? 'error' : level === AGENT_LEVELS.warn ? 'warn' : level === AGENT_LEVELS.info ? 'info' : 'debug';
  }
  return level < SLOG_LEVELS.info ? 'debug' : level < SLOG_LEVELS.warn ? 'info' : level < SLOG_LEVELS.error ? 'warn' : 'error';
}
