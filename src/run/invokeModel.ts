/**
 * The model of the invoke panel (the place to run a function by hand), free of VS Code: the messages
 * the webview may send (validated against a schema), the payload it sends decoded to bytes, the
 * subjects and samples it offers, and a run result as the panel shows it. (Its samples of saved
 * trigger cases are made in src/triggers/caseSamples.ts.)
 */
import * as path from 'path';
import Ajv from 'ajv';
import { lazy } from '../core/lazy';
import { ValidFunction } from '../core/manifest';
import { subjectMatches } from '../core/subject';
import { decodeValue } from '../core/valueCodec';
import { displayValue, DisplayValue } from '../hostservices/panelModel';
import { exampleSubject } from '../templates/functionTemplates';
import { hintSeverity } from '../executor/fidelity';
import { FunctionRunResult } from './functionRun';
import { formatMs } from './runReport';

export const PAYLOAD_KINDS = ['text', 'json', 'base64', 'file'] as const;
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

/** A payload as the panel's editor holds it: the kind and its text (for a file, its path). */
export interface InvokePayload {
  kind: PayloadKind;
  text: string;
}

export type InvokeMessage =
  | { type: 'ready' }
  | { type: 'run'; subject: string; payload: InvokePayload }
  | { type: 'runAgain' }
  | { type: 'saveCase' }
  | { type: 'openError' }
  | { type: 'pickFile' };

const MAX_TEXT = 2 * 1024 * 1024;
const payloadSchema = {
  type: 'object',
  required: ['kind', 'text'],
  additionalProperties: false,
  properties: { kind: { enum: [...PAYLOAD_KINDS] }, text: { type: 'string', maxLength: MAX_TEXT } },
};
const message = (type: string, properties: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  required: ['type', ...required],
  additionalProperties: false,
  properties: { type: { const: type }, ...properties },
});
export const INVOKE_MESSAGE_SCHEMA = {
  oneOf: [
    message('ready'),
    message('run', { subject: { type: 'string', maxLength: 1024 }, payload: payloadSchema }, ['subject', 'payload']),
    message('runAgain'),
    message('saveCase'),
    message('openError'),
    message('pickFile'),
  ],
};
/** Compiled on the first message, not as the module loads (activation does not pay for it). */
const validator = lazy(() => new Ajv({ allErrors: false, strict: false }).compile(INVOKE_MESSAGE_SCHEMA));

/** The message, if it is one the invoke panel may send; otherwise why not. */
export function parseInvokeMessage(raw: unknown): { message: InvokeMessage } | { error: string } {
  if (validator()(raw)) {
    return { message: raw as InvokeMessage };
  }
  const type = raw && typeof raw === 'object' && 'type' in raw ? String((raw as { type: unknown }).type) : typeof raw;
  return { error: `refused a malformed message from the invoke panel (type ${JSON.stringify(type)})` };
}

