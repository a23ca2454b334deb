import * as fs from 'fs';
import * as path from 'path';
import { findNodeAtLocation, Node as JsonNode, ParseError, parseTree } from 'jsonc-parser';
import { COMPAT_PROFILES, CompatProfile, isCompatProfile, isJsEngine, JS_ENGINES, JsEngine } from './compat';
import { FileProblem, jsonErrorText, lineAndColumn, ProblemError } from './problems';
import { DEFAULT_NAMESPACE, NAMESPACE_PATTERN, triggerSubjectProblem } from './subject';

/** The file that marks a folder as a Nex function. */
export const MANIFEST_FILE = 'nexfunction.json';

/** Nex workload type strings for functions (control API `NexWorkload`). */
export type WorkloadType = 'v8' | 'wasm';

/** How to build a WebAssembly function's artifact from source. */
export interface BuildSpec {
  /** A shell command, e.g. "cargo build --target ${rustWasiTarget} --release". */
  command: string;
  /** Working directory, relative to the function folder (default: the folder). */
  cwd?: string;
  /** The file the build writes, relative to the function folder, when it is not the artifact itself: copied to the artifact after a build. */
  output?: string;
}

/** Per-function limits for local runs. */
export interface FunctionLimits {
  timeoutMs?: number;
  memoryMiB?: number;
}

/**
 * The Nex a function deploys to: `0.2`/`0.3` name the deploy format of a 0.2.x/0.3.x node whose
 * version does not tell; `0.4` deploys to Nex 0.4 nodes (AUCTION + ADEPLOY to the functions nexlet)
 * even when 0.2/0.3 nodes answer too.
 */
export type DeployNodeVersion = '0.2' | '0.3' | '0.4';

/** The node versions `deploy.nodeVersion` may name. */
export const DEPLOY_NODE_VERSIONS: readonly DeployNodeVersion[] = ['0.2', '0.3', '0.4'];

/** How many instances `deploy.instances` may ask for. */
export const MAX_DEPLOY_INSTANCES = 64;

/** Deploy defaults; what a deploy is asked for (command options, CLI flags) wins over them. */
export interface DeploySettings {
  /** The Nex namespace to deploy into: one NATS subject token (default "default"). */
  namespace?: string;
  /** Only nodes with all these tags take part in the auction that picks the node. */
  tags?: Record<string, string>;
  /**
   * `0.2`/`0.3`: the deploy format to send when a node's version does not tell (a source build
   * reports "development"); `0.4`: deploy to Nex 0.4 nodes.
   */
  nodeVersion?: DeployNodeVersion;
  /** How many instances a Nex 0.4 deploy starts (default 1); they share the triggers in a queue group. */
  instances?: number;
}

/**
 * A function's manifest. Unknown fields are left alone, not refused, so later versions' fields do
 * not break older extensions.
 */
export interface FunctionManifest {
  name: string;
  description?: string;
  type: WorkloadType;
  /** The subjects that trigger the function (wildcards allowed). */
  triggers?: string[];
  limits?: FunctionLimits;
  /** JavaScript source file (type v8), relative to the function folder. */
  source?: string;
  /** WebAssembly file (type wasm), relative to the function folder. */
  artifact?: string;
  /** Builds the artifact; run before a run when sources are newer than the artifact. */
  build?: BuildSpec;
  /** Environment variables (not secrets) for the function. */
  env?: Record<string, string>;
  /** Which Nex behaviour local runs reproduce; default "docs". */
  compat?: CompatProfile;
  /** The local JavaScript engine: "quickjs" (default) or "v8" (as nodes run it; for CPU-heavy functions). */
  engine?: JsEngine;
  /** Host-service fixture for local runs (JSON), relative to the function folder. */
  mocks?: string;
  /**
   * Deploy defaults: the namespace, the tags a node must have to take the function, and the deploy
   * format for nodes whose version does not tell. A deploy's own options win over them.
   */
  deploy?: DeploySettings;
}

/** A function found on disk: its folder, manifest file and, when valid, the parsed manifest. */
export interface FunctionDefinition {
  dir: string;
  manifestPath: string;
  manifest?: FunctionManifest;
  /** Absolute path of the JavaScript source (type v8), when the manifest is valid. */
  sourcePath?: string;
  /** Absolute path of the wasm artifact (type wasm), when the manifest is valid. */
  artifactPath?: string;
  problems: FileProblem[];
}

