/**
 * A deployed artifact as the run pipeline takes a function: the bytes a node fetched, written to a
 * folder of the workload's own, with the manifest a deploy stands for. The local node and the
 * functions nexlet run what is deployed to them through this, as the editor runs a workspace function.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CompatProfile } from '../core/compat';
import type { FunctionLimits, ValidFunction } from '../core/manifest';

export interface DeployedArtifact {
  name: string;
  type: 'v8' | 'wasm';
  description?: string;
  triggers: string[];
  compat: CompatProfile;
  /** The environment: a node gives it to a WebAssembly function only (V8 never exposes it to JavaScript). */
  environment?: Record<string, string>;
  limits?: FunctionLimits;
  bytes: Uint8Array;
}

/** Writes the artifact into `dir` as `<fileBase>.js` or `.wasm` and returns the function that runs it. */
export function deployedFunction(dir: string, fileBase: string, artifact: DeployedArtifact): ValidFunction {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${fileBase}.${artifact.type === 'v8' ? 'js' : 'wasm'}`);
  fs.writeFileSync(file, artifact.bytes);
  return {
    dir,
    manifestPath: path.join(dir, 'nexfunction.json'),
    manifest: {
      name: artifact.name,
      type: artifact.type,
      description: artifact.description,
      triggers: artifact.triggers,
      compat: artifact.compat,
      ...(artifact.limits ? { limits: artifact.limits } : {}),
      ...(artifact.type === 'wasm' ? { artifact: path.basename(file), env: artifact.environment } : { source: path.basename(file) }),
    },
    sourcePath: artifact.type === 'v8' ? file : undefined,
    artifactPath: artifact.type === 'wasm' ? file : undefined,
    problems: [],
  };
}
