/**
 * Reads a function's host-service fixture ("mocks" file, and the `mocks` of a trigger case) with
 * problems that name the file, line and field: the one checker of the mocks format.
 */
import * as fs from 'fs';
import { Node as JsonNode, ParseError, getNodeValue, parseTree } from 'jsonc-parser';
import { defaultBucket } from '../core/compat';
import { FileProblem, jsonErrorText, lineAndColumn, ProblemError } from '../core/problems';
import { isEncodedValue } from '../core/valueCodec';
import { MockFixture, MockHostServices } from './mockBackend';
import { kvKeyProblem } from './types';

/** The fields of a mocks file, with what each holds (for messages). */
const FIXTURE_FIELDS: Record<string, string> = {
  kv: 'the function\'s KV bucket: {"key": value}',
  kvBuckets: 'named KV buckets: {"bucket": {"key": value}}',
  objects: 'the function\'s object store: {"name": value}',
  objectStores: 'named object stores: {"store": {"name": value}}',
  requestReplies: 'canned replies for requests: [{"subject": "prices.*", "reply": value}]',
  http: 'HTTP mocks: {"allowReal": false, "routes": [{"method": "GET", "url": "https://…", "body": value}]}',
};
const VALUE_SHAPE = 'a value is text, {"json": ...} or {"base64": "..."}';
const ROUTE_FIELDS = new Set(['method', 'url', 'status', 'headers', 'body']);

/**
 * The problems of a mocks object, each at its node. `prefix` names where the object sits (e.g.
 * "cases[0].mocks" in a trigger file), so fields read as in the file.
 */
export function mockFixtureProblems(root: JsonNode, text: string, file: string, prefix = ''): FileProblem[] {
  const problems: FileProblem[] = [];
  const field = (f: string) => (prefix ? `${prefix}.${f}` : f);
  const at = (node: JsonNode, f: string, message: string): void => {
    problems.push({ file, ...lineAndColumn(text, node.offset), field: field(f), message });
  };
  const props = (node: JsonNode) => (node.children ?? []).map((p) => ({ key: String(p.children?.[0]?.value), keyNode: p.children![0], value: p.children?.[1] }));
  const values = (node: JsonNode, f: string, checkKey?: (key: string) => string | undefined) => {
    if (node.type !== 'object') {
      return at(node, f, `must be an object of names to values, found ${node.type}`);
    }
    for (const { key, keyNode, value } of props(node)) {
      const keyProblem = checkKey?.(key);
      if (keyProblem) {
        at(keyNode, `${f}.${key}`, keyProblem);
      } else if (value && !isEncodedValue(getNodeValue(value), false)) {
        at(value, `${f}.${key}`, VALUE_SHAPE);
      }
    }
  };
  const named = (node: JsonNode, f: string, checkKey?: (key: string) => string | undefined) => {
    if (node.type !== 'object') {
      return at(node, f, `must be an object of names to objects, found ${node.type}`);
    }
    for (const { key, value } of props(node)) {
      if (value) {
        values(value, `${f}.${key}`, checkKey);
      }
    }
  };
  if (root.type !== 'object') {
    at(root, prefix || 'mocks', `a mocks file is a JSON object, e.g. {"kv": {"greeting": "hello"}}; found ${root.type}`);
    return problems;
  }
  for (const { key, keyNode, value } of props(root)) {
    if (key === '$schema' || !value) {
      continue;
    }
    switch (key) {
      case 'kv':
        values(value, key, kvKeyProblem);
        break;
      case 'objects':
        values(value, key);
        break;
      case 'kvBuckets':
        named(value, key, kvKeyProblem);
        break;
      case 'objectStores':
        named(value, key);
        break;
      case 'requestReplies':
        if (value.type !== 'array') {
          at(value, key, `must be a list: ${FIXTURE_FIELDS.requestReplies}`);
          break;
        }
        for (const [i, item] of (value.children ?? []).entries()) {
          const subject = item.type === 'object' ? props(item).find((p) => p.key === 'subject')?.value : undefined;
          const reply = item.type === 'object' ? props(item).find((p) => p.key === 'reply')?.value : undefined;
          if (!subject || subject.type !== 'string') {
            at(subject ?? item, `${key}[${i}].subject`, 'needs "subject": a subject pattern such as "prices.*"');
          }
          if (reply && !isEncodedValue(getNodeValue(reply), false)) {
            at(reply, `${key}[${i}].reply`, VALUE_SHAPE);
          }
        }
        break;
      case 'http': {
        if (value.type !== 'object') {
          at(value, key, `must be an object: ${FIXTURE_FIELDS.http}`);
          break;
        }
        for (const p of props(value)) {
          if (p.key === 'allowReal' && p.value?.type !== 'boolean') {
            at(p.value ?? p.keyNode, 'http.allowReal', 'must be true or false');
          } else if (p.key === 'routes') {
            if (p.value?.type !== 'array') {
              at(p.value ?? p.keyNode, 'http.routes', 'must be a list of routes: [{"method": "GET", "url": "https://api.example.com/*", "body": value}]');
              continue;
            }
            for (const [i, route] of (p.value.children ?? []).entries()) {
              const f = `http.routes[${i}]`;
              const fields = route.type === 'object' ? props(route) : [];
              const method = fields.find((r) => r.key === 'method')?.value;
              const url = fields.find((r) => r.key === 'url')?.value;
              if (method?.type !== 'string' || url?.type !== 'string') {
                at(route, f, 'needs "method" (e.g. "GET" or "*") and "url" (e.g. "https://api.example.com/*")');
              }
              for (const r of fields) {
                if (!ROUTE_FIELDS.has(r.key)) {
                  at(r.keyNode, `${f}.${r.key}`, `unknown field "${r.key}": a route has ${[...ROUTE_FIELDS].join(', ')}`);
                } else if (r.key === 'status' && (r.value?.type !== 'number' || !Number.isInteger(r.value.value))) {
                  at(r.value ?? r.keyNode, `${f}.status`, 'must be an HTTP status code such as 200');
                } else if (r.key === 'body' && r.value && !isEncodedValue(getNodeValue(r.value), false)) {
                  at(r.value, `${f}.body`, VALUE_SHAPE);
                }
              }
            }
          } else if (p.key !== 'allowReal') {
            at(p.keyNode, `http.${p.key}`, 'unknown field: http has "allowReal" and "routes"');
          }
        }
        break;
      }
      default:
        at(keyNode, key, `unknown field "${key}": a mocks file has ${Object.keys(FIXTURE_FIELDS).join(', ')}`);
    }
  }
  return problems;
}

