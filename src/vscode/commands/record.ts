/**
 * Nex: Record Trigger Cases from a Subject…: records the messages on a subject over the current
 * connection (the local node when nothing else is connected), with the replies they get, and adds
 * them as trigger cases to one of a function's trigger files (triggers/recorded.json by default).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Uri, window as Window } from 'vscode';
import { type ValidFunction } from '../../core/manifest';
import { triggerSubjectProblem } from '../../core/subject';
import { recordSubject, type Recording } from '../../deploy/recordSubject';
import { checkCaseFile, RECORDED_FILE, writeRecordedCases } from '../../triggers/caseFiles';
import { TRIGGERS_DIR } from '../../triggers/triggerCases';
import { currentConnection } from '../connections/currentConnection';
import type { NexExtension } from '../nexExtension';
import { FunctionNode } from '../views/functionsView';
import { pickFunction } from './functionPick';

/** Arguments for scripted use (tests, keybindings): what is given is not asked. */
export interface RecordArgs {
  /** The function whose trigger file receives the cases (its folder or a file in it). */
  function?: string;
  /** The subject to record; wildcards allowed. */
  subject?: string;
  /** Stop after this many messages. */
  count?: number;
  /** Stop after this many seconds. */
  seconds?: number;
  /** The trigger file, absolute or relative to the function's folder (default triggers/recorded.json). */
  file?: string;
}

export interface RecordResult {
  file: string;
  /** The names of the cases added. */
  added: string[];
  /** How many of them expect the reply they got. */
  withReply: number;
}

/** "10" (messages), "30s" (seconds), or both ("10 30s"); undefined when the text is neither. */
export function parseRecordAmount(text: string): { count?: number; seconds?: number } | undefined {
  const tokens = text
    .trim()
    .split(/[\s,]+|\bor\b/)
    .filter(Boolean);
  if (tokens.length === 0 || tokens.length > 2) {
    return undefined;
  }
  const amount: { count?: number; seconds?: number } = {};
  for (const token of tokens) {
    const seconds = /^(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)$/i.exec(token);
    if (seconds && Number(seconds[1]) > 0 && amount.seconds === undefined) {
      amount.seconds = Number(seconds[1]);
    } else if (/^\d+$/.test(token) && Number(token) > 0 && amount.count === undefined) {
      amount.count = Number(token);
    } else {
      return undefined;
    }
  }
  return amount;
}

/** How the end of the recording reads: "10 messages or 30 s". */
function describeEnd(count: number | undefined, seconds: number | undefined): string {
  return [count && `${count} message${count === 1 ? '' : 's'}`, seconds && `${seconds} s`].filter(Boolean).join(' or ');
}

/** Asks which of the function's trigger files gets the cases: recorded.json first, then the others, or a new one. */
async function pickCaseFile(ext: NexExtension, fn: ValidFunction, title: string): Promise<string | undefined> {
  const dir = path.join(fn.dir, TRIGGERS_DIR);
  const existing = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
  const names = [RECORDED_FILE, ...existing.filter((f) => f !== RECORDED_FILE)];
  const NEW = '\0new';
  const choice = await ext.ui.pick(
    [
      ...names.map((name) => ({ label: `${TRIGGERS_DIR}/${name}`, description: existing.includes(name) ? 'add to it' : 'new file', value: name })),
      { label: 'Another new file…', description: `in ${TRIGGERS_DIR}/`, value: NEW },
    ],
    { title },
  );
  if (choice === undefined) {
    return undefined;
  }
  if (choice !== NEW) {
    return path.join(dir, choice);
  }
  const name = await ext.ui.input({
    title,
    prompt: `A file name in ${TRIGGERS_DIR}/ (.json)`,
    value: 'recorded-2.json',
    validate: (v) => (!/^[^/\\]+\.json$/.test(v.trim()) ? 'a file name ending in .json, without folders' : names.includes(v.trim()) ? `${v.trim()} exists: pick it from the list to add to it` : undefined),
  });
  return name === undefined ? undefined : path.join(dir, name.trim());
}

