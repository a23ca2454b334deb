/**
 * Go-style strict decoding of Nex 0.4.1 requests, for the side that serves them (the local node's
 * 0.4.1 mode, the functions nexlet): the body must be a JSON object, every required key present
 * (checked in alphabetical order, `null` allowed), each value of its Go type, enums one of their
 * values, and keys matched case-insensitively, with the error texts Go's encoding/json and the
 * go-jsonschema types give (reference "Decoding"). A body of JSON `null` skips the required checks,
 * as in Go.
 */

export type GoType = 'string' | 'int' | 'bool' | 'object' | 'map[string]string' | '[]string';

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

/** Go's text for a body that is not JSON at all (close to encoding/json's; exact for the common cases). */
function syntaxError(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') {
    return 'unexpected end of JSON input';
  }
  const first = trimmed[0];
  if (!/[{["\-0-9tfn]/.test(first)) {
    return `invalid character '${first}' looking for beginning of value`;
  }
  return 'unexpected end of JSON input';
}

function fitsType(value: unknown, type: GoType): boolean {
  if (value === null) {
    return true;
  }
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'int':
      return typeof value === 'number' && Number.isInteger(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'object':
      return typeof value === 'object' && !Array.isArray(value);
    case 'map[string]string':
      return typeof value === 'object' && !Array.isArray(value) && Object.values(value as object).every((v) => typeof v === 'string' || v === null);
    case '[]string':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' || v === null);
  }
}

/**
 * Decodes `text` as the Go struct `type`; throws GoDecodeError with Go's text when it does not.
 * Unknown keys are ignored (as Go does); returned keys are the struct's, in its spelling.
 */
export function goDecode<T>(text: string, type: { name: string; fields: Record<string, { type: GoType; required: boolean; enum?: readonly string[] }> }): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GoDecodeError(syntaxError(text));
  }
  if (value === null) {
    return {} as T;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GoDecodeError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type map[string]interface {}`);
  }
  const given = value as Record<string, unknown>;
  const byLowerKey = new Map(Object.keys(given).map((k) => [k.toLowerCase(), k]));
  const lookup = (field: string): [boolean, unknown] => {
    const key = Object.prototype.hasOwnProperty.call(given, field) ? field : byLowerKey.get(field.toLowerCase());
    return key === undefined ? [false, undefined] : [true, given[key]];
  };
  for (const field of Object.keys(type.fields).sort()) {
    if (type.fields[field].required && !lookup(field)[0]) {
      throw new GoDecodeError(`field ${field} in ${type.name}: required`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(type.fields)) {
    const [present, v] = lookup(field);
    if (!present) {
      continue;
    }
    if (!fitsType(v, spec.type)) {
      throw new GoDecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field Plain.${field} of type ${spec.type}`);
    }
    if (spec.enum && v !== null && !spec.enum.includes(v as string)) {
      throw new GoDecodeError(`invalid value (expected one of []interface {}{${spec.enum.map((e) => JSON.stringify(e)).join(', ')}}): ${JSON.stringify(v)}`);
    }
    out[field] = v;
  }
  return out as T;
}
