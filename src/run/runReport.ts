/** Turns a run result into the lines users read, identical in the editor and the CLI. */
import * as path from 'path';
import { plural, tryDecodeUtf8 } from '../core/bytes';
import { describeProfile } from '../core/compat';
import { FunctionRunResult } from './functionRun';
import { hintSeverity } from '../executor/fidelity';
import { LogLevel } from '../executor/types';

export interface RunReportLine {
  level: LogLevel;
  text: string;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

const MAX_REPLY_CHARS = 4000;

/** A reply as people read it: JSON pretty-printed, text as text, binary as hex. */
export function renderReply(reply: Uint8Array): string[] {
  const text = tryDecodeUtf8(reply);
  if (text === undefined) {
    const shown = reply.subarray(0, 256);
    const rows: string[] = [];
    for (let i = 0; i < shown.length; i += 16) {
      rows.push(`${i.toString(16).padStart(4, '0')}  ${Buffer.from(shown.subarray(i, i + 16)).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`);
    }
    if (reply.length > shown.length) {
      rows.push(`… ${reply.length - shown.length} more bytes`);
    }
    return rows;
  }
  let shown = text;
  if (/^\s*[[{]/.test(text)) {
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON after all: show as text
    }
  }
  if (shown.length > MAX_REPLY_CHARS) {
    shown = `${shown.slice(0, MAX_REPLY_CHARS)}… (${plural(reply.length, 'byte')} in all)`;
  }
  return shown.split('\n');
}

/** Header, console lines, host-service calls, fidelity hints, then the reply or the error. */
export function formatRunReport(r: FunctionRunResult): RunReportLine[] {
  const lines: RunReportLine[] = [];
  const file = path.basename(r.entryPath);
  const o = r.outcome;
  lines.push({ level: 'info', text: `▶ ${r.functionName} (${file}) triggered on "${r.subject}" with ${plural(r.payloadBytes, 'byte')}, profile ${o.profile} (${describeProfile(o.profile)})` });
  for (const log of o.logs) {
    const origin = log.stream === 'stderr' ? 'stderr' : `console.${log.level === 'info' ? 'log' : log.level}`;
    lines.push({ level: log.level, text: `  ${origin}: ${log.text}` });
  }
  for (const call of o.hostCalls) {
    const args = Object.entries(call.args)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    lines.push({
      level: call.ok ? 'info' : 'warn',
      text: `  host ${call.service}.${call.method}(${args}) ${call.ok ? '→' : '✖'} ${call.result} [${formatMs(call.durationMs)}${call.line ? `, ${file}:${call.line}` : ''}]`,
    });
  }
  for (const w of o.warnings) {
    const info = hintSeverity(w.code, o.profile) === 'info';
    lines.push({ level: info ? 'info' : 'warn', text: `  ${info ? 'ℹ' : '⚠'} ${w.line ? `${file}:${w.line}: ` : ''}${w.message}` });
  }
  const timing = `in ${formatMs(o.durationMs)} (${formatMs(r.wallMs)} with the worker round trip)`;
  const e = o.error;
  if (e) {
    const where = e.line !== undefined ? ` at ${file}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}` : '';
    lines.push({ level: 'error', text: `✖ ${describeKind(e.kind)}${where}: ${e.message}` });
    if (e.stack && (e.kind === 'exception' || e.kind === 'trap')) {
      for (const frame of e.stack.split('\n')) {
        lines.push({ level: 'error', text: `    ${frame.trim()}` });
      }
    }
    lines.push({ level: 'info', text: `  a Nex node would send no reply for this trigger` });
  } else if (o.reply === null) {
    lines.push({ level: 'info', text: `✔ no reply (the function returned nothing) ${timing}` });
  } else {
    const rendered = renderReply(o.reply);
    if (rendered.length === 1) {
      lines.push({ level: 'info', text: `✔ reply (${plural(o.reply.length, 'byte')}) ${timing}: ${rendered[0]}` });
    } else {
      lines.push({ level: 'info', text: `✔ reply (${plural(o.reply.length, 'byte')}) ${timing}:` });
      for (const row of rendered) {
        lines.push({ level: 'info', text: `  ${row}` });
      }
    }
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
    case 'trap':
      return 'trapped';
    case 'exitCode':
      return 'failed';
    case 'invalidModule':
      return 'not runnable';
    default:
      return 'crashed';
  }
}
