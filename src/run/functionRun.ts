/**
 * The one run pipeline. Every run goes through `runFunction`: "Nex: Run Function…" and Quick Run,
 * trigger cases (Test Explorer, CodeLens, run on save, "Run Trigger Cases"), `nexfn run` and
 * `nexfn test`, debug runs, and the workloads of the local node and of the nexlet. It takes a valid
 * function, works out its limits, engine and host services, builds it when its sources changed,
 * hands it to the executor it is given (the worker, a V8 child process or a debug session), and
 * tells a sink what happened on the way.
 */
import * as fs from 'fs';
import { CompatProfile, DEFAULT_COMPAT, JsEngine } from '../core/compat';
import { entryPath, mocksPath, ValidFunction } from '../core/manifest';
import { ProblemError } from '../core/problems';
import { FunctionExecutor } from '../executor/executor';
import { DEFAULT_LIMITS, RunLimits, RunOutcome, RunRequest } from '../executor/types';
import { mockHostServicesFor } from '../hostservices/mockFixtureFile';
import { MockFixture, MockHostServices } from '../hostservices/mockBackend';
import { HostServicesBackend } from '../hostservices/types';
import { BuildResult, buildIfNeeded } from '../toolchain/buildRunner';
import { DEFAULT_NAMESPACE } from '../core/subject';

/** Functions run in this namespace locally; it names the default buckets (hs_default_<name>_kv). */
export const LOCAL_NAMESPACE = DEFAULT_NAMESPACE;

/**
 * Where a run's limits come from, lowest precedence first: the defaults (DEFAULT_LIMITS), then
 * `settings` (the editor's nex.run.* settings), then the manifest's `limits`, then `overrides`
 * (flags given for this run, e.g. `nexfn run --timeout`).
 */
export interface LimitSources {
  settings?: Partial<RunLimits>;
  overrides?: Partial<RunLimits>;
  /** The editor's engine setting (nex.run.engine), below the manifest's `engine`. */
  engineSetting?: JsEngine;
}

/** The engine a run of a JavaScript function uses: `override` (a flag, a debug run), the manifest's `engine`, the setting, QuickJS. */
export function effectiveEngine(fn: ValidFunction, sources: LimitSources = {}, override?: JsEngine): JsEngine {
  return override ?? fn.manifest.engine ?? sources.engineSetting ?? 'quickjs';
}

/** The limits one run of `fn` gets. */
export function effectiveLimits(fn: ValidFunction, sources: LimitSources = {}): RunLimits {
  const fromManifest: Partial<RunLimits> = {};
  if (fn.manifest.limits?.timeoutMs !== undefined) {
    fromManifest.timeoutMs = fn.manifest.limits.timeoutMs;
  }
  if (fn.manifest.limits?.memoryMiB !== undefined) {
    fromManifest.memoryLimitBytes = fn.manifest.limits.memoryMiB * 1048576;
  }
  return { ...DEFAULT_LIMITS, ...defined(sources.settings), ...fromManifest, ...defined(sources.overrides) };
}

function defined<T extends object>(values: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Fresh in-memory host services for one run of `fn`: seeded from its mocks file (or `fromFile`
 * instead), then from `extra` (e.g. a trigger case's own mocks, named by `extraSource` in errors).
 */
export function freshMocks(fn: ValidFunction, options: { fromFile?: string; extra?: MockFixture; extraSource?: string } = {}): MockHostServices {
  const mock = mockHostServicesFor(LOCAL_NAMESPACE, fn.manifest.name, options.fromFile ?? mocksPath(fn));
  if (options.extra) {
    mock.seed(options.extra, options.extraSource ?? 'mocks');
  }
  return mock;
}

export interface FunctionRunInput {
  subject: string;
  payload: Uint8Array;
  limits?: LimitSources;
  /** Overrides the manifest's compat profile. */
  compat?: CompatProfile;
  /** Overrides the manifest's and the settings' JavaScript engine. */
  engine?: JsEngine;
  /** Serves host services (JavaScript only); default: fresh mocks seeded from the function's mocks file. */
  hostServices?: HostServicesBackend;
  /** Build a WebAssembly function first when its sources are newer than its artifact (default true). */
  build?: boolean;
  /** The Nex namespace the function runs in (it names its 0.2 buckets); default LOCAL_NAMESPACE. */
  namespace?: string;
  signal?: AbortSignal;
}

/** What a run tells along the way; every callback is optional. */
export interface RunSink {
  /** A build is about to start (its sources are newer than the artifact). */
  buildStarted?(fn: ValidFunction): void;
  /** A line of the build's output. */
  buildOutput?(line: string): void;
  /** The build ended, well or not (a failed build then throws BuildFailedError). */
  buildFinished?(fn: ValidFunction, result: BuildResult): void;
}

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
  /** Time from request to result, including the worker round trip (not the build). */
  wallMs: number;
}

/**
 * Runs `fn` once. Throws ProblemError when the function cannot be run at all (unreadable source or
 * mocks file), BuildFailedError when its build fails; everything the function itself does wrong
 * comes back in the outcome.
 */
export async function runFunction(executor: FunctionExecutor, fn: ValidFunction, input: FunctionRunInput, sink: RunSink = {}): Promise<FunctionRunResult> {
  if (input.build !== false) {
    await buildIfNeeded(fn, {
      signal: input.signal,
      onStart: () => sink.buildStarted?.(fn),
      onOutput: (line) => sink.buildOutput?.(line),
      onEnd: (result) => sink.buildFinished?.(fn, result),
    });
  }
  const common = {
    subject: input.subject,
    payload: input.payload,
    limits: effectiveLimits(fn, input.limits),
    profile: input.compat ?? fn.manifest.compat ?? DEFAULT_COMPAT,
    workload: fn.manifest.name,
    namespace: input.namespace ?? LOCAL_NAMESPACE,
  };
  let request: RunRequest;
  let hostServices: HostServicesBackend | undefined;
  if (fn.manifest.type === 'wasm') {
    request = { kind: 'wasm', artifactPath: fn.artifactPath!, env: fn.manifest.env, ...common };
  } else {
    let source: string;
    try {
      source = fs.readFileSync(fn.sourcePath!, 'utf8');
    } catch (e) {
      throw new ProblemError([{ file: fn.sourcePath!, message: `cannot read the source: ${(e as Error).message}` }]);
    }
    request = { kind: 'js', source, fileName: fn.sourcePath!, engine: effectiveEngine(fn, input.limits, input.engine), ...common };
    hostServices = input.hostServices ?? freshMocks(fn);
  }
  const started = performance.now();
  const outcome = await executor.run(request, { signal: input.signal, hostServices });
  return {
    functionName: fn.manifest.name,
    entryPath: entryPath(fn),
    subject: input.subject,
    payloadBytes: input.payload.length,
    payload: input.payload,
    outcome,
    hostServices,
    wallMs: performance.now() - started,
  };
}
