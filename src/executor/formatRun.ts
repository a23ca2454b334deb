/** Turns a run result into the lines users read, identical in the editor and the CLI. */
import * as path from 'path';
import { plural, previewBytes } from '../core/bytes';
import { FunctionRunResult } from './functionRun';
import { LogLevel } from './types';

export interface RunReportLine {
  level: LogLevel;
  text: string;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Header, console lines, then the reply or the error. */
export function formatRunReport(r: FunctionRunResult): RunReportLine[] {
  const lines: RunReportLine[] = [];
  const file = path.basename(r.sourcePath);
  lines.push({ level: 'info', text: `▶ ${r.functionName} (${file}) triggered on "${r.subject}" with ${plural(r.payloadBytes, 'byte')}` });
  for (const log of r.outcome.logs) {
    lines.push({ level: log.level, text: `  console.${log.level === 'info' ? 'log' : log.level}: ${log.text}` });
  }
  const timing = `in ${formatMs(r.outcome.durationMs)} (${formatMs(r.wallMs)} with the worker round trip)`;
  const e = r.outcome.error;
  if (e) {
    const where = e.line !== undefined ? ` at ${file}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}` : '';
    lines.push({ level: 'error', text: `✖ ${describeKind(e.kind)}${where}: ${e.message}` });
    if (e.stack && e.kind === 'exception') {
      for (const frame of e.stack.split('\n')) {
        lines.push({ level: 'error', text: `    ${frame.trim()}` });
      }
    }
    lines.push({ level: 'info', text: `  a Nex node would send no reply for this trigger` });
  } else if (r.outcome.reply === null) {
    lines.push({ level: 'info', text: `✔ no reply (the function returned nothing) ${timing}` });
  } else {
    lines.push({ level: 'info', text: `✔ reply (${plural(r.outcome.reply.length, 'byte')}) ${timing}: ${previewBytes(r.outcome.reply)}` });
  }
  return lines;
}

function describeKind(kind: string): string {
  switch (kind) {
    case 'syntax':
      return 'syntax error';
    case 'notAFunction':
      return 'not a function';
    case 'exception':
      return 'the function threw';
    case 'timeout':
      return 'timed out';
    case 'memory':
      return 'out of memory';
    case 'invalidInput':
      return 'not run';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'crashed';
  }
}
