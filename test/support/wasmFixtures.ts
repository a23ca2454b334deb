/**
 * Builds the WebAssembly test fixtures at test time (no committed binaries): WAT modules with npm
 * wabt, and C, Rust and AssemblyScript functions with their toolchains where installed.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const WAT_DIR = path.resolve(__dirname, '../../../test/fixtures/wasm');

/** Compiles test/fixtures/wasm/<name>.wat (with function names) into dir/<name>.wasm. */
export async function buildWat(name: string, dir: string): Promise<string> {
  const wabt = await (require('wabt') as () => Promise<{ parseWat: (file: string, text: string) => { resolveNames(): void; validate(): void; toBinary(o: object): { buffer: Uint8Array }; destroy(): void } }>)();
  const text = fs.readFileSync(path.join(WAT_DIR, `${name}.wat`), 'utf8');
  const module = wabt.parseWat(`${name}.wat`, text);
  try {
    module.resolveNames();
    module.validate();
    const out = path.join(dir, `${name}.wasm`);
    fs.writeFileSync(out, module.toBinary({ write_debug_names: true }).buffer);
    return out;
  } finally {
    module.destroy();
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Why a toolchain cannot be used here, or undefined when it can. */
export function toolchainMissing(kind: 'c' | 'rust'): string | undefined {
  try {
    if (kind === 'c') {
      execFileSync('clang', ['--version'], { stdio: 'ignore' });
      if (!fs.existsSync('/usr/lib/wasm32-wasi') && !fs.existsSync('/usr/share/wasi-sysroot') && !fs.existsSync('/usr/include/wasm32-wasi')) {
        return 'wasi-libc is not installed (apt-get install wasi-libc libclang-rt-14-dev-wasm32)';
      }
    } else {
      execFileSync('/usr/bin/rustc', ['--version'], { stdio: 'ignore' });
      const sysroot = execFileSync('/usr/bin/rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
      if (!fs.existsSync(path.join(sysroot, 'lib', 'rustlib', 'wasm32-wasi'))) {
        return "Debian's Rust has no wasm32-wasi standard library (apt-get install libstd-rust-dev-wasm32)";
      }
    }
    return undefined;
  } catch {
    return kind === 'c' ? 'clang is not installed (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)' : "Debian's rustc is not installed (apt-get install rustc cargo libstd-rust-dev-wasm32)";
  }
}
