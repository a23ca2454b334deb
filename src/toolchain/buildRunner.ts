/**
 * Builds WebAssembly functions from source with the manifest's build command, when the sources
 * are newer than the artifact. The output streams to the caller; compiler errors (rustc, clang,
 * AssemblyScript, TinyGo/Go formats) come back as file problems; a missing toolchain comes back as
 * a message that says what to install.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FunctionDefinition, manifestFieldLocation, ValidFunction } from '../core/manifest';
import { detectRustWasiTarget, findRustWasiToolchain } from './toolchains';
import { BuildProblem, parseBuildProblems } from './buildProblems';

const IGNORED_DIRS = new Set(['target', 'node_modules', '.git', 'build', 'dist', 'out', 'triggers']);

export interface BuildResult {
  ok: boolean;
  exitCode: number | null;
  command: string;
  output: string;
  durationMs: number;
  problems: BuildProblem[];
  /** Set when the build tool itself is missing: what to install. */
  missingToolchain?: string;
}

/**
 * Whether the artifact is missing or older than any source file of the function, or than its
 * manifest (a changed build command or output makes the artifact stale, whatever the build's cwd).
 */
export function needsBuild(def: FunctionDefinition): boolean {
  if (!def.manifest?.build || !def.artifactPath) {
    return false;
  }
  let artifactTime: number;
  try {
    artifactTime = fs.statSync(def.artifactPath).mtimeMs;
  } catch {
    return true;
  }
  const manifestTime = fs.statSync(def.manifestPath, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return Math.max(manifestTime, newestSource(path.join(def.dir, def.manifest.build.cwd ?? '.'), def.artifactPath)) > artifactTime;
}

function newestSource(dir: string, artifact: string): number {
  let newest = 0;
  const walk = (d: string, depth: number) => {
    if (depth > 8) {
      return;
    }
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (!IGNORED_DIRS.has(entry.name) && !entry.name.startsWith('.')) {
          walk(full, depth + 1);
        }
      } else if (full !== artifact && !entry.name.endsWith('.wasm')) {
        newest = Math.max(newest, fs.statSync(full).mtimeMs);
      }
    }
  };
  walk(dir, 0);
  return newest;
}

/** Expands ${rustWasiTarget} in a build command: wasm32-wasip1 or wasm32-wasi, whichever is installed. */
export async function expandBuildCommand(command: string): Promise<string> {
  if (!command.includes('${rustWasiTarget}')) {
    return command;
  }
  return command.split('${rustWasiTarget}').join(await detectRustWasiTarget());
}

export async function buildFunction(def: ValidFunction, options: { onOutput?: (line: string) => void; signal?: AbortSignal } = {}): Promise<BuildResult> {
  const spec = def.manifest.build;
  if (!spec) {
    throw new Error(`${def.manifest.name} has no build command`);
  }
  const started = performance.now();
  const cwd = path.join(def.dir, spec.cwd ?? '.');
  let env = process.env;
  let command = spec.command;
  if (/\bcargo\b/.test(command)) {
    const rust = await findRustWasiToolchain();
    if (rust) {
      command = command.split('${rustWasiTarget}').join(rust.target);
      env = { ...process.env, RUSTC: rust.rustc, PATH: `${rust.binDir}${path.delimiter}${process.env.PATH ?? ''}` };
      options.onOutput?.(`using ${rust.rustc} for target ${rust.target}`);
    }
  }
  command = await expandBuildCommand(command);
  options.onOutput?.(`$ ${command}   (in ${cwd})`);
  let output = '';
  const exitCode = await new Promise<number | null>((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
    let pending = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      lines.forEach((l) => options.onOutput?.(l));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      output += `\n${e.message}`;
      resolve(null);
    });
    child.on('close', (code) => {
      if (pending) {
        options.onOutput?.(pending);
      }
      resolve(code);
    });
  });
  const problems = parseBuildProblems(output, cwd);
  if (exitCode === 0 && spec.output && def.artifactPath) {
    const produced = path.join(def.dir, await expandBuildCommand(spec.output));
    if (fs.existsSync(produced)) {
      fs.copyFileSync(produced, def.artifactPath);
      options.onOutput?.(`copied ${path.relative(def.dir, produced)} to ${def.manifest.artifact}`);
    } else {
      problems.push({ severity: 'error', file: def.manifestPath, field: 'build.output', message: `the build succeeded but did not write ${spec.output} (${produced})` });
    }
  }
  const missingToolchain = exitCode === 127 || /command not found|not found$/m.test(output) ? toolchainHint(command) : undefined;
  // A failure the compiler did not place (a missing tool, an unknown command, a crash) is the
  // build command's: it goes on the manifest's "build.command".
  if (exitCode !== 0 && !problems.some((p) => p.severity === 'error')) {
    const tail = output.trim().split('\n').slice(-1)[0]?.trim();
    problems.push({
      severity: 'error',
      file: def.manifestPath,
      ...manifestFieldLocation(def.manifestPath, ['build', 'command']),
      field: 'build.command',
      message: missingToolchain ?? `"${command}" failed${exitCode !== null ? ` with exit code ${exitCode}` : ''}${tail ? `: ${tail}` : ''}`,
    });
  }
  const artifactOk = exitCode === 0 && def.artifactPath !== undefined && fs.existsSync(def.artifactPath);
  if (exitCode === 0 && !artifactOk) {
    problems.push({ severity: 'error', file: def.manifestPath, field: 'artifact', message: `the build succeeded but did not produce ${def.manifest.artifact}: check "artifact" against the build's output path` });
  }
  return { ok: artifactOk, exitCode, command, output, durationMs: performance.now() - started, problems, missingToolchain };
}