/**
 * A function that can run: its manifest parsed and checked, its paths resolved, no problems. Code
 * that runs, builds or reports a function takes this type, so it never asserts `manifest!`.
 */
export interface ValidFunction extends FunctionDefinition {
  manifest: FunctionManifest;
  problems: [];
  /** Set when the function is a bare source or artifact file with no nexfunction.json around it. */
  bare?: boolean;
}

/** Whether the function can run (manifest valid, files present). */
export function isValid(def: FunctionDefinition | undefined): def is ValidFunction {
  return def !== undefined && def.manifest !== undefined && def.problems.length === 0 && (def.sourcePath ?? def.artifactPath) !== undefined;
}

/** The namespace a function deploys into when nothing else is asked for: its manifest's deploy.namespace, else `fallback` (the connection's; "default"). */
export function deployNamespace(fn: ValidFunction, fallback: string = DEFAULT_NAMESPACE): string {
  return fn.manifest.deploy?.namespace ?? fallback;
}

/**
 * The trigger subjects a deploy sends; refuses a function without any, naming its manifest, since
 * `runner` ("a node", "the functions nexlet") runs a function only for messages on them.
 */
export function deployTriggers(fn: ValidFunction, runner: string): string[] {
  const triggers = fn.manifest.triggers ?? [];
  if (triggers.length === 0) {
    throw new Error(`${fn.manifestPath}: "triggers" is empty: ${runner} runs a function only for messages on its trigger subjects, so it refuses one without any (add e.g. "triggers": ["${fn.manifest.name}.>"])`);
  }
  return [...triggers];
}

/** Every namespace the functions deploy into (deployNamespace), each once, sorted. */
export function deployNamespaces(fns: readonly ValidFunction[]): string[] {
  return [...new Set(fns.map((fn) => deployNamespace(fn)))].sort();
}

/** The file that represents the function in reports: its JS source or its wasm artifact. */
export function entryPath(def: ValidFunction): string;
export function entryPath(def: FunctionDefinition): string | undefined;
export function entryPath(def: FunctionDefinition): string | undefined {
  return def.sourcePath ?? def.artifactPath;
}

/** The function's host-service fixture file ("mocks"), as an absolute path, when it names one. */
export function mocksPath(def: FunctionDefinition): string | undefined {
  return def.manifest?.mocks ? path.join(def.dir, def.manifest.mocks) : undefined;
}

export const WORKLOAD_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

