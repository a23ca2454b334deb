/**
 * The first step of a run: from what the user points at (a function folder, its manifest, a file in
 * it, or a bare `.js`/`.wasm` file with no manifest around it) to a valid function.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CompatProfile } from '../core/compat';
import { FunctionManifest, functionDirFor, loadValidFunction, MANIFEST_FILE, ValidFunction, WORKLOAD_NAME_PATTERN } from '../core/manifest';

/** Thrown when the target is neither a function nor a file that can run bare. */
export class NotAFunctionError extends Error {
  override name = 'NotAFunctionError';
}

export interface ResolvedFunction {
  fn: ValidFunction;
  /** For a bare file: one line that says how it runs (type, name, profile). */
  notice?: string;
}

/** The workload type a bare file runs as, from its extension. */
export function bareFileType(file: string): 'v8' | 'wasm' | undefined {
  const extension = path.extname(file).toLowerCase();
  return extension === '.js' || extension === '.cjs' ? 'v8' : extension === '.wasm' ? 'wasm' : undefined;
}

/**
 * A function made of one file, as `nex devrun` takes one: the type from the extension, the name from
 * the file name (characters a workload name cannot hold become "-"), no triggers, no mocks.
 */
export function bareFunction(file: string, compat?: CompatProfile): ResolvedFunction {
  const type = bareFileType(file);
  if (!type) {
    throw new NotAFunctionError(`${file}: no ${MANIFEST_FILE} here or in the parent folder, and only a .js or .wasm file runs without one`);
  }
  const base = path.basename(file, path.extname(file));
  const name = base.replace(/[^a-zA-Z0-9_-]/g, '-') || 'function';
  if (!WORKLOAD_NAME_PATTERN.test(name)) {
    throw new NotAFunctionError(`${file}: "${name}" is not a workload name`);
  }
  const dir = path.dirname(file);
  const manifest: FunctionManifest = type === 'v8' ? { name, type, source: path.basename(file) } : { name, type, artifact: path.basename(file) };
  if (compat) {
    manifest.compat = compat;
  }
  const fn: ValidFunction = {
    dir,
    manifestPath: path.join(dir, MANIFEST_FILE),
    manifest,
    sourcePath: type === 'v8' ? file : undefined,
    artifactPath: type === 'wasm' ? file : undefined,
    problems: [],
    bare: true,
  };
  const what = type === 'v8' ? 'JavaScript' : 'WebAssembly';
  return { fn, notice: `${path.basename(file)} has no ${MANIFEST_FILE}: running it as the ${what} function "${name}"${type === 'v8' ? `, profile ${compat ?? 'docs'}` : ''}` };
}

/**
 * Resolves a folder, manifest or file to a runnable function. Throws NotAFunctionError when there
 * is nothing to run there, ProblemError when the function's manifest has problems.
 */
export function resolveFunction(target: string, options: { compat?: CompatProfile } = {}): ResolvedFunction {
  const resolved = path.resolve(target);
  if (!fs.existsSync(resolved)) {
    throw new NotAFunctionError(`${target}: no such file or folder`);
  }
  const isFile = fs.statSync(resolved).isFile();
  const dir = functionDirFor(resolved);
  if (!dir) {
    if (isFile) {
      return bareFunction(resolved, options.compat);
    }
    throw new NotAFunctionError(`${target}: no ${MANIFEST_FILE} found here or in the parent folder; a function is a folder holding one (or name a bare .js or .wasm file)`);
  }
  return { fn: loadValidFunction(dir) };
}
