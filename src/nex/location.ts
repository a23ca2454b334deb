/**
 * The deploy request's `location`: a Go `*url.URL`. net/url.URL has neither a JSON nor a text
 * marshaller, so encoding/json writes and reads it as a struct of its exported fields, and a JSON
 * string fails to unmarshal on the node. The node uses only `Host` (the object-store bucket) and
 * `Path` (the key, after `strings.Trim(Path, "/")`) (`CacheWorkload`, internal/node/workload_mgr.go).
 */
import type { GoUrl } from './controlTypes';

/** An artifact in a NATS object store. */
export interface ArtifactLocation {
  bucket: string;
  key: string;
}

/** Object-store bucket names, as nats.go checks them (else "nats: invalid object-store name"). */
const BUCKET_NAME = /^[a-zA-Z0-9_-]+$/;

/** The Go type of each url.URL field, as encoding/json names it in errors. */
const GO_URL_FIELDS: Record<keyof GoUrl, 'string' | 'bool' | 'url.Userinfo'> = {
  Scheme: 'string',
  Opaque: 'string',
  User: 'url.Userinfo',
  Host: 'string',
  Path: 'string',
  RawPath: 'string',
  OmitHost: 'bool',
  ForceQuery: 'bool',
  RawQuery: 'string',
  Fragment: 'string',
  RawFragment: 'string',
};

/**
 * `nats://<bucket>/<key>` as the Go CLI sends it: the whole url.URL struct, every field present, as
 * url.Parse fills it (`{"Scheme":"nats","Opaque":"","User":null,"Host":"NEXCLIFILES","Path":"/echofunctionjs",…}`).
 * Throws when the node could not find the artifact with it.
 */
export function encodeLocation(bucket: string, key: string): GoUrl {
  if (!BUCKET_NAME.test(bucket)) {
    throw new Error(`"${bucket}" is not an object-store bucket name: use letters, digits, "_" and "-"`);
  }
  if (key === '' || key.startsWith('/') || key.endsWith('/')) {
    throw new Error(`the artifact key "${key}" must not be empty nor start or end with "/": the node trims the slashes off and would look for another object`);
  }
  return {
    Scheme: 'nats',
    Opaque: '',
    User: null,
    Host: bucket,
    Path: `/${key}`,
    RawPath: '',
    OmitHost: false,
    ForceQuery: false,
    RawQuery: '',
    Fragment: '',
    RawFragment: '',
  };
}

/** The JSON kind of a value, as encoding/json names it in "cannot unmarshal <kind> into …". */
function goJsonKind(value: unknown): string {
  if (Array.isArray(value)) {
    return 'array';
  }
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

/** Whether a JSON value fits a url.URL field of the given Go type (null fits every field: Go leaves it unset). */
function fitsGoField(value: unknown, goType: (typeof GO_URL_FIELDS)[keyof GoUrl]): boolean {
  if (value === null) {
    return true;
  }
  switch (goType) {
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'url.Userinfo':
      return typeof value === 'object' && !Array.isArray(value);
  }
}

/**
 * The bucket and key a node reads from a deploy request's `location` (the parsed JSON value), or
 * the error its json.Unmarshal gives. For a string that is the text the reference quotes from a
 * 0.2.7 node; the texts for other kinds and for a field of the wrong type are derived from Go's
 * encoding/json (Go 1.22) and not quoted in the reference. As in Go, field names match
 * case-insensitively, a later duplicate wins and unknown fields are ignored. Bucket and key are not
 * checked here: a node only finds out when it fetches the artifact.
 */
export function decodeLocation(value: unknown): ArtifactLocation {
  if (value === undefined || value === null) {
    throw new Error('the deploy request has no location (a 0.2.7 node crashes on this): send the artifact as {"Scheme":"nats","Host":"<bucket>","Path":"/<key>"}');
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`json: cannot unmarshal ${goJsonKind(value)} into Go struct field DeployRequest.location of type url.URL`);
  }
  const fields: Partial<Record<keyof GoUrl, unknown>> = {};
  for (const [name, fieldValue] of Object.entries(value)) {
    const field = (Object.keys(GO_URL_FIELDS) as Array<keyof GoUrl>).find((f) => f.toLowerCase() === name.toLowerCase());
    if (!field) {
      continue;
    }
    if (!fitsGoField(fieldValue, GO_URL_FIELDS[field])) {
      throw new Error(`json: cannot unmarshal ${goJsonKind(fieldValue)} into Go struct field URL.location.${field} of type ${GO_URL_FIELDS[field]}`);
    }
    if (fieldValue !== null) {
      fields[field] = fieldValue;
    }
  }
  const host = (fields.Host as string | undefined) ?? '';
  const path = (fields.Path as string | undefined) ?? '';
  return { bucket: host, key: path.replace(/^\/+|\/+$/g, '') };
}