const DEPLOY_KEYS = ['namespace', 'tags', 'nodeVersion', 'instances'];
const BUILD_KEYS = ['command', 'cwd', 'output'];

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
      problems.push(at(e.offset, jsonErrorText(e.error)));
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

  const relativePath = (field: string, value: string | undefined, node: JsonNode | undefined, what: string) => {
    if (value === undefined) {
      return;
    }
    if (value.trim() === '') {
      problems.push(at(node!.offset, `is empty: name the ${what}`, field));
    } else if (path.isAbsolute(value) || value.split(/[\\/]/).includes('..')) {
      problems.push(at(node!.offset, 'must be a path inside the function folder (relative, without "..")', field));
    }
  };
  const source = stringField('source');
  const artifact = stringField('artifact');
  if (type.value === 'v8') {
    if (source.value === undefined && !source.node) {
      problems.push(at(root.offset, 'is missing: name the function\'s JavaScript file, e.g. "source": "echo.js"', 'source'));
    }
    relativePath('source', source.value, source.node, "function's source file");
  } else if (type.value === 'wasm') {
    if (artifact.value === undefined && !artifact.node) {
      problems.push(at(root.offset, 'is missing: name the WebAssembly file to run, e.g. "artifact": "target/wasm32-wasi/release/echo.wasm"', 'artifact'));
    }
    relativePath('artifact', artifact.value, artifact.node, 'WebAssembly file');
  }

  let build: BuildSpec | undefined;
  const buildNode = findNodeAtLocation(root, ['build']);
  if (buildNode) {
    if (buildNode.type !== 'object') {
      problems.push(at(buildNode.offset, 'must be an object such as {"command": "cargo build --target wasm32-wasi --release"}', 'build'));
    } else {
      const command = findNodeAtLocation(buildNode, ['command']);
      const cwd = findNodeAtLocation(buildNode, ['cwd']);
      const output = findNodeAtLocation(buildNode, ['output']);
      for (const prop of buildNode.children ?? []) {
        const key = String(prop.children?.[0]?.value);
        if (!BUILD_KEYS.includes(key)) {
          problems.push(at(prop.offset, `"${key}" is not a build setting: use ${BUILD_KEYS.map((k) => `"${k}"`).join(', ')}`, 'build'));
        }
      }
      if (output && output.type !== 'string') {
        problems.push(at(output.offset, 'must be the path of the file the build writes, relative to the function folder', 'build.output'));
      }
      if (!command || command.type !== 'string' || String(command.value).trim() === '') {
        problems.push(at((command ?? buildNode).offset, 'needs "command": the shell command that builds the artifact', 'build.command'));
      } else if (cwd && cwd.type !== 'string') {
        problems.push(at(cwd.offset, 'must be a folder path relative to the function folder', 'build.cwd'));
      } else {
        build = { command: command.value as string };
        if (cwd) {
          relativePath('build.cwd', cwd.value as string, cwd, 'working folder');
          build.cwd = cwd.value as string;
        }
        if (output?.type === 'string') {
          relativePath('build.output', output.value as string, output, 'file the build writes');
          build.output = output.value as string;
        }
      }
    }
    if (type.value === 'v8') {
      problems.push(at(buildNode.offset, 'is for WebAssembly functions: a JavaScript function runs its source as it is', 'build'));
    }
  }

  let env: Record<string, string> | undefined;
  const envNode = findNodeAtLocation(root, ['env']);
  if (envNode) {
    if (envNode.type !== 'object') {
      problems.push(at(envNode.offset, 'must be an object of names to text values, e.g. {"LEVEL": "debug"}', 'env'));
    } else {
      env = {};
      for (const prop of envNode.children ?? []) {
        const [key, value] = prop.children ?? [];
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key?.value))) {
          problems.push(at(key.offset, `"${key?.value}" is not a valid environment variable name (letters, digits and _, not starting with a digit)`, 'env'));
        } else if (value?.type !== 'string') {
          problems.push(at(value?.offset ?? prop.offset, `must be text: write "${key.value}": "${value?.value}" with quotes`, `env.${key.value}`));
        } else {
          env[key.value as string] = value.value as string;
        }
      }
    }
  }

  const description = stringField('description');

  let triggers: string[] | undefined;
  const triggersNode = findNodeAtLocation(root, ['triggers']);
  if (triggersNode) {
    if (triggersNode.type !== 'array') {
      problems.push(at(triggersNode.offset, 'must be a list of subjects, e.g. ["orders.created", "orders.*"]', 'triggers'));
    } else {
      triggers = [];
      for (const [i, item] of (triggersNode.children ?? []).entries()) {
        if (item.type !== 'string') {
          problems.push(at(item.offset, `must be a subject string, found ${item.type}`, `triggers[${i}]`));
          continue;
        }
        const problem = triggerSubjectProblem(item.value as string);
        if (problem) {
          problems.push(at(item.offset, `"${item.value}": ${problem}`, `triggers[${i}]`));
        } else if (triggers.includes(item.value as string)) {
          problems.push(at(item.offset, `"${item.value}" is listed twice`, `triggers[${i}]`));
        } else {
          triggers.push(item.value as string);
        }
      }
    }
  }

  let limits: FunctionLimits | undefined;
  const limitsNode = findNodeAtLocation(root, ['limits']);
  if (limitsNode) {
    if (limitsNode.type !== 'object') {
      problems.push(at(limitsNode.offset, 'must be an object such as {"timeoutMs": 5000, "memoryMiB": 64}', 'limits'));
    } else {
      limits = {};
      const bounds = { timeoutMs: [10, 600000], memoryMiB: [1, 4096] } as const;
      for (const key of Object.keys(bounds) as Array<keyof typeof bounds>) {
        const node = findNodeAtLocation(limitsNode, [key]);
        if (!node) {
          continue;
        }
        const [min, max] = bounds[key];
        if (node.type !== 'number' || !Number.isInteger(node.value) || node.value < min || node.value > max) {
          problems.push(at(node.offset, `must be a whole number from ${min} to ${max}`, `limits.${key}`));
        } else {
          limits[key] = node.value;
        }
      }
      for (const prop of limitsNode.children ?? []) {
        const key = String(prop.children?.[0]?.value);
        if (!(key in bounds)) {
          problems.push(at(prop.offset, `"${key}" is not a limit: use "timeoutMs" and "memoryMiB"`, 'limits'));
        }
      }
    }
  }

  let deploy: DeploySettings | undefined;
  const deployNode = findNodeAtLocation(root, ['deploy']);
  if (deployNode) {
    if (deployNode.type !== 'object') {
      problems.push(at(deployNode.offset, 'must be an object such as {"namespace": "prod", "tags": {"team": "a"}, "nodeVersion": "0.4", "instances": 2}', 'deploy'));
    } else {
      deploy = {};
      const namespace = findNodeAtLocation(deployNode, ['namespace']);
      if (namespace) {
        if (namespace.type !== 'string') {
          problems.push(at(namespace.offset, `must be a string, found ${namespace.type}: the namespace to deploy into, e.g. "prod"`, 'deploy.namespace'));
        } else if (!NAMESPACE_PATTERN.test(namespace.value as string)) {
          problems.push(at(namespace.offset, `"${namespace.value}" is not a namespace: a namespace is one NATS subject token (not empty; no ".", "*", ">" or whitespace), e.g. "prod"`, 'deploy.namespace'));
        } else {
          deploy.namespace = namespace.value as string;
        }
      }
      const tags = findNodeAtLocation(deployNode, ['tags']);
      if (tags) {
        if (tags.type !== 'object') {
          problems.push(at(tags.offset, 'must be an object of tag names to text values, e.g. {"team": "a"}', 'deploy.tags'));
        } else {
          const values: Record<string, string> = {};
          for (const prop of tags.children ?? []) {
            const [key, value] = prop.children ?? [];
            if (value?.type !== 'string') {
              problems.push(at(value?.offset ?? prop.offset, `must be text: write "${key?.value}": "${value?.value}" with quotes`, `deploy.tags.${key?.value}`));
            } else {
              values[key.value as string] = value.value as string;
            }
          }
          deploy.tags = values;
        }
      }
      const nodeVersion = findNodeAtLocation(deployNode, ['nodeVersion']);
      if (nodeVersion) {
        if (nodeVersion.type === 'number' && (DEPLOY_NODE_VERSIONS as readonly string[]).includes(String(nodeVersion.value))) {
          problems.push(at(nodeVersion.offset, `must be text: write "nodeVersion": "${nodeVersion.value}" with quotes`, 'deploy.nodeVersion'));
        } else if (nodeVersion.type !== 'string' || !(DEPLOY_NODE_VERSIONS as readonly unknown[]).includes(nodeVersion.value)) {
          const found = nodeVersion.type === 'string' ? `"${nodeVersion.value}"` : String(nodeVersion.value ?? nodeVersion.type);
          problems.push(at(nodeVersion.offset, `${found} is not a node version: use "0.2" or "0.3" (the deploy format, for nodes whose version does not tell) or "0.4" (deploy to Nex 0.4 nodes)`, 'deploy.nodeVersion'));
        } else {
          deploy.nodeVersion = nodeVersion.value as DeployNodeVersion;
        }
      }
      const instances = findNodeAtLocation(deployNode, ['instances']);
      if (instances) {
        if (instances.type !== 'number' || !Number.isInteger(instances.value) || instances.value < 1 || instances.value > MAX_DEPLOY_INSTANCES) {
          const found = instances.type === 'number' ? String(instances.value) : instances.type === 'string' ? `"${instances.value}"` : String(instances.value ?? instances.type);
          problems.push(at(instances.offset, `${found} is not a number of instances: use a whole number from 1 to ${MAX_DEPLOY_INSTANCES} (how many instances a Nex 0.4 deploy starts; they share the triggers)`, 'deploy.instances'));
        } else {
          deploy.instances = instances.value as number;
        }
      }
      for (const prop of deployNode.children ?? []) {
        const key = String(prop.children?.[0]?.value);
        if (!DEPLOY_KEYS.includes(key)) {
          problems.push(at(prop.offset, `"${key}" is not a deploy setting: use ${DEPLOY_KEYS.map((k) => `"${k}"`).join(', ')}`, 'deploy'));
        }
      }
    }
  }

  const compat = stringField('compat');
  if (compat.value !== undefined && !isCompatProfile(compat.value)) {
    problems.push(at(compat.node!.offset, `"${compat.value}" is not a compatibility profile: use ${COMPAT_PROFILES.map((p) => `"${p}"`).join(', ')}`, 'compat'));
  }
  const engine = stringField('engine');
  if (engine.value !== undefined && !isJsEngine(engine.value)) {
    problems.push(at(engine.node!.offset, `"${engine.value}" is not a JavaScript engine: use ${JS_ENGINES.map((e) => `"${e}"`).join(' or ')}`, 'engine'));
  } else if (engine.value !== undefined && type.value === 'wasm') {
    problems.push(at(engine.node!.offset, 'applies to JavaScript functions only ("type": "v8"): WebAssembly always runs on @wasmer/wasi', 'engine'));
  }
  const mocks = stringField('mocks');
  if (mocks.value !== undefined && (mocks.value.trim() === '' || path.isAbsolute(mocks.value) || mocks.value.split(/[\\/]/).includes('..'))) {
    problems.push(at(mocks.node!.offset, 'must name a JSON file inside the function folder (relative, without "..")', 'mocks'));
  }

  if (problems.length > 0) {
    return { problems };
  }
  const manifest: FunctionManifest = { name: name.value!, type: type.value as WorkloadType };
  if (description.value !== undefined) {
    manifest.description = description.value;
  }
  if (triggers) {
    manifest.triggers = triggers;
  }
  if (limits) {
    manifest.limits = limits;
  }
  if (source.value !== undefined) {
    manifest.source = source.value;
  }
  if (artifact.value !== undefined) {
    manifest.artifact = artifact.value;
  }
  if (build) {
    manifest.build = build;
  }
  if (env) {
    manifest.env = env;
  }
  if (compat.value !== undefined) {
    manifest.compat = compat.value as CompatProfile;
  }
  if (engine.value !== undefined) {
    manifest.engine = engine.value as JsEngine;
  }
  if (mocks.value !== undefined) {
    manifest.mocks = mocks.value;
  }
  if (deploy) {
    manifest.deploy = deploy;
  }
  return { manifest, problems };
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
  const sourcePath = manifest.type === 'v8' ? path.join(dir, manifest.source!) : undefined;
  const artifactPath = manifest.type === 'wasm' ? path.join(dir, manifest.artifact!) : undefined;
  // A wasm artifact may not exist yet when the function has a build command.
  const required = (['source', 'mocks', ...(manifest.build ? [] : ['artifact'])] as const).filter((f) => f in manifest);
  const missing = required.filter((field) => !fs.existsSync(path.join(dir, manifest[field as 'source' | 'mocks' | 'artifact']!)));
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
        message:
          field === 'artifact'
            ? `the file "${manifest.artifact}" does not exist in ${dir}: build it, or add a "build" command that does`
            : `the file "${manifest[field as 'source' | 'mocks']}" does not exist in ${dir}`,
      })),
    };
  }
  return { dir, manifestPath, manifest, sourcePath, artifactPath, problems };
}

/**
 * Where a field of a manifest (e.g. ["build", "command"]) is, as 1-based line and column of its
 * value; the start of the file when it cannot be read or has no such field.
 */
export function manifestFieldLocation(manifestPath: string, field: Array<string | number>): { line: number; column: number } {
  try {
    const text = fs.readFileSync(manifestPath, 'utf8');
    const tree = parseTree(text);
    const node = tree && findNodeAtLocation(tree, field);
    return lineAndColumn(text, node?.offset ?? 0);
  } catch {
    return { line: 1, column: 1 };
  }
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

/** Loads a function that must be valid; throws ProblemError with its problems when it is not. */
export function loadValidFunction(dir: string): ValidFunction {
  const def = loadFunction(dir);
  if (!isValid(def)) {
    throw new ProblemError(def.problems.length > 0 ? def.problems : [{ file: def.manifestPath, message: 'the manifest is not valid' }]);
  }
  return def;
}
