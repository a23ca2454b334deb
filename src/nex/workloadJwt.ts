/**
 * The workload JWT of a deploy request: a nats-io/jwt v2 "generic claims" token signed by the
 * issuer's nkey, as `jwt.NewGenericClaims(sub).Encode(issuer)` (nats-io/jwt v2.5.7, the version Nex
 * 0.2.7 pins) writes it and a node's `DeployRequest.Validate` checks it.
 *
 * Bytes as Go writes them: header `{"typ":"JWT","alg":"ed25519-nkey"}`; payload = the ClaimsData
 * struct fields in Go order (aud, exp, jti, iat, iss, name, nbf, sub; each omitted when empty), then
 * `nats`. `nats` is a Go map[string]interface{}, which encoding/json writes with its keys sorted: so
 * `{"hash":…,"name":…,"version":2}` (the reference lists the fields but not this order; it follows
 * from Go's map encoding). `jti` = base32 (std alphabet, no padding) of SHA-512/256 over the JSON of
 * ClaimsData alone (no `nats`) with jti empty, i.e. left out. Nodes never recompute jti.
 */
import { createHash } from 'crypto';
import { fromPublic, type KeyPair } from '@nats-io/nkeys';
import { WORKLOAD_NAME_PATTERN } from '../core/manifest';
import { decodeGoBase64, goJson } from './controlApi';
import type { NexProtocolVersion } from './controlTypes';

/** The header of every token this module writes (nats-io/jwt `Header`: typ, then alg). */
const JWT_HEADER = { typ: 'JWT', alg: 'ed25519-nkey' } as const;

/** `nats.version`: nats-io/jwt v2's `libVersion`, which `Encode` adds to the generic claims. */
const JWT_LIB_VERSION = 2;

/** What a deploy asserts about its workload. */
export interface WorkloadClaimsInput {
  /** The workload name (`^[a-zA-Z0-9_-]+$`): the JWT `sub` at 0.2.x, `nats.name` at 0.3.x. */
  name: string;
  /** The artifact hash, `nats.hash`: a 0.3 node compares it with the body's `hash` (hex SHA-256); 0.2 never checks it. */
  hash: string;
  /** 0.3.x: the deploy request's `id` (a UUID), which is the JWT `sub`. */
  requestId?: string;
  /** Optional `exp`: a node refuses the token after it. */
  expires?: Date;
  /** Optional `nbf`: a node refuses the token before it. */
  notBefore?: Date;
}

/** The `nats` object of a workload JWT (GenericClaims.Data). */
export interface WorkloadJwtData {
  hash?: unknown;
  name?: unknown;
  version?: unknown;
  [key: string]: unknown;
}

/** The claims of a workload JWT; missing standard fields read as Go's zero values ("" and 0). */
export interface WorkloadJwtClaims {
  aud?: string;
  exp?: number;
  jti: string;
  iat: number;
  iss: string;
  name?: string;
  nbf?: number;
  sub: string;
  nats: WorkloadJwtData;
}

/** How a node checks a workload JWT beyond its signature. */
export interface VerifyOptions {
  /** The time `exp` and `nbf` are checked against; now by default. */
  now?: Date;
  /** The node config's `valid_issuers`: when not empty, `iss` must be one of them. */
  allowedIssuers?: readonly string[];
  /** Check the workload name claim as a node of this version does (0.2: `sub`; 0.3: `nats.name`). */
  version?: NexProtocolVersion;
  /** 0.3: the deploy body's `hash`, which `nats.hash` must equal. */
  requestHash?: string;
}

const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

const base64url = (text: string | Uint8Array): string => Buffer.from(text).toString('base64url');

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Base32, std alphabet, no padding (Go `base32.StdEncoding.WithPadding(base32.NoPadding)`). */
function base32NoPadding(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    for (; bits >= 5; bits -= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
    }
  }
  return bits > 0 ? out + BASE32_ALPHABET[(value << (5 - bits)) & 31] : out;
}

/** The ClaimsData fields a workload JWT uses, in Go struct order, empty ones left out (omitempty). */
function claimsData(fields: { exp?: number; jti?: string; iat: number; iss: string; nbf?: number; sub: string }) {
  return {
    ...(fields.exp ? { exp: fields.exp } : {}),
    ...(fields.jti ? { jti: fields.jti } : {}),
    iat: fields.iat,
    iss: fields.iss,
    ...(fields.nbf ? { nbf: fields.nbf } : {}),
    sub: fields.sub,
  };
}

/** nats-io/jwt's `ClaimsData.hash()`: the jti of claims whose jti is still empty. */
function claimsId(data: ReturnType<typeof claimsData>): string {
  return base32NoPadding(createHash('sha512-256').update(goJson(data)).digest());
}

