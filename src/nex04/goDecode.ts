/**
 * Go-style strict decoding of Nex 0.4.1 requests, for the side that serves them (the local node's
 * 0.4.1 mode, the functions nexlet): the body must be a JSON object, every required key present
 * (checked in alphabetical order, `null` allowed), each value of its Go type, enums one of their
 * values, and keys matched case-insensitively, with the error texts Go's encoding/json and the
 * go-jsonschema types give (reference "Decoding"). A body of JSON `null` skips the required checks,
 * as in Go.
 *
 * Details that follow Go (encoding/json as of Go 1.25, go-jsonschema v0.18 UnmarshalJSON):
 * - a body that is not JSON gets the scanner's text (`invalid character 'x' after object key`…),
 *   see goJsonSyntaxError;
 * - required keys are looked up exactly (`raw["name"]`, a Go map), field values case-insensitively;
 * - type errors are found in the body's key order and the first one wins, except an enum's own error
 *   (its UnmarshalJSON), which ends decoding at once;
 * - an enum given `null` fails as the empty string (`…: ""`), as go-jsonschema's UnmarshalJSON does.
 */

export type GoType = 'string' | 'int' | 'float64' | 'bool' | 'object' | 'map[string]string' | '[]string' | 'time';

export interface GoField {
  type: GoType;
  required: boolean;
  /** For `string` and `[]string`: the allowed values (a go-jsonschema enum type). */
  enum?: readonly string[];
  /** The Go type's name in messages when it is a named type, e.g. `models.NodeTags`; default: `type`. */
  goType?: string;
}

/** A body that does not decode: `message` is Go's text, as a node puts it in the error body. */
export class GoDecodeError extends Error {
  override name = 'GoDecodeError';
}

/** The JSON kind Go names in "cannot unmarshal <kind> into …". */
function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

/** Go's scanner quoting of the offending byte (encoding/json quoteChar). */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const escapes: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\\': '\\\\', '\v': '\\v', '\x07': '\\a' };
  if (escapes[c]) return `'${escapes[c]}'`;
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

class Truncated extends Error {}

/** encoding/json's maxNestingDepth. */
const MAX_NESTING_DEPTH = 10000;

/**
 * Where `text` stops being JSON, in Go's words: `unmarshal` mode as json.Unmarshal says it
 * (`unexpected end of JSON input`, `invalid character 'x' after top-level value`), `decoder` mode as
 * a json.Decoder reading one value and then looking for the end, as jsonschema.UnmarshalJSON does
 * (`EOF` for nothing, `unexpected EOF` when cut short, `invalid character after top-level value`
 * after a complete value). Undefined when it is JSON.
 */
export function goJsonSyntaxError(text: string, mode: 'unmarshal' | 'decoder' = 'unmarshal'): string | undefined {
  let i = 0;
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const skip = () => {
    while (i < text.length && isSpace(text[i])) i++;
  };
  const peek = (): string => {
    if (i >= text.length) throw new Truncated();
    return text[i];
  };
  const fail = (c: string, context: string): never => {
    throw new Error(`invalid character ${quoteChar(c)} ${context}`);
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      const c = peek();
      if (c !== word[k]) fail(c, `in literal ${word} (expecting ${quoteChar(word[k])})`);
    }
    i++;
  };
  const digits = () => {
    while (i < text.length && text[i] >= '0' && text[i] <= '9') i++;
  };
  const number = () => {
    if (text[i] === '-') {
      i++;
      const c = peek();
      if (!(c >= '0' && c <= '9')) fail(c, 'in numeric literal');
    }
    if (text[i] === '0') i++;
    else digits();
    if (i < text.length && text[i] === '.') {
      i++;
      const c = peek();
      if (!(c >= '0' && c <= '9')) fail(c, 'after decimal point in numeric literal');
      digits();
    }
    if (i < text.length && (text[i] === 'e' || text[i] === 'E')) {
      i++;
      let c = peek();
      if (c === '+' || c === '-') {
        i++;
        c = peek();
      }
      if (!(c >= '0' && c <= '9')) fail(c, 'in exponent of numeric literal');
      digits();
    }
  };
  const string = () => {
    i++;
    for (;;) {
      const c = peek();
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        const e = peek();
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            const h = peek();
            if (!/[0-9a-fA-F]/.test(h)) fail(h, 'in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(e)) {
          fail(e, 'in string escape code');
        }
      } else if (c < ' ') {
        fail(c, 'in string literal');
      }
      i++;
    }
  };
  // Iterative, with a stack of the open objects and arrays: a recursive scanner overflows Node's stack
  // near 7,000 levels. encoding/json's scanner refuses a 10,001st level (maxNestingDepth).
  const open: string[] = [];
  const key = () => {
    skip();
    if (peek() !== '"') fail(peek(), 'looking for beginning of object key string');
    string();
    skip();
    if (peek() !== ':') fail(peek(), 'after object key');
    i++;
  };
  const value = (): void => {
    for (;;) {
      // A value begins.
      skip();
      const c = peek();
      if (c === '{' || c === '[') {
        if (open.length >= MAX_NESTING_DEPTH) fail(c, 'exceeded max depth');
        open.push(c);
        i++;
        skip();
        if (peek() === (c === '{' ? '}' : ']')) {
          i++;
          open.pop();
        } else {
          if (c === '{') key();
          continue;
        }
      } else if (c === '"') string();
      else if (c === '-' || (c >= '0' && c <= '9')) number();
      else if (c === 't') literal('true');
      else if (c === 'f') literal('false');
      else if (c === 'n') literal('null');
      else fail(c, 'looking for beginning of value');
      // A value ended: close what it ends, or go on to the next element.
      for (;;) {
        if (open.length === 0) return;
        skip();
        const inObject = open[open.length - 1] === '{';
        const next = peek();
        i++;
        if (next === (inObject ? '}' : ']')) {
          open.pop();
          continue;
        }
        if (next !== ',') fail(next, inObject ? 'after object key:value pair' : 'after array element');
        if (inObject) key();
        break;
      }
    }
  };
  if (mode === 'decoder') {
    skip();
    if (i >= text.length) return 'EOF';
  }
  try {
    value();
    skip();
    if (i < text.length) {
      if (mode === 'decoder') return 'invalid character after top-level value';
      fail(text[i], 'after top-level value');
    }
    return undefined;
  } catch (e) {
    if (e instanceof Truncated) {
      return mode === 'decoder' ? 'unexpected EOF' : 'unexpected end of JSON input';
    }
    return (e as Error).message;
  }
}