/** The payload's bytes, or what is wrong with it (invalid JSON or base64, a file that cannot be read). */
export function decodeInvokePayload(payload: InvokePayload, baseDir: string): { bytes: Uint8Array } | { error: string } {
  try {
    switch (payload.kind) {
      case 'text':
        return { bytes: decodeValue(payload.text, { where: 'the payload' }) };
      case 'json': {
        let json: unknown;
        try {
          json = JSON.parse(payload.text);
        } catch (e) {
          return { error: `the payload is not valid JSON: ${(e as Error).message}` };
        }
        return { bytes: decodeValue({ json }, { where: 'the payload' }) };
      }
      case 'base64': {
        const compact = payload.text.replace(/\s/g, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
          return { error: 'the payload is not valid base64 (letters, digits, "+", "/", and "=" padding)' };
        }
        return { bytes: decodeValue({ base64: compact }, { where: 'the payload' }) };
      }
      case 'file':
        if (payload.text.trim() === '') {
          return { error: 'choose the file whose bytes are the payload' };
        }
        return { bytes: decodeValue({ file: payload.text }, { where: 'the payload file', baseDir }) };
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The subjects the panel offers: a concrete example for each trigger (never the function's name). */
export function subjectSuggestions(fn: ValidFunction): string[] {
  const triggers = fn.manifest.triggers ?? [];
  return [...new Set(triggers.map(exampleSubject))];
}

/** The subject the panel starts with: the last one used, else the first trigger's example, else a neutral one. */
export function defaultSubject(fn: ValidFunction, last?: string): string {
  return last ?? subjectSuggestions(fn)[0] ?? `${fn.manifest.name.replace(/[^a-zA-Z0-9_-]/g, '_')}.test`;
}

export interface InvokeSample {
  label: string;
  /** "case" for a saved trigger case, "recent" for a payload run before. */
  source: 'case' | 'recent';
  subject: string;
  payload: InvokePayload;
}

/** A payload as the panel's editor shows it, from an encoded value (text, {json}, {base64}, {file}). */
export function editorPayload(value: unknown): InvokePayload {
  if (typeof value === 'string') {
    return { kind: 'text', text: value };
  }
  if (value && typeof value === 'object') {
    if ('json' in value) {
      return { kind: 'json', text: JSON.stringify((value as { json: unknown }).json, null, 2) };
    }
    if ('base64' in value) {
      return { kind: 'base64', text: String((value as { base64: unknown }).base64) };
    }
    if ('file' in value) {
      return { kind: 'file', text: String((value as { file: unknown }).file) };
    }
  }
  return { kind: 'text', text: '' };
}

/** A run as the panel's response side shows it. */
export interface InvokeResponse {
  subject: string;
  ok: boolean;
  /** The reply, pretty; none when the function sent no reply. */
  reply?: DisplayValue;
  error?: { message: string; kind: string; line?: number; where?: string };
  duration: string;
  logs: Array<{ level: string; text: string }>;
  hostCalls: Array<{ call: string; ok: boolean; result: string; line?: number }>;
  hints: Array<{ message: string; line?: number; severity: 'warning' | 'info' }>;
  profile: string;
  /** Set when no trigger of the function matches the subject: a node would never deliver it. */
  subjectNote?: string;
}

export function invokeResponse(fn: ValidFunction, result: FunctionRunResult): InvokeResponse {
  const o = result.outcome;
  const triggers = fn.manifest.triggers ?? [];
  const unmatched = triggers.length > 0 && !triggers.some((t) => subjectMatches(t, result.subject));
  return {
    subject: result.subject,
    ok: o.ok,
    reply: o.reply ? displayValue(o.reply) : undefined,
    error: o.error && { message: o.error.message, kind: o.error.kind, line: o.error.line, where: o.error.line !== undefined ? `${path.basename(result.entryPath)}:${o.error.line}` : undefined },
    duration: formatMs(o.durationMs),
    logs: o.logs.map((l) => ({ level: l.level, text: l.text })),
    hostCalls: o.hostCalls.map((c) => ({ call: `${c.service}.${c.method}(${Object.entries(c.args).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')})`, ok: c.ok, result: c.result, line: c.line })),
    hints: o.warnings.map((w) => ({ message: w.message, line: w.line, severity: hintSeverity(w.code, o.profile) })),
    profile: o.profile,
    subjectNote: unmatched ? `"${result.subject}" matches none of ${fn.manifest.name}'s triggers (${triggers.join(', ')}): a node would never deliver it to the function` : undefined,
  };
}

/** The payload of a run as a recent sample (so a run from a trigger case or the CLI can be replayed). */
export function recentSample(subject: string, payload: InvokePayload): InvokeSample {
  const shown = payload.kind === 'file' ? payload.text : payload.text.replace(/\s+/g, ' ').slice(0, 40);
  return { label: `${subject} · ${shown || '(empty)'}`, source: 'recent', subject, payload };
}