/** Why a workload name would be refused by a node, or undefined when it is fine. */
function workloadNameProblem(name: string): string | undefined {
  return WORKLOAD_NAME_PATTERN.test(name)
    ? undefined
    : `the workload name "${name}" may only contain letters, digits, "_" and "-" (a node checks ${WORKLOAD_NAME_PATTERN.source})`;
}

/** The JWT `sub` of a deploy: the workload name at 0.2.x, the request id at 0.3.x. */
function deploySubject(claims: WorkloadClaimsInput, version: NexProtocolVersion): string {
  if (version === '0.2') {
    return claims.name;
  }
  if (!claims.requestId) {
    throw new Error('a 0.3 workload JWT needs the deploy request id: it is the JWT sub');
  }
  return claims.requestId;
}

/**
 * The signed workload JWT of a deploy, as the Go CLI's `CreateWorkloadJwt` (0.2.x) or
 * `CreateWorkloadJWT` (0.3.x) makes it: `iss` = the issuer's public key (the CLI uses an account
 * key), `iat` = `now` in unix seconds, `sub` = name (0.2) or request id (0.3), `nats` = {hash,
 * name (0.3 only), version: 2}; signed with the issuer's nkey over "header.payload".
 */
export function encodeWorkloadJwt(issuer: KeyPair, claims: WorkloadClaimsInput, version: NexProtocolVersion, now = new Date()): string {
  const nameProblem = workloadNameProblem(claims.name);
  if (nameProblem) {
    throw new Error(nameProblem);
  }
  const iss = issuer.getPublicKey();
  if (iss.startsWith('X')) {
    throw new Error('a workload JWT is signed with a signing nkey (the CLI uses an account key, seed "SA…"), not a curve xkey');
  }
  const fields = {
    exp: claims.expires && unixSeconds(claims.expires),
    iat: unixSeconds(now),
    iss,
    nbf: claims.notBefore && unixSeconds(claims.notBefore),
    sub: deploySubject(claims, version),
  };
  const nats = version === '0.2' ? { hash: claims.hash, version: JWT_LIB_VERSION } : { hash: claims.hash, name: claims.name, version: JWT_LIB_VERSION };
  const payload = { ...claimsData({ ...fields, jti: claimsId(claimsData(fields)) }), nats };
  const signingInput = `${base64url(goJson(JWT_HEADER))}.${base64url(goJson(payload))}`;
  return `${signingInput}.${base64url(issuer.sign(new TextEncoder().encode(signingInput)))}`;
}

/** An error in a node's words for a token it cannot decode (`DeployRequest.Validate`). */
const decodeError = (detail: string): Error => new Error(`could not decode workload JWT: ${detail}`);

/** The bytes of one base64url (no padding) part of a token. */
function decodePart(part: string, what: string): Uint8Array {
  try {
    return decodeGoBase64(part, 'rawurl');
  } catch (e) {
    throw decodeError(`the ${what} is not base64url without padding: ${(e as Error).message}`);
  }
}

