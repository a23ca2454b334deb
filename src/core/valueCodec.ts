/**
 * Byte values as people write them in JSON files (trigger cases' payloads and replies, mocks files,
 * the host-services panel): text, `{"json": any}`, `{"base64": "..."}`, and, where a folder is
 * known, `{"file": "relative/path"}`. The one decoder and the one encoder of that format.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tryDecodeUtf8, utf8 } from './bytes';

/** A value without a file reference: what a mocks file or an export holds. */
export type InlineValue = string | { json: unknown } | { base64: string };
/** A value that may also name a file (payloads of trigger cases). */
export type EncodedValue = InlineValue | { file: string };

/** Whether `value` has the shape of an encoded value (one key, of the right type). */
export function isEncodedValue(value: unknown, allowFile: boolean): value is EncodedValue {
  if (typeof value === 'string') {
    return true;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return false;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return keys[0] === 'json' || (keys[0] === 'base64' && typeof v.base64 === 'string') || (allowFile && keys[0] === 'file' && typeof v.file === 'string');
}

export interface DecodeOptions {
  /** Names the value in errors, e.g. 'mocks.json: kv "greeting"'. */
  where: string;
  /** The folder `{"file": ...}` paths are relative to; without one, file references are refused. */
  baseDir?: string;
}

/** The bytes of an encoded value. Throws an Error naming `where` when the value has no known shape or its file cannot be read. */
export function decodeValue(value: unknown, options: DecodeOptions): Uint8Array {
  if (!isEncodedValue(value, options.baseDir !== undefined)) {
    throw new Error(`${options.where}: a value is text, {"json": ...}, {"base64": "..."}${options.baseDir !== undefined ? ' or {"file": "relative/path"}' : ''}`);
  }
  if (typeof value === 'string') {
    return utf8(value);
  }
  if ('json' in value) {
    return utf8(JSON.stringify(value.json));
  }
  if ('base64' in value) {
    return new Uint8Array(Buffer.from(value.base64, 'base64'));
  }
  const file = path.resolve(options.baseDir!, value.file);
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`${options.where}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * The encoded form of bytes: text when they are UTF-8, `{"json": ...}` when `json` is asked for and
 * the text is a JSON object or array, `{"base64": ...}` otherwise.
 */
export function encodeValue(bytes: Uint8Array, options: { json?: boolean } = {}): InlineValue {
  const text = tryDecodeUtf8(bytes);
  if (text === undefined) {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
  if (options.json && /^\s*[[{]/.test(text)) {
    try {
      return { json: JSON.parse(text) };
    } catch {
      // not JSON after all: keep the text
    }
  }
  return text;
}
