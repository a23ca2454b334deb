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

/** Unsigned LEB128, as wasm writes lengths. */
function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** The smallest valid wasm module: its header. */
export const EMPTY_WASM_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** `n` as a 5-byte LEB128 (padded with continuation bytes, which wasm allows for a u32). */
function leb128Fixed5(n: number): number[] {
  return [0, 1, 2, 3, 4].map((i) => ((n >>> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
}

/** `module` with a custom section ("padding") appended, so it is exactly `size` bytes and still valid (large sizes too). */
export function padWasm(module: Uint8Array, size: number): Uint8Array {
  const name = [...new TextEncoder().encode('padding')];
  const nameField = [...leb128(name.length), ...name];
  // The section's size field is always 5 bytes, so every size from the smallest up fits exactly.
  const body = size - module.length - 1 - 5;
  if (body < nameField.length) {
    throw new Error(`a ${module.length}-byte module cannot be padded to ${size} bytes`);
  }
  const out = new Uint8Array(size);
  out.set(module);
  out.set([0x00, ...leb128Fixed5(body), ...nameField], module.length);
  return out;
}
