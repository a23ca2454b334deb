/**
 * Trigger cases: saved triggers in a function's triggers/*.json, with optional expectations.
 * One file holds one or more cases. Parsing never throws: problems name file, line and field.
 */
import { EncodedValue, isEncodedValue } from '../core/valueCodec';
import * as fs from 'fs';
import * as path from 'path';
import { findNodeAtLocation, getNodeValue, Node as JsonNode, ParseError, parseTree } from 'jsonc-parser';
import { FunctionDefinition } from '../core/manifest';
import { FileProblem, jsonErrorText, lineAndColumn } from '../core/problems';
import { concreteSubjectProblem, subjectMatches } from '../core/subject';
import { MockFixture } from '../hostservices/mockBackend';
import { mockFixtureProblems } from '../hostservices/mockFixtureFile';

export const TRIGGERS_DIR = 'triggers';

/** A payload or an expected reply: text, {"json": ...}, {"base64": "..."}, or {"file": "path"} (payload only). */
export type BytesSpec = EncodedValue;
export type ReplySpec = string | { json: unknown } | { base64: string } | { regex: string };

export interface HostCallExpectation {
  service: string;
  method: string;
  subject?: string;
  key?: string;
}

export interface CaseExpectation {
  reply?: ReplySpec;
  noReply?: boolean;
  /** A regular expression the error message must match. */
  error?: string;
  /** Regular expressions, each matching some log line. */
  logs?: string[];
  hostCalls?: HostCallExpectation[];
  /** KV state after the run (the function's own bucket): key → expected value. */
  kv?: Record<string, string | { json: unknown } | { base64: string } | null>;
  /** A soft limit: exceeding it warns, it does not fail. */
  maxMs?: number;
}

export interface TriggerCase {
  name: string;
  subject: string;
  payload: BytesSpec;
  headers?: Record<string, string>;
  mocks?: MockFixture;
  expect?: CaseExpectation;
  /** Where the case is: for CodeLens, Test Explorer and diagnostics. */
  file: string;
  line: number;
  index: number;
}

export interface TriggerFile {
  file: string;
  cases: TriggerCase[];
  problems: FileProblem[];
}

const CASE_FIELDS = new Set(['name', 'subject', 'payload', 'headers', 'mocks', 'expect', 'description']);
const EXPECT_FIELDS = new Set(['reply', 'noReply', 'error', 'logs', 'hostCalls', 'kv', 'maxMs']);

