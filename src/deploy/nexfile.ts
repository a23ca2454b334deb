/**
 * A function as the functions nexlet's start request, and as a Nex 0.4 Nexfile (models/nexfile.go:
 * `{name, description, tags, type, lifecycle, start_request}`), so `nex workload start -f
 * Nexfile.json` deploys it to the nexlet. The artifact is uploaded where a deploy puts it (the
 * NEXCLIFILES object store) and named by its SHA-256, which the nexlet checks.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { deployTriggers, entryPath, type ValidFunction } from '../core/manifest';
import type { FunctionStartRequest } from '../nex04/functionStartRequest';
import { buildIfNeeded } from '../toolchain/buildRunner';
import { type StoredArtifact, uploadArtifact } from './artifactStore';

/** A Nexfile: what `nex workload start -f` reads. */
export interface Nexfile {
  name: string;
  description: string;
  /** The auction's tags: only nodes with all of them bid. */
  tags: Record<string, string>;
  /** The agent type: `v8` or `wasm`, the nexlet's registration types. */
  type: string;
  lifecycle: 'function';
  start_request: FunctionStartRequest;
}

/** The nexlet's start request for `fn`, its artifact already stored. */
export function functionStartRequest(fn: ValidFunction, artifact: StoredArtifact, jsDomain?: string): FunctionStartRequest {
  const m = fn.manifest;
  const limits = { ...(m.limits?.timeoutMs ? { timeout_ms: m.limits.timeoutMs } : {}), ...(m.limits?.memoryMiB ? { memory_mib: m.limits.memoryMiB } : {}) };
  return {
    artifact: { bucket: artifact.bucket, key: artifact.key, sha256: artifact.sha256, ...(jsDomain ? { js_domain: jsDomain } : {}) },
    triggers: [...(m.triggers ?? [])],
    ...(m.env && Object.keys(m.env).length > 0 ? { environment: { ...m.env } } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(m.type === 'v8' ? { compat: m.compat ?? 'docs' } : {}),
  };
}

/** Builds the function when its sources changed, uploads its artifact, and returns its Nexfile. */
export async function writeNexfile(nc: NatsConnection, fn: ValidFunction, options: { jsDomain?: string; onBuildOutput?: (line: string) => void } = {}): Promise<Nexfile> {
  deployTriggers(fn, 'the functions nexlet');
  await buildIfNeeded(fn, { onOutput: options.onBuildOutput });
  const artifact = await uploadArtifact(nc, entryPath(fn), { jsDomain: options.jsDomain });
  return {
    name: fn.manifest.name,
    description: fn.manifest.description ?? '',
    tags: { ...(fn.manifest.deploy?.tags ?? {}) },
    type: fn.manifest.type,
    lifecycle: 'function',
    start_request: functionStartRequest(fn, artifact, options.jsDomain),
  };
}
