/**
 * Runs trigger cases with the same engine as every other run, and checks their expectations.
 * Each case gets fresh host-service mocks: the function's mocks file, then the case's own mocks.
 */
import { isDeepStrictEqual } from 'util';
import * as path from 'path';
import { ValidFunction } from '../core/manifest';
import { tryDecodeUtf8 } from '../core/bytes';
import { decodeValue } from '../core/valueCodec';
import { FunctionRunner } from '../executor/functionRunner';
import { FunctionRunResult, freshMocks, LimitSources, runFunction, RunSink } from '../run/functionRun';
import { MockHostServices } from '../hostservices/mockBackend';
import { CaseExpectation, TriggerCase } from './triggerCases';

export type CaseStatus = 'passed' | 'failed';

export interface CaseResult {
  case: TriggerCase;
  status: CaseStatus;
  /** Why it failed, one line each. */
  failures: string[];
  /** For a failed comparison: what was expected and what came, as text (for diffs). */
  expected?: string;
  actual?: string;
  /** Soft problems (e.g. over maxMs): they do not fail the case. */
  warnings: string[];
  run?: FunctionRunResult;
  durationMs: number;
}

export interface CaseRunOptions {
  limits?: LimitSources;
  signal?: AbortSignal;
  /** Build a WebAssembly function first when needed (default true); a failed build throws BuildFailedError. */
  build?: boolean;
  sink?: RunSink;
}

/**
 * Runs one case through the run pipeline and checks its expectations. A build failure is thrown
 * (BuildFailedError: it concerns the function, not the case); anything else that keeps the case
 * from running (unreadable payload file, broken mocks) fails the case with the reason.
 */
export async function runTriggerCase(runner: FunctionRunner, fn: ValidFunction, tc: TriggerCase, options: CaseRunOptions = {}): Promise<CaseResult> {
  const started = performance.now();
  const failures: string[] = [];
  const warnings: string[] = [];
  let mock: MockHostServices | undefined;
  let run: FunctionRunResult;
  try {
    const payload = decodeValue(tc.payload, { where: `${path.basename(tc.file)}: case "${tc.name}" payload`, baseDir: path.dirname(tc.file) });
    if (fn.manifest.type === 'v8') {
      mock = freshMocks(fn, { extra: tc.mocks, extraSource: `${path.basename(tc.file)}: case "${tc.name}" mocks` });
    }
    run = await runFunction(runner, fn, { subject: tc.subject, payload, limits: options.limits, hostServices: mock, build: options.build, signal: options.signal }, options.sink);
  } catch (e) {
    if ((e as Error).name === 'BuildFailedError') {
      throw e;
    }
    return { case: tc, status: 'failed', failures: [(e as Error).message], warnings, durationMs: performance.now() - started };
  }
  const result: CaseResult = { case: tc, status: 'passed', failures, warnings, run, durationMs: performance.now() - started };
  check(tc.expect ?? {}, run, mock, result);
  result.status = failures.length > 0 ? 'failed' : 'passed';
  return result;
}