export function parseTriggerFile(file: string, text: string, def?: FunctionDefinition): TriggerFile {
  const problems: FileProblem[] = [];
  const at = (node: JsonNode | undefined, message: string, field?: string): FileProblem => ({ file, ...lineAndColumn(text, node?.offset ?? 0), field, message });
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0 || !root) {
    for (const e of errors) {
      problems.push({ file, ...lineAndColumn(text, e.offset), message: jsonErrorText(e.error) });
    }
    if (problems.length === 0) {
      problems.push({ file, line: 1, message: 'the file is empty; expected {"cases": [{"name": "...", "subject": "...", "payload": "..."}]}' });
    }
    return { file, cases: [], problems };
  }
  const casesNode = root.type === 'object' ? findNodeAtLocation(root, ['cases']) : undefined;
  if (!casesNode || casesNode.type !== 'array') {
    problems.push(at(casesNode ?? root, 'a trigger file is an object with a "cases" list: {"cases": [{"name": "...", "subject": "...", "payload": "..."}]}', 'cases'));
    return { file, cases: [], problems };
  }
  const cases: TriggerCase[] = [];
  const names = new Set<string>();
  for (const [index, node] of (casesNode.children ?? []).entries()) {
    const field = (f: string) => `cases[${index}].${f}`;
    if (node.type !== 'object') {
      problems.push(at(node, 'a case is an object with "name", "subject" and "payload"', `cases[${index}]`));
      continue;
    }
    const get = (key: string) => findNodeAtLocation(node, [key]);
    const before = problems.length;
    for (const prop of node.children ?? []) {
      const key = String(prop.children?.[0]?.value);
      if (!CASE_FIELDS.has(key)) {
        problems.push(at(prop, `unknown field "${key}": a case has ${[...CASE_FIELDS].filter((f) => f !== 'description').join(', ')}`, field(key)));
      }
    }
    const nameNode = get('name');
    const name = nameNode?.type === 'string' ? (nameNode.value as string) : undefined;
    if (!name || name.trim() === '') {
      problems.push(at(nameNode ?? node, 'every case needs a "name" (text), e.g. "replies with the order id"', field('name')));
    } else if (names.has(name)) {
      problems.push(at(nameNode, `another case in this file is named "${name}": names identify cases in the Test Explorer`, field('name')));
    }
    const subjectNode = get('subject');
    const subject = subjectNode?.type === 'string' ? (subjectNode.value as string) : undefined;
    if (subject === undefined) {
      problems.push(at(subjectNode ?? node, 'every case needs a "subject": the concrete subject of the trigger', field('subject')));
    } else {
      const problem = concreteSubjectProblem(subject);
      if (problem) {
        problems.push(at(subjectNode, `"${subject}": ${problem}`, field('subject')));
      } else if (def?.manifest?.triggers && !def.manifest.triggers.some((t) => subjectMatches(t, subject))) {
        problems.push(at(subjectNode, `"${subject}" matches none of the function's triggers (${def.manifest.triggers.join(', ')}): a node would never run the function for it`, field('subject')));
      }
    }
    const payloadNode = get('payload');
    const payload = payloadNode ? (plainValue(payloadNode) as BytesSpec) : '';
    if (payloadNode && !isEncodedValue(payload, true)) {
      problems.push(at(payloadNode, 'a payload is text, {"json": ...}, {"base64": "..."} or {"file": "relative/path"}', field('payload')));
    } else if (payloadNode && typeof payload === 'object' && 'file' in payload && !fs.existsSync(path.resolve(path.dirname(file), payload.file))) {
      problems.push(at(payloadNode, `the payload file "${payload.file}" does not exist (paths are relative to ${path.dirname(file)})`, field('payload')));
    }
    const headersNode = get('headers');
    if (headersNode && (headersNode.type !== 'object' || (headersNode.children ?? []).some((p) => p.children?.[1]?.type !== 'string'))) {
      problems.push(at(headersNode, 'headers are an object of names to text values', field('headers')));
    }
    const mocksNode = get('mocks');
    if (mocksNode && mocksNode.type !== 'object') {
      problems.push(at(mocksNode, 'mocks are an object in the format of the mocks file, e.g. {"kv": {"count": "1"}}', field('mocks')));
    } else if (mocksNode) {
      problems.push(...mockFixtureProblems(mocksNode, text, file, field('mocks')));
    }
    const expectNode = get('expect');
    if (expectNode) {
      checkExpectation(expectNode, field('expect'), at, problems);
    }
    if (problems.length === before && name && subject !== undefined) {
      names.add(name);
      cases.push({
        name,
        subject,
        payload,
        headers: headersNode ? (plainValue(headersNode) as Record<string, string>) : undefined,
        mocks: mocksNode ? (plainValue(mocksNode) as MockFixture) : undefined,
        expect: expectNode ? (plainValue(expectNode) as CaseExpectation) : undefined,
        file,
        line: lineAndColumn(text, node.offset).line,
        index,
      });
    }
  }
  return { file, cases, problems };
}

