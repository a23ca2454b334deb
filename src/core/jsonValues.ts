/**
 * Reading untrusted JSON (answers and events from nodes): a value of the expected kind, or
 * undefined. Strings only where strings belong: a hostile `{"toString":1}` is no string.
 */

export const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const asNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export const asObject = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** The string entries of an object (tags, metadata); undefined when it is not an object. */
export function stringEntries(v: unknown): Record<string, string> | undefined {
  const o = asObject(v);
  return o && Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The strings of a list; undefined when it is not one (Go writes an empty list as null). */
export function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined;
}

/** A node id or workload id is a subject token. */
export const isToken = (v: unknown): v is string => typeof v === 'string' && /^[^\s.*>]+$/.test(v);