function check(expect: CaseExpectation, run: FunctionRunResult, mock: MockHostServices | undefined, result: CaseResult): void {
  const { failures } = result;
  const o = run.outcome;
  const compare = (expected: string, actual: string, message: string) => {
    failures.push(message);
    result.expected ??= expected;
    result.actual ??= actual;
  };
  if (o.error) {
    if (expect.error !== undefined) {
      if (!new RegExp(expect.error).test(o.error.message)) {
        compare(expect.error, o.error.message, `the error does not match /${expect.error}/: ${o.error.message}`);
      }
    } else {
      failures.push(`the function failed: ${o.error.message}${o.error.line ? ` (line ${o.error.line})` : ''}`);
    }
    return;
  }
  if (expect.error !== undefined) {
    failures.push(`expected an error matching /${expect.error}/, but the function ${o.reply === null ? 'sent no reply' : 'replied'}`);
  }
  const replyText = o.reply === null ? undefined : tryDecodeUtf8(o.reply);
  const shownReply = o.reply === null ? '(no reply)' : (replyText ?? `(${o.reply.length} binary bytes) ${Buffer.from(o.reply).toString('base64')}`);
  if (expect.noReply === true && o.reply !== null) {
    compare('(no reply)', shownReply, 'expected no reply, but the function replied');
  }
  if (expect.noReply === false && o.reply === null) {
    failures.push('expected a reply, but the function sent none');
  }
  const spec = expect.reply;
  if (spec !== undefined) {
    if (o.reply === null) {
      compare(typeof spec === 'string' ? spec : JSON.stringify(spec), '(no reply)', 'expected a reply, but the function sent none');
    } else if (typeof spec === 'string') {
      if (replyText !== spec) {
        compare(spec, shownReply, 'the reply differs from the expected text');
      }
    } else if ('json' in spec) {
      let actual: unknown;
      try {
        actual = JSON.parse(replyText ?? '');
      } catch {
        compare(JSON.stringify(spec.json, null, 2), shownReply, 'the reply is not JSON');
        actual = undefined;
      }
      if (actual !== undefined && !isDeepStrictEqual(actual, spec.json)) {
        compare(JSON.stringify(spec.json, null, 2), JSON.stringify(actual, null, 2), 'the reply JSON differs from the expected JSON');
      }
    } else if ('base64' in spec) {
      const actual = Buffer.from(o.reply).toString('base64');
      if (actual !== spec.base64) {
        compare(spec.base64, actual, 'the reply bytes differ (base64)');
      }
    } else if (!new RegExp(spec.regex).test(replyText ?? '')) {
      compare(`/${spec.regex}/`, shownReply, `the reply does not match /${spec.regex}/`);
    }
  }
  for (const pattern of expect.logs ?? []) {
    const re = new RegExp(pattern);
    if (!o.logs.some((l) => re.test(l.text))) {
      failures.push(`no log line matches /${pattern}/ (${o.logs.length} lines${o.logs.length ? `: ${o.logs.map((l) => JSON.stringify(l.text)).join(', ')}` : ''})`);
    }
  }
  for (const call of expect.hostCalls ?? []) {
    const found = o.hostCalls.some(
      (c) => c.service === call.service && c.method === call.method && (call.subject === undefined || c.args.subject === call.subject) && (call.key === undefined || c.args.key === call.key),
    );
    if (!found) {
      const made = o.hostCalls.map((c) => `${c.service}.${c.method}(${Object.entries(c.args).filter(([k]) => k !== 'value' && k !== 'bucket').map(([k, v]) => `${k}=${v}`).join(' ')})`);
      failures.push(`expected a host call ${call.service}.${call.method}${call.subject ? ` on "${call.subject}"` : ''}${call.key ? ` for key "${call.key}"` : ''}; calls made: ${made.join(', ') || 'none'}`);
    }
  }
  if (expect.kv && mock) {
    const bucket = mock.kv.get(mock.defaultKvBucket);
    for (const [key, value] of Object.entries(expect.kv)) {
      const entry = bucket?.get(key);
      if (value === null) {
        if (entry) {
          failures.push(`expected key "${key}" to be absent after the run, but it holds ${JSON.stringify(tryDecodeUtf8(entry.value) ?? '(binary)')}`);
        }
        continue;
      }
      const expected = decodeValue(value, { where: `expect.kv "${key}"` });
      if (!entry) {
        failures.push(`expected key "${key}" after the run, but it does not exist`);
      } else if (Buffer.compare(Buffer.from(entry.value), Buffer.from(expected)) !== 0) {
        compare(tryDecodeUtf8(expected) ?? '(binary)', tryDecodeUtf8(entry.value) ?? '(binary)', `key "${key}" holds another value after the run`);
      }
    }
  }
  if (expect.maxMs !== undefined && o.durationMs > expect.maxMs) {
    result.warnings.push(`took ${o.durationMs.toFixed(1)} ms, over maxMs ${expect.maxMs}`);
  }
}