function checkExpectation(node: JsonNode, field: string, at: (n: JsonNode | undefined, m: string, f?: string) => FileProblem, problems: FileProblem[]): void {
  if (node.type !== 'object') {
    problems.push(at(node, 'expect is an object, e.g. {"reply": "hello"}', field));
    return;
  }
  for (const prop of node.children ?? []) {
    const key = String(prop.children?.[0]?.value);
    const value = prop.children?.[1];
    const f = `${field}.${key}`;
    if (!EXPECT_FIELDS.has(key)) {
      problems.push(at(prop, `unknown expectation "${key}": use ${[...EXPECT_FIELDS].join(', ')}`, f));
      continue;
    }
    const v = value ? plainValue(value) : undefined;
    switch (key) {
      case 'reply': {
        const isRegex = v && typeof v === 'object' && Object.keys(v).length === 1 && typeof (v as { regex?: unknown }).regex === 'string';
        if (!isEncodedValue(v, false) && !isRegex) {
          problems.push(at(value, 'an expected reply is text, {"json": ...}, {"base64": "..."} or {"regex": "..."}', f));
        } else if (isRegex) {
          regexProblem((v as { regex: string }).regex, value, f, at, problems);
        }
        break;
      }
      case 'noReply':
        if (typeof v !== 'boolean') {
          problems.push(at(value, 'noReply is true or false', f));
        }
        break;
      case 'error':
        if (typeof v !== 'string') {
          problems.push(at(value, 'error is a regular expression the error message must match, e.g. "not found"', f));
        } else {
          regexProblem(v, value, f, at, problems);
        }
        break;
      case 'logs':
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
          problems.push(at(value, 'logs is a list of regular expressions, each matching some log line', f));
        } else {
          v.forEach((x: string) => regexProblem(x, value, f, at, problems));
        }
        break;
      case 'hostCalls':
        if (!Array.isArray(v) || v.some((x) => !x || typeof x !== 'object' || typeof x.service !== 'string' || typeof x.method !== 'string')) {
          problems.push(at(value, 'hostCalls is a list of calls such as {"service": "messaging", "method": "publish", "subject": "orders.done"}', f));
        }
        break;
      case 'kv':
        if (!v || typeof v !== 'object' || Array.isArray(v)) {
          problems.push(at(value, 'kv maps keys to the values expected after the run (null: the key must not exist)', f));
        }
        break;
      case 'maxMs':
        if (typeof v !== 'number' || v <= 0) {
          problems.push(at(value, 'maxMs is a positive number of milliseconds', f));
        }
        break;
    }
  }
}

function regexProblem(pattern: string, node: JsonNode | undefined, field: string, at: (n: JsonNode | undefined, m: string, f?: string) => FileProblem, problems: FileProblem[]): void {
  try {
    new RegExp(pattern);
  } catch (e) {
    problems.push(at(node, `not a valid regular expression: ${(e as Error).message}`, field));
  }
}

/** All trigger files of a function (triggers/*.json), parsed. */
export function loadTriggerFiles(def: FunctionDefinition): TriggerFile[] {
  const dir = path.join(def.dir, TRIGGERS_DIR);
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      return parseTriggerFile(file, fs.readFileSync(file, 'utf8'), def);
    });
}

/** A node's value as plain JSON (jsonc-parser builds objects without a prototype). */
function plainValue(node: JsonNode): unknown {
  return JSON.parse(JSON.stringify(getNodeValue(node)));
}

/**
 * Whether saving this file changes what the function does: its source, manifest, mocks or a trigger
 * file; for a WebAssembly function, any of its sources (the build runs first) but the artifact.
 */
export function affectsFunction(def: FunctionDefinition, file: string): boolean {
  if (file === def.manifestPath || file === def.sourcePath) {
    return true;
  }
  if (def.manifest?.mocks && file === path.join(def.dir, def.manifest.mocks)) {
    return true;
  }
  if (path.dirname(file) === path.join(def.dir, TRIGGERS_DIR) && file.endsWith('.json')) {
    return true;
  }
  return def.manifest?.type === 'wasm' && file !== def.artifactPath && !file.endsWith('.md') && file.startsWith(def.dir + path.sep);
}

/** A case's id in the Test Explorer and in commands: its file and name. */
export function caseId(tc: Pick<TriggerCase, 'file' | 'name'>): string {
  return `${tc.file}#${tc.name}`;
}
