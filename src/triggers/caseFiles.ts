/**
 * Writing trigger case files, in one place: cases are added to a file (created when missing) and the
 * cases it has keep their text and formatting. Recording a subject and Save as Trigger Case both
 * write through here, from the editor and from `nexfn record`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { applyEdits, findNodeAtLocation, getNodeValue, modify, parseTree } from 'jsonc-parser';
import { encodeValue } from '../core/valueCodec';

/** The file recorded and saved cases go to by default, in a function's triggers folder. */
export const RECORDED_FILE = 'recorded.json';

/** A case as a trigger file holds it. */
export type CaseJson = Record<string, unknown>;

/** A message seen on a recorded subject, and the reply to it when one was captured. */
export interface RecordedCaseMessage {
  subject: string;
  payload: Uint8Array;
  headers?: Record<string, string>;
  reply?: Uint8Array;
}

/** A run (by hand or on a node) as Save as Trigger Case takes it. */
export interface SavedRun {
  subject: string;
  payload?: Uint8Array;
  outcome: { reply: Uint8Array | null; error?: { message: string } };
}

const EMPTY_FILE = '{\n  "cases": []\n}\n';

/** The names of the cases in a trigger file's text; throws, naming the file, when the text is not a trigger file. */
function namesIn(file: string, text: string): Set<string> {
  const root = parseTree(text);
  const cases = root && root.type === 'object' ? findNodeAtLocation(root, ['cases']) : undefined;
  if (!cases || cases.type !== 'array') {
    throw new Error(`${file} is not a trigger case file ({"cases": [...]}): it was left as it is; record to another file`);
  }
  return new Set((cases.children ?? []).map((c) => (c.type === 'object' ? getNodeValue(c)?.name : undefined)).filter((n): n is string => typeof n === 'string'));
}

function readOrEmpty(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : EMPTY_FILE;
}

/** The names of the cases `file` has (none when it does not exist); throws, naming the file, when it is not a trigger case file. */
export function caseNames(file: string): Set<string> {
  return namesIn(file, readOrEmpty(file));
}

/** Throws, naming the file, when `file` exists and is not a trigger case file: check it before recording into it. */
export function checkCaseFile(file: string): void {
  caseNames(file);
}

/**
 * Adds cases to `file`, after its own: a new file is created (with its folder); an existing one
 * keeps its cases and formatting. `make` gets the names already taken (its cases' and those added
 * before) and gives the cases to add. The file is replaced at once, never left half written.
 */
export function addCases(file: string, make: (taken: Set<string>) => CaseJson[]): CaseJson[] {
  let text = readOrEmpty(file);
  const cases = make(namesIn(file, text));
  for (const c of cases) {
    text = applyEdits(text, modify(text, ['cases', -1], c, { isArrayInsertion: true, formattingOptions: { insertSpaces: true, tabSize: 2 } }));
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
  return cases;
}

/** The case a recorded message becomes: the reply, when captured, is what the case expects. */
function recordedCase(name: string, message: RecordedCaseMessage): CaseJson {
  return {
    name,
    subject: message.subject,
    payload: encodeValue(message.payload, { json: true }),
    ...(message.headers ? { headers: message.headers } : {}),
    ...(message.reply ? { expect: { reply: encodeValue(message.reply, { json: true }) } } : {}),
  };
}

/**
 * Adds recorded messages as cases `{name, subject, payload, headers?, expect?: {reply}}` to `file`,
 * named "<subject> #n" with the first n not yet taken. Returns the names added.
 */
export function writeRecordedCases(file: string, messages: readonly RecordedCaseMessage[]): string[] {
  const added = addCases(file, (taken) =>
    messages.map((message) => {
      let n = 1;
      while (taken.has(`${message.subject} #${n}`)) {
        n++;
      }
      const name = `${message.subject} #${n}`;
      taken.add(name);
      return recordedCase(name, message);
    }),
  );
  return added.map((c) => c.name as string);
}

/** The case a run becomes: its subject and payload, and what it ended with (the error, no reply, or the reply) as what the case expects. */
export function runCase(name: string, run: SavedRun): CaseJson {
  const o = run.outcome;
  const expect = o.error ? { error: o.error.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') } : o.reply === null ? { noReply: true } : { reply: encodeValue(o.reply, { json: true }) };
  return { name, subject: run.subject, payload: encodeValue(run.payload ?? new Uint8Array()), expect };
}