/** One part of a token as the JSON object it must hold. */
function parseJsonObject(part: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(decodePart(part, what)));
  } catch (e) {
    throw e instanceof SyntaxError ? decodeError(`the ${what} is not JSON: ${e.message}`) : e;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw decodeError(`the ${what} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** The header's `alg`, checked as nats-io/jwt `Header.Valid` does (texts included). */
function headerAlgorithm(part: string): string {
  const header = parseJsonObject(part, 'header');
  const typ = typeof header.typ === 'string' ? header.typ : '';
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (typ.toUpperCase() !== 'JWT') {
    throw decodeError(`not supported type ${JSON.stringify(typ)}`);
  }
  if (!['ed25519', 'ed25519-nkey'].includes(alg.toLowerCase())) {
    throw decodeError(`unexpected ${JSON.stringify(alg)} algorithm`);
  }
  return alg;
}

/** Checks the type of one standard claim that is present. */
function checkClaimType(payload: Record<string, unknown>, claim: string, type: 'string' | 'integer'): void {
  const value = payload[claim];
  if (value === undefined || value === null) {
    return;
  }
  if (type === 'string' ? typeof value !== 'string' : !Number.isInteger(value)) {
    throw decodeError(`the claim "${claim}" is ${JSON.stringify(value)}, not ${type === 'string' ? 'a string' : 'an integer'}`);
  }
}

/** The payload part as claims, with the types Go's struct would accept. */
function parseClaims(part: string): WorkloadJwtClaims {
  const payload = parseJsonObject(part, 'payload');
  for (const claim of ['aud', 'jti', 'iss', 'name', 'sub']) {
    checkClaimType(payload, claim, 'string');
  }
  for (const claim of ['exp', 'iat', 'nbf']) {
    checkClaimType(payload, claim, 'integer');
  }
  const nats = payload.nats ?? {};
  if (typeof nats !== 'object' || Array.isArray(nats)) {
    throw decodeError('the claim "nats" is not a JSON object');
  }
  return { ...payload, jti: (payload.jti as string) ?? '', iat: (payload.iat as number) ?? 0, iss: (payload.iss as string) ?? '', sub: (payload.sub as string) ?? '', nats } as WorkloadJwtClaims;
}

/** A token taken apart, before any check of its signature. */
interface DecodedToken {
  claims: WorkloadJwtClaims;
  /** The signed text: "header.payload" (v2, `ed25519-nkey`), or the payload alone (v1, `ed25519`). */
  signed: string;
  signature: Uint8Array;
  jwtVersion: 1 | 2;
}

/** Takes a token apart as nats-io/jwt `DecodeGeneric` does: 3 chunks, header, claims, signature. */
function decodeToken(token: string): DecodedToken {
  const chunks = token.split('.');
  if (chunks.length !== 3) {
    throw decodeError('expected 3 chunks');
  }
  const v1 = headerAlgorithm(chunks[0]) === 'ed25519';
  const claims = parseClaims(chunks[1]);
  const signature = decodePart(chunks[2], 'signature');
  return { claims, signature, signed: v1 ? chunks[1] : `${chunks[0]}.${chunks[1]}`, jwtVersion: v1 ? 1 : 2 };
}

/**
 * The claims of a workload JWT, without checking its signature or times (use verifyWorkloadJwt for
 * that). Throws "could not decode workload JWT: …" with nats-io/jwt's texts ("expected 3 chunks",
 * `not supported type "…"`, `unexpected "…" algorithm`) where it has them.
 */
export function decodeWorkloadJwt(token: string): WorkloadJwtClaims {
  return decodeToken(token).claims;
}

/** Whether the token was signed by the key in its `iss` (nats-io/jwt `ClaimsData.verify`). */
function signedByIssuer(decoded: DecodedToken): boolean {
  try {
    return fromPublic(decoded.claims.iss).verify(new TextEncoder().encode(decoded.signed), decoded.signature);
  } catch {
    return false;
  }
}

/** The name check of a node of `version` (`DeployRequest.Validate`), with its texts. */
function checkWorkloadName(claims: WorkloadJwtClaims, version: NexProtocolVersion): void {
  if (version === '0.2') {
    if (!WORKLOAD_NAME_PATTERN.test(claims.sub)) {
      throw new Error(`workload name claim ('${claims.sub}') does not match requirements (${WORKLOAD_NAME_PATTERN.source})`);
    }
    return;
  }
  if (typeof claims.nats.name !== 'string') {
    throw new Error('invalid workload name: the JWT has no nats.name string (a real 0.3 node crashes on this)');
  }
  if (!WORKLOAD_NAME_PATTERN.test(claims.nats.name)) {
    throw new Error('invalid workload name');
  }
}

/** The 0.3 check that the JWT asserts the artifact the request names. */
function checkArtifactHash(claims: WorkloadJwtClaims, requestHash: string): void {
  if (typeof claims.nats.hash !== 'string') {
    throw new Error('artifact hash claim does not match request: the JWT has no nats.hash string (a real 0.3 node crashes on this)');
  }
  if (claims.nats.hash !== requestHash) {
    throw new Error('artifact hash claim does not match request');
  }
}

/** nats-io/jwt `ClaimsData.Validate`: `exp` and `nbf`, when set, against `now`. */
function checkTimes(claims: WorkloadJwtClaims, now: Date): void {
  const seconds = unixSeconds(now);
  const issues = [
    ...(claims.exp && seconds > claims.exp ? ['claim is expired'] : []),
    ...(claims.nbf && claims.nbf > seconds ? ['claim is not yet valid'] : []),
  ];
  if (issues.length > 0) {
    throw new Error(`standard claims within JWT are not valid: ${issues.join('; ')}`);
  }
}

/**
 * The claims of a workload JWT, checked as a node checks a deploy's JWT, in its order: decoding
 * (see decodeWorkloadJwt), the signature against `iss` ("claim failed V2 signature verification"),
 * the name when `version` is given, the hash when `requestHash` is given, `exp`/`nbf` ("standard
 * claims within JWT are not valid", plus the reason), then the allow-list ("invalid workload issuer:
 * A…"). A node sends the errors before the allow-list's as "Invalid deploy request: <error>".
 */
export function verifyWorkloadJwt(token: string, options: VerifyOptions = {}): WorkloadJwtClaims {
  const decoded = decodeToken(token);
  const { claims } = decoded;
  if (!signedByIssuer(decoded)) {
    throw decodeError(`claim failed V${decoded.jwtVersion} signature verification`);
  }
  if (options.version) {
    checkWorkloadName(claims, options.version);
  }
  if (options.requestHash !== undefined) {
    checkArtifactHash(claims, options.requestHash);
  }
  checkTimes(claims, options.now ?? new Date());
  if (options.allowedIssuers?.length && !options.allowedIssuers.includes(claims.iss)) {
    throw new Error(`invalid workload issuer: ${claims.iss}`);
  }
  return claims;
}