/** What to install when a build tool is missing. */
export function toolchainHint(command: string): string {
  const tool = command.trim().split(/\s+/)[0];
  if (/cargo|rustc/.test(command)) {
    return `${tool} is not installed. Install Rust with the WASI target: on Debian "apt-get install rustc cargo libstd-rust-dev-wasm32"; elsewhere rustup and "rustup target add wasm32-wasip1"`;
  }
  if (/clang/.test(command)) {
    return 'clang with WASI is not installed: on Debian "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"; elsewhere the wasi-sdk';
  }
  if (/\basc\b|assemblyscript/.test(command)) {
    return 'AssemblyScript is not installed: run "npm install --save-dev assemblyscript @assemblyscript/wasi-shim" in the function folder';
  }
  if (/tinygo/.test(command)) {
    return 'TinyGo is not installed: see https://tinygo.org/getting-started/install/ (then "tinygo build -target=wasi")';
  }
  return `"${tool}" was not found: install it or fix the manifest's build command`;
}

/** A build that failed before a run; carries the build result for reports and diagnostics. */
export class BuildFailedError extends Error {
  constructor(
    readonly functionName: string,
    readonly result: BuildResult,
  ) {
    const first = result.problems.find((p) => p.severity === 'error');
    const where = first && first.field !== 'build.command' ? `${path.basename(first.file)}${first.line ? `:${first.line}` : ''}: ` : '';
    super(
      result.missingToolchain ??
        (first?.field === 'build.command'
          ? `the build of ${functionName} failed: ${first.message}`
          : `the build of ${functionName} failed${result.exitCode !== null ? ` (exit code ${result.exitCode})` : ''}${first ? `: ${where}${first.message}` : ''}`),
    );
    this.name = 'BuildFailedError';
  }
}

export interface BuildIfNeededOptions {
  onStart?: () => void;
  onOutput?: (line: string) => void;
  /** Called with every build's result, failed or not, before a failure is thrown. */
  onEnd?: (result: BuildResult) => void;
  signal?: AbortSignal;
}

/**
 * Builds the function first when it has a build command and its sources changed ("build, then
 * fail": the one place a run or a test builds). Throws BuildFailedError when the build fails.
 */
export async function buildIfNeeded(def: ValidFunction, options: BuildIfNeededOptions = {}): Promise<BuildResult | undefined> {
  if (!needsBuild(def)) {
    return undefined;
  }
  options.onStart?.();
  const result = await buildFunction(def, options);
  options.onEnd?.(result);
  if (!result.ok) {
    throw new BuildFailedError(def.manifest.name, result);
  }
  return result;
}