/** Parses `text` as json.Unmarshal would accept it; throws GoDecodeError with Go's syntax error. */
export function goJsonParse(text: string, mode: 'unmarshal' | 'decoder' = 'unmarshal'): unknown {
  const problem = goJsonSyntaxError(text, mode);
  if (problem !== undefined) {
    throw new GoDecodeError(problem);
  }
  return JSON.parse(text) as unknown;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Whether a value fits the Go type as a whole (elements are checked by elementProblem). */
function fitsType(value: unknown, type: GoType): boolean {
  if (value === null) {
    return true;
  }
  switch (type) {
    case 'string':
    case 'time':
      return typeof value === 'string';
    case 'int':
    case 'float64':
      return typeof value === 'number';
    case 'bool':
      return typeof value === 'boolean';
    case 'object':
    case 'map[string]string':
      return typeof value === 'object' && !Array.isArray(value);
    case '[]string':
      return Array.isArray(value);
  }
}

/**
 * Decodes `text` as the Go struct `type`; throws GoDecodeError with Go's text when it does not.
 * Unknown keys are ignored (as Go does); returned keys are the struct's, in its spelling.
 */
export function goDecode<T>(text: string, type: { name: string; fields: Record<string, GoField> }): T {
  const value = goJsonParse(text);
  if (value === null) {
    return {} as T;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GoDecodeError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type map[string]interface {}`);
  }
  const given = value as Record<string, unknown>;
  for (const field of Object.keys(type.fields).sort()) {
    if (type.fields[field].required && !Object.prototype.hasOwnProperty.call(given, field)) {
      throw new GoDecodeError(`field ${field} in ${type.name}: required`);
    }
  }
  const byLowerName = new Map(Object.keys(type.fields).map((f) => [f.toLowerCase(), f]));
  const out: Record<string, unknown> = {};
  let firstTypeError: string | undefined;
  const typeError = (kind: string, field: string, goType: string) => {
    firstTypeError ??= `json: cannot unmarshal ${kind} into Go struct field Plain.${field} of type ${goType}`;
  };
  const enumCheck = (field: string, spec: GoField, v: unknown) => {
    if (typeof v !== 'string' && v !== null) {
      // The enum's UnmarshalJSON decodes into a string first; its error ends the decoding.
      throw new GoDecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field Plain.${field} of type string`);
    }
    const s = v ?? '';
    if (!spec.enum!.includes(s)) {
      throw new GoDecodeError(`invalid value (expected one of []interface {}{${spec.enum!.map((e) => JSON.stringify(e)).join(', ')}}): ${JSON.stringify(s)}`);
    }
  };
  for (const [key, v] of Object.entries(given)) {
    const field = Object.prototype.hasOwnProperty.call(type.fields, key) ? key : byLowerName.get(key.toLowerCase());
    if (field === undefined) {
      continue;
    }
    const spec = type.fields[field];
    if (spec.type === 'time' && v !== null) {
      // time.Time's UnmarshalJSON: its errors end the decoding (texts close to Go's).
      if (typeof v !== 'string') {
        throw new GoDecodeError('Time.UnmarshalJSON: input is not a JSON string');
      }
      if (!RFC3339.test(v)) {
        throw new GoDecodeError(`parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(v)} as "2006"`);
      }
    }
    if (spec.enum && spec.type === 'string') {
      enumCheck(field, spec, v);
      out[field] = v ?? '';
      continue;
    }
    if (!fitsType(v, spec.type)) {
      typeError(jsonKind(v), field, spec.goType ?? spec.type);
      continue;
    }
    if (v !== null && spec.type === 'map[string]string') {
      const bad = Object.values(v as object).find((e) => typeof e !== 'string' && e !== null);
      if (bad !== undefined) {
        typeError(jsonKind(bad), field, 'string');
        continue;
      }
    }
    if (v !== null && spec.type === '[]string') {
      let failed = false;
      for (const e of v as unknown[]) {
        if (spec.enum) {
          enumCheck(field, spec, e);
        } else if (typeof e !== 'string' && e !== null) {
          typeError(jsonKind(e), field, 'string');
          failed = true;
          break;
        }
      }
      if (failed) {
        continue;
      }
    }
    if (v !== null && spec.type === 'int' && !Number.isInteger(v)) {
      typeError(`number ${String(v)}`, field, spec.goType ?? 'int');
      continue;
    }
    out[field] = v;
  }
  if (firstTypeError !== undefined) {
    throw new GoDecodeError(firstTypeError);
  }
  return out as T;
}
