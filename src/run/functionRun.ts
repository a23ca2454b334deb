/** Runs a function found on disk: the one entry point the editor, the CLI and CI share. */
import * as fs from 'fs';
import * as path from 'path';
import { CompatProfile, DEFAULT_COMPAT } from '../core/compat';
import { mockHostServicesFor } from '../hostservices/mockFixtureFile';
import { HostServicesBackend } from '../hostservices/types';
import { entryPath, FunctionDefinition } from '../core/manifest';
import { ProblemError } from '../core/problems';
import { FunctionRunner, RunOptions } from '../executor/functionRunner';
import { DEFAULT_LIMITS, RunLimits, RunOutcome, RunRequest } from '../executor/types';

export interface FunctionRunInput {
  subject: string;
  payload: Uint8Array;
  /** Defaults (e.g. from settings); the manifest's limits take precedence over them. */
  limits?: Partial<RunLimits>;
  /** Explicit limits (e.g. CLI flags); they take precedence over the manifest's. */
  limitOverrides?: Partial<RunLimits>;
  /** Overrides the manifest's compat profile. */
  compat?: CompatProfile;
  /** Serves host services; default: in-memory mocks seeded from the function's mocks file. */
  hostServices?: HostServicesBackend;
}

/** Functions run in this namespace locally; it names the default buckets (hs_default_<name>_kv). */
export const LOCAL_NAMESPACE = 'default';

export interface FunctionRunResult {
  functionName: string;
  /** The function's JavaScript source or wasm artifact. */
  entryPath: string;
  subject: string;
  payloadBytes: number;
  /** The payload itself (kept so a run can be saved as a trigger case). */
  payload?: Uint8Array;
  outcome: RunOutcome;
  /** The backend that served the run's host-service calls (its state reflects the run); none for wasm. */
  hostServices?: HostServicesBackend;
  /** Time from request to result, including the worker round trip. */
  wallMs: number;
}

/**
 * Runs `def` once. Throws ProblemError when the function cannot be run at all (invalid manifest,
 * unsupported type, unreadable source); everything the function itself does wrong comes back in
 * the outcome.
 */
export async function runFunctionOnce(
  runner: FunctionRunner,
  def: FunctionDefinition,
  input: FunctionRunInput,
  options: RunOptions = {},
): Promise<FunctionRunResult> {
  const entry = entryPath(def);
  if (!def.manifest || !entry || def.problems.length > 0) {
    throw new ProblemError(def.problems.length > 0 ? def.problems : [{ file: def.manifestPath, message: 'the manifest is not valid' }]);
  }
  const fromManifest: Partial<RunLimits> = {};
  if (def.manifest.limits?.timeoutMs !== undefined) {
    fromManifest.timeoutMs = def.manifest.limits.timeoutMs;
  }
  if (def.manifest.limits?.memoryMiB !== undefined) {
    fromManifest.memoryLimitBytes = def.manifest.limits.memoryMiB * 1048576;
  }
  const limits = { ...DEFAULT_LIMITS, ...input.limits, ...fromManifest, ...input.limitOverrides };
  const common = {
    subject: input.subject,
    payload: input.payload,
    limits,
    profile: input.compat ?? def.manifest.compat ?? DEFAULT_COMPAT,
    workload: def.manifest.name,
    namespace: LOCAL_NAMESPACE,
  };
  let request: RunRequest;
  let hostServices: HostServicesBackend | undefined;
  if (def.manifest.type === 'wasm') {
    request = { kind: 'wasm', artifactPath: def.artifactPath!, env: def.manifest.env, ...common };
  } else {
    let source: string;
    try {
      source = fs.readFileSync(def.sourcePath!, 'utf8');
    } catch (e) {
      throw new ProblemError([{ file: def.sourcePath!, message: `cannot read the source: ${(e as Error).message}` }]);
    }
    request = { kind: 'js', source, fileName: def.sourcePath!, ...common };
    hostServices = input.hostServices ?? mockHostServicesFor(LOCAL_NAMESPACE, def.manifest.name, def.manifest.mocks && path.join(def.dir, def.manifest.mocks));
  }
  const started = performance.now();
  const outcome = await runner.run(request, { ...options, hostServices });
  return {
    functionName: def.manifest.name,
    entryPath: entry,
    subject: input.subject,
    payloadBytes: input.payload.length,
    payload: input.payload,
    outcome,
    hostServices,
    wallMs: performance.now() - started,
  };
}

