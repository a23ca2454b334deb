/**
 * Fidelity hints: where a function's result under the profile it runs with would differ on a
 * real Nex node of another version. Each hint is one line a user can act on, placed on the
 * source line it is about when that is known.
 */
import { CompatProfile, NODE_JS_SOURCE_LIMIT } from '../core/compat';

export interface FidelityWarning {
  /** Stable identifier, e.g. "reply-bytes". */
  code: string;
  message: string;
  line?: number;
}

/**
 * How much a hint matters: a warning when the function does something that breaks on the nodes the
 * profile stands for and can do otherwise; information when it made a choice (the host API of one
 * Nex version) or follows the documented contract that 0.2/0.3 nodes depart from (`docs`, the
 * default profile), so a template or example that does what the docs say does not warn about itself.
 */
export function hintSeverity(code: string, profile: CompatProfile): 'warning' | 'info' {
  if (code === 'api-0.2-only' || code === 'api-0.3-only' || code === 'kv-get-missing') {
    return 'info';
  }
  if (profile === 'docs' && (code === 'reply-bytes' || code === 'reply-string' || code === 'wasm-argv-subject')) {
    return 'info';
  }
  return 'warning';
}

/** What the function returned, before it became reply bytes. */
export type ReplyKind = 'bytes' | 'string' | 'json' | 'null' | 'undefined' | 'unserializable';

export function replyWarning(profile: CompatProfile, kind: ReplyKind, preview: string): Omit<FidelityWarning, 'line'> | undefined {
  if (profile === 'docs') {
    switch (kind) {
      case 'bytes':
        return {
          code: 'reply-bytes',
          message: `a Nex 0.2/0.3 node JSON-stringifies the return value, so this byte reply would reach callers as ${preview} (an object of indices); return a string or an object to get the same reply everywhere`,
        };
      case 'string':
        return {
          code: 'reply-string',
          message: `a Nex 0.2/0.3 node JSON-stringifies the return value, so this string would reach callers in quotes, as ${preview}`,
        };
      case 'null':
        return { code: 'reply-null', message: 'returning null sends no reply here, but a Nex 0.2/0.3 node replies with the text null' };
      case 'undefined':
        return { code: 'reply-undefined', message: 'returning nothing sends no reply here, but a Nex 0.2/0.3 node replies anyway (most likely with the text undefined)' };
      default:
        return undefined;
    }
  }
  switch (kind) {
    case 'bytes':
      return {
        code: 'reply-bytes',
        message: `Nex ${profile} JSON-stringifies the return value: this Uint8Array becomes ${preview}, not raw bytes (the documented contract sends raw bytes); return a string or an object instead`,
      };
    case 'string':
      return { code: 'reply-string', message: `Nex ${profile} JSON-stringifies strings: the reply carries the quotes, ${preview}` };
    case 'undefined':
      return { code: 'reply-undefined', message: `Nex ${profile} replies even when the function returns nothing: the reply is the text undefined (by reading the node's code; unverified)` };
    default:
      return undefined;
  }
}

export function sourceSizeWarning(profile: CompatProfile, bytes: number): Omit<FidelityWarning, 'line'> | undefined {
  if (profile === 'docs' && bytes > NODE_JS_SOURCE_LIMIT) {
    return {
      code: 'source-size',
      message: `the source is ${bytes} bytes: every Nex node refuses JavaScript over ${NODE_JS_SOURCE_LIMIT} bytes at deploy time`,
    };
  }
  return undefined;
}

export const CONSOLE_DISCARDED: Omit<FidelityWarning, 'line'> = {
  code: 'console-discarded',
  message: 'a Nex node discards console output: these lines show only in local runs',
};

/**
 * The line where the function (the script's last expression) starts: the last line that begins
 * at column 0 with something other than a closing bracket or a comment. A heuristic for placing
 * reply hints; the runtime does not say where a function value was defined.
 */
export function functionStartLine(source: string): number | undefined {
  const lines = source.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line.trim() === '' || /^\s/.test(line) || /^[)}\]]/.test(line) || /^\/[/*]/.test(line) || /^\*/.test(line)) {
      continue;
    }
    return i + 1;
  }
  return undefined;
}

/**
 * The hint for a function that used the host API of another Nex version: `message` is the engine's
 * ReferenceError message ("'kv' is not defined" on QuickJS, "kv is not defined" on V8).
 */
export function apiMismatchHint(profile: CompatProfile, message: string): string | undefined {
  const missing = /^'?(hostServices|kv|objectStore|messaging|http)'? is not defined$/.exec(message);
  if (!missing) {
    return undefined;
  }
  return missing[1] === 'hostServices'
    ? `hostServices does not exist under profile ${profile}: Nex 0.3 offers the globals kv(bucket), objectStore(bucket), messaging and http; set "compat": "0.2" or "docs" for the hostServices API`
    : `${missing[1]} is a Nex 0.3 global: under profile ${profile} use hostServices.${missing[1] === 'kv' || missing[1] === 'objectStore' ? `${missing[1]} (the function's own bucket)` : missing[1]}, or set "compat": "0.3"`;
}
