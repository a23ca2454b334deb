/**
 * An agent's start request schema as a 0.4.1 node handles it (handlers.go RegisterAgent and
 * AuctionDeployWorkload, jsonschema/v6): parsed with a json.Decoder (`unexpected EOF`…), compiled
 * as the resource `file://$TMPDIR/<0..999999>.json` (its `$id` resolved against that), and a
 * run_request checked against it, with jsonschema/v6's error text:
 *
 *     jsonschema validation failed with 'file:///tmp/123456.json#'
 *     - at '/uri': got number, want string
 *
 * Validation is ajv's (draft 2020-12 unless `$schema` names draft-07), formats not asserted (v6's
 * default); the messages are v6's for the common keywords (type, required, additionalProperties,
 * enum, const, lengths, pattern, bounds, item and property counts), listed flat, one per failure
 * (v6 nests the failures of one subschema under a "validation failed" line).
 */
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import { goJsonParse } from './goDecode';

export class StartSchemaError extends Error {
  override name = 'StartSchemaError';
  constructor(
    /** `parse`: not JSON (the node's 400 "failed to unmarshal start request schema"); `compile`: not a schema (500). */
    readonly stage: 'parse' | 'compile',
    message: string,
  ) {
    super(message);
  }
}

export interface CompiledStartSchema {
  /** The schema's location in validation errors, e.g. `file:///tmp/123456.json#`. */
  readonly location: string;
  /** Undefined when `value` is valid, else jsonschema/v6's text. */
  validate(value: unknown): string | undefined;
}

/** v6's quote: Go %q with `\"` unescaped and `'` escaped, in single quotes. */
function quote(s: string): string {
  const q = JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return `'${q}'`;
}

function display(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (v !== null && typeof v === 'object') return 'value';
  return String(v);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'boolean';
  return typeof v;
}

/** One failure in v6's words. */
function describe(error: ErrorObject, data: unknown): string {
  const p = error.params as Record<string, any>;
  const at = valueAt(data, error.instancePath);
  switch (error.keyword) {
    case 'type':
      return `got ${jsonType(at)}, want ${(Array.isArray(p.type) ? p.type : String(p.type).split(',')).join(' or ')}`;
    case 'required':
      return `missing property ${quote(String(p.missingProperty))}`;
    case 'additionalProperties':
      return `additional properties ${quote(String(p.additionalProperty))} not allowed`;
    case 'enum': {
      const want = p.allowedValues as unknown[];
      if (want.some((w) => w !== null && typeof w === 'object')) return 'enum failed';
      return want.length === 1 ? `value must be ${display(want[0])}` : `value must be one of ${want.map(display).join(', ')}`;
    }
    case 'const':
      return p.allowedValue !== null && typeof p.allowedValue === 'object' ? 'const failed' : `value must be ${display(p.allowedValue)}`;
    case 'minLength':
    case 'maxLength':
      return `${error.keyword}: got ${[...String(at)].length}, want ${p.limit}`;
    case 'pattern':
      return `${quote(String(at))} does not match pattern ${quote(String(p.pattern))}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${error.keyword}: got ${String(at)}, want ${p.limit}`;
    case 'multipleOf':
      return `multipleOf: got ${String(at)}, want ${p.multipleOf}`;
    case 'minItems':
    case 'maxItems':
      return `${error.keyword}: got ${Array.isArray(at) ? at.length : 0}, want ${p.limit}`;
    case 'minProperties':
    case 'maxProperties':
      return `${error.keyword}: got ${at && typeof at === 'object' ? Object.keys(at).length : 0}, want ${p.limit}`;
    case 'uniqueItems':
      return `items at ${p.j} and ${p.i} are equal`;
    case 'false schema':
      return 'false schema';
    case 'anyOf':
      return 'anyOf failed';
    case 'oneOf':
      return p.passingSchemas ? `oneOf failed, subschemas ${p.passingSchemas[0]}, ${p.passingSchemas[1]} matched` : 'oneOf failed, none matched';
    case 'not':
      return 'not failed';
    default:
      return error.message ?? `${error.keyword} failed`;
  }
}

function valueAt(data: unknown, pointer: string): unknown {
  let v = data;
  for (const token of pointer.split('/').slice(1)) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

/** v6's list of failures: required and additionalProperties failures of one place are one line. */
function lines(errors: ErrorObject[], data: unknown): string[] {
  const out: string[] = [];
  const grouped = new Map<string, { index: number; names: string[]; keyword: string }>();
  for (const error of errors) {
    if (error.keyword === 'required' || error.keyword === 'additionalProperties') {
      const key = `${error.keyword}\u0000${error.instancePath}\u0000${error.schemaPath}`;
      const name = String(error.keyword === 'required' ? (error.params as any).missingProperty : (error.params as any).additionalProperty);
      const group = grouped.get(key);
      if (group) {
        group.names.push(name);
        continue;
      }
      grouped.set(key, { index: out.length, names: [name], keyword: error.keyword });
      out.push(`- at ${quote(error.instancePath)}: `);
      continue;
    }
    out.push(`- at ${quote(error.instancePath)}: ${describe(error, data)}`);
  }
  for (const { index, names, keyword } of grouped.values()) {
    const list = names.map(quote).join(', ');
    out[index] +=
      keyword === 'required' ? (names.length === 1 ? `missing property ${list}` : `missing properties ${list}`) : `additional properties ${list} not allowed`;
  }
  return out;
}

/** Parses and compiles `text` as a 0.4.1 node does at REGISTER; throws StartSchemaError. */
export function compileStartRequestSchema(text: string): CompiledStartSchema {
  let schema: unknown;
  try {
    schema = goJsonParse(text, 'decoder');
  } catch (e) {
    throw new StartSchemaError('parse', (e as Error).message);
  }
  const file = pathToFileURL(path.join(os.tmpdir(), `${Math.floor(Math.random() * 1_000_000)}.json`)).href;
  const id = schema !== null && typeof schema === 'object' && typeof (schema as { $id?: unknown }).$id === 'string' ? (schema as { $id: string }).$id : undefined;
  let base = file;
  try {
    base = id ? new URL(id, file).href.replace(/#.*$/, '') : file;
  } catch {
    base = file;
  }
  const location = `${base}#`;
  const draft = schema !== null && typeof schema === 'object' ? String((schema as { $schema?: unknown }).$schema ?? '') : '';
  const options = { strict: false, allErrors: true, validateFormats: false } as const;
  const ajv = /draft-07/.test(draft) ? new Ajv(options) : new Ajv2020(options);
  let validate: ValidateFunction;
  try {
    if (typeof schema === 'boolean') {
      validate = ajv.compile(schema);
    } else if (schema !== null && typeof schema === 'object' && !Array.isArray(schema)) {
      validate = ajv.compile(schema as object);
    } else {
      throw new Error(`jsonschema: invalid jsonType ${jsonType(schema)}`);
    }
  } catch (e) {
    throw new StartSchemaError('compile', (e as Error).message);
  }
  return {
    location,
    validate(value: unknown): string | undefined {
      if (validate(value)) {
        return undefined;
      }
      const failures = lines(validate.errors ?? [], value);
      return [`jsonschema validation failed with ${quote(location)}`, ...(failures.length ? failures : ['- at \'\': validation failed'])].join('\n');
    },
  };
}
