/**
 * A DEPLOY request checked as a 0.2.7 node's `handleDeploy` and its agent check it (reference §1.8,
 * corrected by §11), in the same order and with the same error texts, so a client sees here what a
 * real node would answer. Where a real node crashes on a request (a missing required field), the
 * local node answers with a clear error instead and says that a real node would crash.
 */
import { createHash } from 'crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import { subjectsCollide } from '../core/subject';
import { namespaceOf } from '../nex/controlApi';
import { decodeLocation } from '../nex/location';
import { verifyWorkloadJwt, WorkloadJwtClaims } from '../nex/workloadJwt';
import { EnvironmentError, openEnvironment, WorkloadEnvironment } from '../nex/xkeyEnvelope';
import { NodeConfig, protocolOf } from './nodeConfig';
import { NodeIdentity } from './nodeIdentity';

/** Subjects no trigger may overlap, whatever the node's configuration. */
export const ALWAYS_DENIED_TRIGGER_SUBJECTS = ['$SYS.>', '$JS.>', '$NEX.>'];
/** A real agent's limit on a JavaScript source. */
export const V8_MAX_FILE_BYTES = 12288;

/** The node's answer to a refused deploy: its text goes verbatim into the reply's `error`. */
export class DeployRefused extends Error {
  override name = 'DeployRefused';
}

/** A deploy that passed every check: what the node needs to run it. */
export interface AcceptedDeploy {
  namespace: string;
  name: string;
  type: 'v8' | 'wasm';
  description: string;
  triggerSubjects: string[];
  environment: WorkloadEnvironment;
  claims: WorkloadJwtClaims;
  artifact: Uint8Array;
  /** Hex SHA-256 of the artifact, computed here. */
  hash: string;
  /** 0.3: the request id. */
  requestId?: string;
}

/** What the checks need from the node. */
export interface DeployContext {
  config: NodeConfig;
  identity: NodeIdentity;
  nc: NatsConnection;
  lameDuck: boolean;
  workloadCount: number;
  totalBytes: number;
  /** Compiles a JavaScript source as a classic script; returns the SyntaxError text when it does not compile. */
  compileJs: (source: string, name: string) => Promise<string | undefined>;
  /** Logs what a real node would do differently (e.g. crash). */
  note?: (text: string) => void;
  now?: Date;
}

const FIELDS_02 = ['argv', 'description', 'type', 'location', 'essential', 'workload_jwt', 'environment', 'jsdomain', 'sender_public_key', 'target_node', 'trigger_subjects', 'trigger_connection', 'retry_count', 'retried_at', 'host_services'] as const;
const FIELDS_03 = ['argv', 'description', 'hash', 'location', 'essential', 'environment', 'id', 'jsdomain', 'retry_count', 'retried_at', 'sender_public_key', 'target_node', 'trigger_subjects', 'host_services_config', 'workload_name', 'workload_jwt', 'type'] as const;
/** Pointer fields a 0.2.7 node dereferences without a check. */
const CRASHING_WHEN_MISSING = ['environment', 'sender_public_key', 'workload_jwt', 'location', 'target_node', 'description'];

type Body = Record<string, unknown>;