/** The problems of a mocks file's text: its JSON, then its format. */
export function checkMockFixtureText(file: string, text: string): { fixture?: MockFixture; problems: FileProblem[] } {
  if (text.trim() === '') {
    return { problems: [{ file, line: 1, message: 'the mocks file is empty: write a JSON object, e.g. {"kv": {"greeting": "hello"}}' }] };
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0 || !root) {
    return { problems: errors.map((e) => ({ file, ...lineAndColumn(text, e.offset), message: jsonErrorText(e.error) })) };
  }
  const problems = mockFixtureProblems(root, text, file);
  return problems.length > 0 ? { problems } : { fixture: getNodeValue(root) as MockFixture, problems };
}

/** Reads and checks a mocks file. Throws ProblemError, with every problem at its line. */
export function readMockFixture(file: string): MockFixture {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProblemError([{ file, message: `cannot read the mocks file: ${(e as Error).message}` }]);
  }
  const { fixture, problems } = checkMockFixtureText(file, text);
  if (!fixture) {
    throw new ProblemError(problems);
  }
  return fixture;
}

/** A mock backend for one function, seeded from its mocks file when it has one. */
export function mockHostServicesFor(namespace: string, workload: string, mocksFile?: string): MockHostServices {
  const mock = new MockHostServices(defaultBucket(namespace, workload, 'kv'), defaultBucket(namespace, workload, 'obj'));
  if (mocksFile) {
    try {
      mock.seed(readMockFixture(mocksFile), mocksFile);
    } catch (e) {
      if (e instanceof ProblemError) {
        throw e;
      }
      throw new ProblemError([{ file: mocksFile, message: (e as Error).message.replace(`${mocksFile}: `, '') }]);
    }
  }
  return mock;
}
