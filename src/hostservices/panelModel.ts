/**
 * The host-services panel's model, without VS Code: what the panel shows (a snapshot of a
 * function's mock state, its recent host calls and last reply), the messages the webview may send
 * (validated against a JSON Schema before anything touches state), and how each edit applies.
 */
import Ajv from 'ajv';
import { tryDecodeUtf8 } from '../core/bytes';
import { lazy } from '../core/lazy';
import { kvKeyProblem, HostCallRecord } from './types';
import { decodeValue } from '../core/valueCodec';
import { FixtureValue, MockHostServices, MockRoute } from './mockBackend';

/** A value as the panel shows it: JSON pretty-printed, text, or hex for binary. */
export interface DisplayValue {
  kind: 'json' | 'text' | 'binary';
  text: string;
  size: number;
}

export function displayValue(bytes: Uint8Array): DisplayValue {
  const text = tryDecodeUtf8(bytes);
  if (text === undefined) {
    return { kind: 'binary', text: Buffer.from(bytes.subarray(0, 4096)).toString('hex').replace(/(..)(?!$)/g, '$1 '), size: bytes.length };
  }
  if (/^\s*[[{]/.test(text)) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2), size: bytes.length };
    } catch {
      // plain text
    }
  }
  return { kind: 'text', text, size: bytes.length };
}

export interface LoggedCall extends HostCallRecord {
  run: number;
  time: string;
}

export interface PanelSnapshot {
  functionName: string;
  profile: string;
  mocksFile?: string;
  /** Whether the state differs from the mocks file (edits or runs since it was loaded or saved). */
  dirty: boolean;
  kv: Array<{ bucket: string; key: string; value: DisplayValue; revision: number; history: Array<{ revision: number; value: DisplayValue | null }> }>;
  objects: Array<{ bucket: string; name: string; size: number; digest: string; mtime: string }>;
  messages: Array<{ kind: string; subject: string; payload: DisplayValue; time: string; reply?: DisplayValue; error?: string }>;
  requestReplies: Array<{ subject: string; reply: DisplayValue }>;
  http: { allowReal: boolean; routes: Array<{ method: string; url: string; status: number; body: string }> };
  calls: LoggedCall[];
  lastRun?: { subject: string; ok: boolean; reply?: DisplayValue; error?: string; time: string };
}

export function snapshot(mock: MockHostServices, meta: Pick<PanelSnapshot, 'functionName' | 'profile' | 'mocksFile' | 'dirty' | 'calls' | 'lastRun'>): PanelSnapshot {
  const kv: PanelSnapshot['kv'] = [];
  for (const [bucket, entries] of mock.kv) {
    for (const [key, entry] of entries) {
      kv.push({ bucket, key, value: displayValue(entry.value), revision: entry.revision, history: entry.history.map((h) => ({ revision: h.revision, value: h.value ? displayValue(h.value) : null })) });
    }
  }
  const objects: PanelSnapshot['objects'] = [];
  for (const [bucket, entries] of mock.objects) {
    for (const { info } of entries.values()) {
      objects.push({ bucket, name: info.name, size: info.size, digest: info.digest, mtime: info.mtime });
    }
  }
  return {
    ...meta,
    kv: kv.sort((a, b) => a.bucket.localeCompare(b.bucket) || a.key.localeCompare(b.key)),
    objects,
    messages: mock.messages.map((m) => ({ kind: m.kind, subject: m.subject, payload: displayValue(m.payload), time: m.time, reply: m.reply && displayValue(m.reply), error: m.error })),
    requestReplies: mock.requestReplies.map((r) => ({ subject: r.subject, reply: displayValue(r.reply) })),
    http: {
      allowReal: mock.allowRealHttp,
      routes: mock.routes.map((r) => ({ method: r.method, url: r.url, status: r.status ?? 200, body: r.body === undefined ? '' : new TextDecoder().decode(decodeValue(r.body, { where: 'route' })) })),
    },
  };
}

/** A value typed in the panel: text, JSON (checked), or base64. */
const valueSchema = {
  type: 'object',
  required: ['text', 'encoding'],
  additionalProperties: false,
  properties: { text: { type: 'string', maxLength: 1048576 }, encoding: { enum: ['text', 'json', 'base64'] } },
};
const name = { type: 'string', minLength: 1, maxLength: 1024 };
const index = { type: 'integer', minimum: 0, maximum: 10000 };
const message = (type: string, props: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  required: ['type', ...required],
  additionalProperties: false,
  properties: { type: { const: type }, ...props },
});

