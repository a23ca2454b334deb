/** Which WASI targets the installed toolchains have. */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

function run(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => execFile(cmd, args, { timeout: 10000 }, (err, stdout) => resolve(err ? undefined : stdout.trim())));
}

export interface RustWasiToolchain {
  /** The rustc to use (the one on PATH, or Debian's when only it has a WASI standard library). */
  rustc: string;
  /** The folder of the matching cargo, to put first on PATH. */
  binDir: string;
  /** wasm32-wasip1 (current toolchains) or wasm32-wasi (older ones, e.g. Debian's rustc 1.63). */
  target: string;
}

async function wasiTargetOf(rustc: string): Promise<string | undefined> {
  const sysroot = await run(rustc, ['--print', 'sysroot']);
  if (!sysroot) {
    return undefined;
  }
  return ['wasm32-wasip1', 'wasm32-wasi'].find((t) => fs.existsSync(path.join(sysroot, 'lib', 'rustlib', t)));
}

/**
 * A Rust toolchain that can build WASI modules: the one on PATH if it has a WASI standard library,
 * else Debian's /usr/bin/rustc (a rustup toolchain earlier on PATH often lacks the target and
 * cannot download it offline). Undefined when neither has one.
 */
export async function findRustWasiToolchain(): Promise<RustWasiToolchain | undefined> {
  const candidates = [process.env.RUSTC ?? 'rustc', '/usr/bin/rustc'];
  for (const rustc of candidates) {
    const target = await wasiTargetOf(rustc);
    if (target) {
      const resolved = rustc.includes('/') ? rustc : ((await run('sh', ['-c', `command -v ${rustc}`])) ?? rustc);
      return { rustc: resolved, binDir: path.dirname(resolved), target };
    }
  }
  return undefined;
}

/** The Rust WASI target to build for; wasm32-wasip1 when no toolchain has one (the build then says what is missing). */
export async function detectRustWasiTarget(): Promise<string> {
  return (await findRustWasiToolchain())?.target ?? 'wasm32-wasip1';
}