export async function recordTriggerCasesCommand(ext: NexExtension, arg?: FunctionNode | RecordArgs): Promise<RecordResult | undefined> {
  const scripted: RecordArgs = arg && !(arg instanceof FunctionNode) ? arg : {};
  const fn = await pickFunction(ext, arg instanceof FunctionNode ? arg : scripted.function ? { function: scripted.function } : undefined, 'Record trigger cases for which function?');
  if (!fn) {
    return undefined;
  }
  const name = fn.manifest.name;
  const subject =
    scripted.subject ??
    (await ext.ui.input({
      title: `Record trigger cases for ${name} (1/3): subject`,
      prompt: 'The subject to record (wildcards allowed): its messages become cases, with the replies they get',
      value: fn.manifest.triggers?.[0] ?? `${name}.>`,
      validate: triggerSubjectProblem,
    }));
  if (subject === undefined) {
    return undefined;
  }
  const problem = triggerSubjectProblem(subject);
  if (problem) {
    throw new Error(`subject "${subject}": ${problem}`);
  }
  let { count, seconds } = scripted;
  if (count === undefined && seconds === undefined) {
    const answer = await ext.ui.input({
      title: `Record trigger cases for ${name} (2/3): how long`,
      prompt: 'A number of messages (10), of seconds (30s), or both (10 30s): the recording ends at whichever comes first',
      value: '10',
      validate: (v) => (parseRecordAmount(v) ? undefined : 'a number of messages (e.g. 10), of seconds (e.g. 30s), or both (e.g. 10 30s)'),
    });
    const amount = answer === undefined ? undefined : parseRecordAmount(answer);
    if (!amount) {
      return undefined;
    }
    ({ count, seconds } = amount);
  }
  const file = scripted.file !== undefined ? path.resolve(fn.dir, scripted.file) : await pickCaseFile(ext, fn, `Record trigger cases for ${name} (3/3): into which file`);
  if (file === undefined) {
    return undefined;
  }
  checkCaseFile(file); // refused before recording anything, naming the file
  const conn = await currentConnection(ext.connections);
  const ends = describeEnd(count, seconds);
  const recording: Recording = await ext.ui.progress(`Recording ${subject} on ${conn.label}`, (report, signal) => {
    let seen = 0;
    const cancelled = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    return recordSubject(conn.nc, subject, {
      count,
      seconds,
      until: cancelled,
      onReady: () => {
        report(`until ${ends} (cancel to end it now)…`);
        ext.reporter.output('info', `● recording ${subject} on ${conn.label} until ${ends}`);
      },
      onMessage: (m) => {
        seen++;
        report(`${seen} message${seen === 1 ? '' : 's'} so far, until ${ends}…`);
        ext.reporter.output('info', `  ${m.subject}: ${m.payload.length} bytes${m.replySubject ? ' (a request)' : ''}`);
      },
    });
  });
  if (recording.replyCaptureProblem) {
    ext.reporter.output('warn', `  replies were not recorded: ${recording.replyCaptureProblem}`);
  }
  const relative = path.relative(fn.dir, file);
  if (recording.messages.length === 0) {
    ext.reporter.output('info', `no message on ${subject}: ${relative} was left as it is`);
    void ext.ui.info(`No message came on ${subject}: ${relative} of ${name} was left as it is.`);
    return { file, added: [], withReply: 0 };
  }
  const added = writeRecordedCases(file, recording.messages);
  const withReply = recording.messages.filter((m) => m.reply).length;
  ext.reporter.output('info', `✔ added ${added.length} trigger case${added.length === 1 ? '' : 's'} to ${name}/${relative} (${withReply} with the reply they got): ${added.join(', ')}`);
  await Window.showTextDocument(Uri.file(file), { preview: false });
  void ext.ui.info(`Added ${added.length} trigger case${added.length === 1 ? '' : 's'} to ${relative} (${withReply} with the reply they got).`);
  return { file, added, withReply };
}
