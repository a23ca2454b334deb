import * as fs from 'fs';
import * as path from 'path';
import { findNodeAtLocation, Node as JsonNode, ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { COMPAT_PROFILES, CompatProfile, isCompatProfile } from './compat';
import { FileProblem, lineAndColumn } from './problems';

/** The file that marks a folder as a Nex function. */
export const MANIFEST_FILE = 'nexfunction.json';

/** Nex workload type strings for functions (control API `NexWorkload`). */
export type WorkloadType = 'v8' | 'wasm';

/**
 * The minimal manifest of this version: name, type and source. Later versions add triggers,
 * env, compat, limits and mocks; unknown fields are kept out of the way, not refused.
 */
export interface FunctionManifest {
  name: string;
  type: WorkloadType;
  /** Source file, relative to the function folder. */
  source: string;
  /** Which Nex behaviour local runs reproduce; default "docs". */
  compat?: CompatProfile;
  /** Host-service fixture for local runs (JSON), relative to the function folder. */
  mocks?: string;
}

/** A function found on disk: its folder, manifest file and, when valid, the parsed manifest. */
export interface FunctionDefinition {
  dir: string;
  manifestPath: string;
  manifest?: FunctionManifest;
  /** Absolute path of the source file, when the manifest is valid. */
  sourcePath?: string;
  problems: FileProblem[];
}

export const WORKLOAD_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

/** Parses and checks a manifest's text. Never throws: everything wrong comes back as problems. */
export function parseManifest(manifestPath: string, text: string): { manifest?: FunctionManifest; problems: FileProblem[] } {
  const problems: FileProblem[] = [];
  const at = (offset: number, message: string, field?: string): FileProblem => ({
    file: manifestPath,
    ...lineAndColumn(text, offset),
    field,
    message,
  });
  const parseErrors: ParseError[] = [];
  const root = parseTree(text, parseErrors, { allowTrailingComma: false, disallowComments: true });
  if (parseErrors.length > 0 || !root) {
    for (const e of parseErrors) {
      problems.push(at(e.offset, `invalid JSON: ${describeParseError(printParseErrorCode(e.error))}`));
    }
    if (problems.length === 0) {
      problems.push(at(0, 'the file is empty; expected a JSON object such as {"name": "echo", "type": "v8", "source": "echo.js"}'));
    }
    return { problems };
  }
  if (root.type !== 'object') {
    return { problems: [at(root.offset, `expected a JSON object, found ${root.type}`)] };
  }
  const stringField = (field: string): { value?: string; node?: JsonNode } => {
    const node = findNodeAtLocation(root, [field]);
    if (!node) {
      return {};
    }
    if (node.type !== 'string') {
      problems.push(at(node.offset, `must be a string, found ${node.type}`, field));
      return { node };
    }
    return { value: node.value as string, node };
  };

  const name = stringField('name');
  if (name.value === undefined && !name.node) {
    problems.push(at(root.offset, 'is missing: give the workload name, e.g. "name": "echo"', 'name'));
  } else if (name.value !== undefined && !WORKLOAD_NAME_PATTERN.test(name.value)) {
    problems.push(at(name.node!.offset, `"${name.value}" is not a valid workload name: use letters, digits, "_" and "-" only (Nex 0.2.4+ refuses others)`, 'name'));
  }

  const type = stringField('type');
  if (type.value === undefined && !type.node) {
    problems.push(at(root.offset, 'is missing: use "v8" for a JavaScript function or "wasm" for a WebAssembly one', 'type'));
  } else if (type.value !== undefined && type.value !== 'v8' && type.value !== 'wasm') {
    problems.push(at(type.node!.offset, `"${type.value}" is not a function type: use "v8" (JavaScript) or "wasm" (WebAssembly)`, 'type'));
  }

  const source = stringField('source');
  if (source.value === undefined && !source.node) {
    problems.push(at(root.offset, 'is missing: name the function\'s source file, e.g. "source": "echo.js"', 'source'));
  } else if (source.value !== undefined) {
    if (source.value.trim() === '') {
      problems.push(at(source.node!.offset, 'is empty: name the function\'s source file', 'source'));
    } else if (path.isAbsolute(source.value) || source.value.split(/[\\/]/).includes('..')) {
      problems.push(at(source.node!.offset, 'must be a path inside the function folder (relative, without "..")', 'source'));
    }
  }

  const compat = stringField('compat');
  if (compat.value !== undefined && !isCompatProfile(compat.value)) {
    problems.push(at(compat.node!.offset, `"${compat.value}" is not a compatibility profile: use ${COMPAT_PROFILES.map((p) => `"${p}"`).join(', ')}`, 'compat'));
  }
  const mocks = stringField('mocks');
  if (mocks.value !== undefined && (mocks.value.trim() === '' || path.isAbsolute(mocks.value) || mocks.value.split(/[\\/]/).includes('..'))) {
    problems.push(at(mocks.node!.offset, 'must name a JSON file inside the function folder (relative, without "..")', 'mocks'));
  }

  if (problems.length > 0) {
    return { problems };
  }
  const manifest: FunctionManifest = { name: name.value!, type: type.value as WorkloadType, source: source.value! };
  if (compat.value !== undefined) {
    manifest.compat = compat.value as CompatProfile;
  }
  if (mocks.value !== undefined) {
    manifest.mocks = mocks.value;
  }
  return { manifest, problems };
}

function describeParseError(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'invalid number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected ":"',
    CommaExpected: 'expected "," between entries',
    CloseBraceExpected: 'expected "}"',
    CloseBracketExpected: 'expected "]"',
    EndOfFileExpected: 'unexpected text after the end of the JSON value',
    InvalidCommentToken: 'comments are not allowed',
    UnexpectedEndOfComment: 'unterminated comment',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number',
    InvalidUnicode: 'invalid unicode escape',
    InvalidEscapeCharacter: 'invalid escape character',
    InvalidCharacter: 'invalid character in string',
  };
  return words[code] ?? code;
}

/** Reads a function folder's manifest and checks that its source exists. */
export function loadFunction(dir: string): FunctionDefinition {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(manifestPath, 'utf8');
  } catch (e) {
    return { dir, manifestPath, problems: [{ file: manifestPath, message: `cannot read the manifest: ${(e as Error).message}` }] };
  }
  const { manifest, problems } = parseManifest(manifestPath, text);
  if (!manifest) {
    return { dir, manifestPath, problems };
  }
  const sourcePath = path.join(dir, manifest.source);
  const missing = (['source', 'mocks'] as const).filter((field) => manifest[field] !== undefined && !fs.existsSync(path.join(dir, manifest[field]!)));
  if (missing.length > 0) {
    const tree = parseTree(text)!;
    return {
      dir,
      manifestPath,
      manifest,
      problems: missing.map((field) => ({
        file: manifestPath,
        ...lineAndColumn(text, findNodeAtLocation(tree, [field])!.offset),
        field,
        message: `the file "${manifest[field]}" does not exist in ${dir}`,
      })),
    };
  }
  return { dir, manifestPath, manifest, sourcePath, problems };
}

/**
 * Resolves what a user points at (a function folder, its manifest, or its source file) to the
 * function folder. Returns undefined when no manifest is found.
 */
export function functionDirFor(target: string): string | undefined {
  let dir = fs.existsSync(target) && fs.statSync(target).isDirectory() ? target : path.dirname(target);
  for (let i = 0; i < 2; i++) {
    if (fs.existsSync(path.join(dir, MANIFEST_FILE))) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      break;
    }
    dir = parent;
  }
  return undefined;
}