/** Checks a DEPLOY request in a real node's order; throws DeployRefused with the node's text. */
export async function checkDeploy(subject: string, data: Uint8Array, ctx: DeployContext): Promise<AcceptedDeploy> {
  const { config } = ctx;
  const version = protocolOf(config.emulate);
  const namespace = namespaceOf(subject);
  if (!namespace) {
    throw new DeployRefused('Invalid subject for workload deployment');
  }
  if (ctx.lameDuck) {
    throw new DeployRefused('Node is in lame duck mode. Workload deploy request denied');
  }
  if (config.maxWorkloads > 0 && ctx.workloadCount >= config.maxWorkloads) {
    throw new DeployRefused('Node is at maximum workload limit. Deploy request denied');
  }
  const body = decodeBody(data, version === '0.3' ? FIELDS_03 : FIELDS_02, ctx);
  let location;
  try {
    location = decodeLocation(body.location);
  } catch (e) {
    throw new DeployRefused(`Unable to deserialize deploy request: ${(e as Error).message}`);
  }
  const type = body.type as string;
  if (!config.workloadTypes.includes(type)) {
    throw new DeployRefused(`Unsupported workload type on this node: ${type}`);
  }
  const triggers = (body.trigger_subjects as string[] | undefined) ?? [];
  if (triggers.length > 0 && type !== 'v8' && type !== 'wasm') {
    throw new DeployRefused(`Unsupported workload type for trigger subject registration: ${type}`);
  }
  const denied = [...ALWAYS_DENIED_TRIGGER_SUBJECTS, ...config.denyTriggerSubjects];
  for (const trigger of triggers) {
    if (denied.some((d) => subjectsCollide(trigger, d))) {
      throw new DeployRefused(`The trigger subject ${trigger} overlaps with subject(s) in this node's deny list`);
    }
  }
  let environment: WorkloadEnvironment;
  try {
    environment = openEnvironment(body.environment as string, ctx.identity.xkey, body.sender_public_key as string);
  } catch (e) {
    const why = e instanceof EnvironmentError ? e.nodeText : (e as Error).message;
    ctx.note?.(`environment refused: ${(e as Error).message}`);
    throw new DeployRefused(`Failed to decrypt environment for deploy request: ${why}`);
  }
  let claims: WorkloadJwtClaims;
  try {
    claims = verifyWorkloadJwt(body.workload_jwt as string, {
      version,
      now: ctx.now,
      allowedIssuers: config.validIssuers,
      requestHash: version === '0.3' ? (body.hash as string) : undefined,
    });
  } catch (e) {
    const message = (e as Error).message;
    throw new DeployRefused(message.startsWith('invalid workload issuer') ? message : `Invalid deploy request: ${message}`);
  }
  const name = version === '0.3' ? String(claims.nats.name) : claims.sub;
  const artifact = await fetchArtifact(ctx.nc, location.bucket, location.key, (body.jsdomain as string | undefined) || config.jsDomain);
  if (config.maxWorkloadBytes > 0 && artifact.length > config.maxWorkloadBytes) {
    throw new DeployRefused('Workload file size would exceed node limitations');
  }
  if (config.maxTotalBytes > 0 && ctx.totalBytes + artifact.length > config.maxTotalBytes) {
    throw new DeployRefused('Workload file size would exceed node total limitations');
  }
  const agentProblems = [
    ...(body.essential === true ? ['essential flag is not supported for workload type'] : []),
    ...(artifact.length === 0 ? ['total bytes is required'] : []),
    ...(triggers.length === 0 ? ['at least one trigger subject is required for this workload type'] : []),
  ];
  if (agentProblems.length > 0) {
    throw new DeployRefused(`Failed to deploy workload: workload rejected by agent: ${agentProblems.join('\n')}`);
  }
  const rejected = (why: string) => new DeployRefused(`Failed to deploy workload: workload rejected by agent: Failed to validate workload: ${why}`);
  if (type === 'v8') {
    if (artifact.length > V8_MAX_FILE_BYTES) {
      throw rejected(`source file (${artifact.length} bytes) exceeds maximum of ${V8_MAX_FILE_BYTES} bytes`);
    }
    const syntaxError = await ctx.compileJs(new TextDecoder().decode(artifact), name);
    if (syntaxError) {
      throw rejected(`failed to compile source for execution: ${syntaxError}`);
    }
  } else {
    try {
      await WebAssembly.compile(artifact as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw rejected(`failed to compile module: ${(e as Error).message}`);
    }
  }
  return {
    namespace,
    name,
    type: type as 'v8' | 'wasm',
    description: body.description as string,
    triggerSubjects: triggers,
    environment,
    claims,
    artifact,
    hash: createHash('sha256').update(artifact).digest('hex'),
    requestId: version === '0.3' ? (body.id as string) : undefined,
  };
}

/**
 * The body as Go's json.Unmarshal reads it into the request struct: keys match case-insensitively
 * (a later duplicate wins), unknown keys are ignored, a value of the wrong JSON kind fails with Go's
 * text. `location` is decoded later, by decodeLocation.
 */
function decodeBody(data: Uint8Array, fields: readonly string[], ctx: DeployContext): Body {
  const text = new TextDecoder().decode(data);
  const fail = (why: string) => new DeployRefused(`Unable to deserialize deploy request: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const first = text.trim()[0];
    throw fail(first === undefined ? 'unexpected end of JSON input' : /[{["\-0-9tfn]/.test(first) ? 'unexpected end of JSON input or invalid JSON' : `invalid character '${first}' looking for beginning of value`);
  }
  if (parsed === null) {
    ctx.note?.('a deploy body of JSON null crashes a real 0.2.7 node (no reply)');
    throw fail('the body is null (a real node crashes on this request)');
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw fail(`json: cannot unmarshal ${Array.isArray(parsed) ? 'array' : typeof parsed === 'string' ? 'string' : typeof parsed === 'boolean' ? 'bool' : 'number'} into Go value of type controlapi.DeployRequest`);
  }
  const body: Body = {};
  for (const [key, value] of Object.entries(parsed)) {
    const field = fields.find((f) => f.toLowerCase() === key.toLowerCase());
    if (field) {
      body[field] = value;
    }
  }
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : 'object');
  const expect = (field: string, want: 'string' | 'bool' | 'array' | 'number') => {
    const v = body[field];
    if (v !== undefined && v !== null && kind(v) !== want) {
      throw fail(`json: cannot unmarshal ${kind(v)} into Go struct field DeployRequest.${field} of type ${want === 'array' ? '[]string' : want === 'number' ? 'uint' : want}`);
    }
  };
  for (const f of ['description', 'type', 'workload_jwt', 'environment', 'jsdomain', 'sender_public_key', 'target_node', 'hash', 'id', 'workload_name']) {
    expect(f, 'string');
  }
  expect('essential', 'bool');
  expect('argv', 'array');
  expect('trigger_subjects', 'array');
  for (const t of (body.trigger_subjects as unknown[] | undefined) ?? []) {
    if (typeof t !== 'string') {
      throw fail(`json: cannot unmarshal ${kind(t)} into Go struct field DeployRequest.trigger_subjects of type string`);
    }
  }
  if (typeof body.location === 'string' || (body.location !== undefined && body.location !== null && kind(body.location) !== 'object')) {
    throw fail(`json: cannot unmarshal ${kind(body.location)} into Go struct field DeployRequest.location of type url.URL`);
  }
  const missing = CRASHING_WHEN_MISSING.filter((f) => body[f] === undefined || body[f] === null);
  if (missing.length > 0) {
    ctx.note?.(`a deploy body without ${missing.join(', ')} crashes a real 0.2.7 node (no reply)`);
    throw fail(`the request has no ${missing.join(', ')}: always send ${missing.length === 1 ? 'it' : 'them'} (a real node crashes without ${missing.length === 1 ? 'it' : 'them'})`);
  }
  if (typeof body.type !== 'string') {
    body.type = '';
  }
  return body;
}

/** Fetches the artifact from the object store, failing with the nats.go texts a real node reports. */
async function fetchArtifact(nc: NatsConnection, bucket: string, key: string, domain: string | undefined): Promise<Uint8Array> {
  const fail = (why: string) => new DeployRefused(`Failed to cache workload bytes: ${why}`);
  if (!/^[a-zA-Z0-9_-]+$/.test(bucket)) {
    throw fail('nats: invalid object-store name');
  }
  try {
    const objm = new Objm(jetstream(nc, domain ? { domain } : {}));
    const store = await objm.open(bucket);
    const bytes = await store.getBlob(key);
    if (bytes === null) {
      throw fail('nats: object not found');
    }
    return bytes;
  } catch (e) {
    if (e instanceof DeployRefused) {
      throw e;
    }
    const message = (e as Error).message ?? String(e);
    if (/stream not found|not found/i.test(message)) {
      throw fail('nats: stream not found');
    }
    if (/no responders|503|jetstream (is )?not enabled/i.test(message)) {
      throw fail('nats: no responders available for request');
    }
    if (/digest/i.test(message)) {
      throw fail('nats: received a corrupt object, digests do not match');
    }
    throw fail(message);
  }
}