export const PANEL_MESSAGE_SCHEMA = {
  oneOf: [
    message('ready'),
    message('kv.set', { bucket: name, key: name, value: valueSchema }, ['bucket', 'key', 'value']),
    message('kv.delete', { bucket: name, key: name }, ['bucket', 'key']),
    message('kv.clear', { bucket: name }, ['bucket']),
    message('object.add'),
    message('object.delete', { bucket: name, name }, ['bucket', 'name']),
    message('object.download', { bucket: name, name }, ['bucket', 'name']),
    message('reply.set', { index, subject: name, reply: valueSchema }, ['subject', 'reply']),
    message('reply.delete', { index }, ['index']),
    message('route.set', { index, method: { enum: ['*', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] }, url: name, status: { type: 'integer', minimum: 100, maximum: 599 }, body: { type: 'string', maxLength: 1048576 } }, ['method', 'url', 'status', 'body']),
    message('route.delete', { index }, ['index']),
    message('http.allowReal', { value: { type: 'boolean' } }, ['value']),
    message('mocks.save'),
    message('mocks.reset'),
    message('mocks.export'),
    message('run'),
  ],
};

export type PanelValue = { text: string; encoding: 'text' | 'json' | 'base64' };
export type PanelMessage =
  | { type: 'ready' | 'object.add' | 'mocks.save' | 'mocks.reset' | 'mocks.export' | 'run' }
  | { type: 'kv.set'; bucket: string; key: string; value: PanelValue }
  | { type: 'kv.delete'; bucket: string; key: string }
  | { type: 'kv.clear'; bucket: string }
  | { type: 'object.delete' | 'object.download'; bucket: string; name: string }
  | { type: 'reply.set'; index?: number; subject: string; reply: PanelValue }
  | { type: 'reply.delete'; index: number }
  | { type: 'route.set'; index?: number; method: string; url: string; status: number; body: string }
  | { type: 'route.delete'; index: number }
  | { type: 'http.allowReal'; value: boolean };

/** Compiled on the first message, not as the module loads (activation does not pay for it). */
const validator = lazy(() => new Ajv({ allErrors: false, strict: false }).compile(PANEL_MESSAGE_SCHEMA));

/** The message, if it is one the panel may send; otherwise why not. */
export function parsePanelMessage(raw: unknown): { message: PanelMessage } | { error: string } {
  if (validator()(raw)) {
    return { message: raw as PanelMessage };
  }
  const type = raw && typeof raw === 'object' && 'type' in raw ? String((raw as { type: unknown }).type) : typeof raw;
  return { error: `refused a malformed message from the host-services panel (type ${JSON.stringify(type)})` };
}

function toFixtureValue(value: PanelValue): FixtureValue {
  switch (value.encoding) {
    case 'json':
      return { json: JSON.parse(value.text) };
    case 'base64':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.text.replace(/\s/g, ''))) {
        throw new Error('not valid base64');
      }
      return { base64: value.text.replace(/\s/g, '') };
    default:
      return value.text;
  }
}

/**
 * Applies an edit to the mock state. Returns a description for the log, or throws an Error whose
 * message says what is wrong with the input (shown in the panel).
 */
export function applyPanelEdit(mock: MockHostServices, msg: PanelMessage): string {
  switch (msg.type) {
    case 'kv.set': {
      const problem = kvKeyProblem(msg.key);
      if (problem) {
        throw new Error(problem);
      }
      let bytes: Uint8Array;
      try {
        bytes = decodeValue(toFixtureValue(msg.value), { where: `key "${msg.key}"` });
      } catch (e) {
        throw new Error(`the value is not valid ${msg.value.encoding === 'json' ? 'JSON' : msg.value.encoding}: ${(e as Error).message}`);
      }
      mock.kvPut(msg.bucket, msg.key, bytes);
      return `set ${msg.bucket} ${msg.key} (${bytes.length} bytes)`;
    }
    case 'kv.delete':
      mock.callSync({ service: 'kv', method: 'delete', bucket: msg.bucket, key: msg.key });
      return `deleted ${msg.bucket} ${msg.key}`;
    case 'kv.clear':
      mock.kv.delete(msg.bucket);
      return `cleared ${msg.bucket}`;
    case 'object.delete':
      mock.objects.get(msg.bucket)?.delete(msg.name);
      return `deleted object ${msg.name}`;
    case 'reply.set': {
      const reply = decodeValue(toFixtureValue(msg.reply), { where: 'reply' });
      const entry = { subject: msg.subject, reply };
      if (msg.index !== undefined && msg.index < mock.requestReplies.length) {
        mock.requestReplies[msg.index] = entry;
      } else {
        mock.requestReplies.push(entry);
      }
      return `canned reply for ${msg.subject}`;
    }
    case 'reply.delete':
      mock.requestReplies.splice(msg.index, 1);
      return 'removed a canned reply';
    case 'route.set': {
      const route: MockRoute = { method: msg.method, url: msg.url, status: msg.status, body: msg.body };
      if (msg.index !== undefined && msg.index < mock.routes.length) {
        mock.routes[msg.index] = route;
      } else {
        mock.routes.push(route);
      }
      return `HTTP route ${msg.method} ${msg.url}`;
    }
    case 'route.delete':
      mock.routes.splice(msg.index, 1);
      return 'removed an HTTP route';
    case 'http.allowReal':
      mock.allowRealHttp = msg.value;
      return `real outbound HTTP ${msg.value ? 'allowed' : 'off'}`;
    default:
      throw new Error(`${msg.type} is not an edit`);
  }
}
