/**
 * Just enough of the WebAssembly binary format to check a module before running it: the magic
 * number, and the memory section, whose declared maximum the executor caps to the memory limit
 * (wasm memory is not bounded by worker resource limits, so growth is bounded here).
 */

export const WASM_PAGE_BYTES = 65536;
const MEMORY_SECTION = 5;

export function isWasm(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
}

function readU32(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let pos = offset;
  for (;;) {
    const byte = bytes[pos++];
    if (byte === undefined) {
      throw new Error('truncated module');
    }
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) {
      return { value, next: pos };
    }
    shift += 7;
  }
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) {
      byte |= 0x80;
    }
    out.push(byte);
  } while (value !== 0);
  return out;
}

export interface MemoryLimits {
  /** Initial size, in 64 KiB pages. */
  min: number;
  /** Declared maximum, in pages; undefined when the module declares none. */
  max?: number;
}

interface MemorySection {
  start: number; // offset of the section id byte
  end: number; // offset after the section
  limits: MemoryLimits;
  flags: number;
}

function findMemorySection(bytes: Uint8Array): MemorySection | undefined {
  let pos = 8;
  while (pos < bytes.length) {
    const start = pos;
    const id = bytes[pos++];
    const size = readU32(bytes, pos);
    const contentStart = size.next;
    const end = contentStart + size.value;
    if (id === MEMORY_SECTION) {
      const count = readU32(bytes, contentStart);
      if (count.value === 0) {
        return undefined;
      }
      const flags = bytes[count.next];
      const min = readU32(bytes, count.next + 1);
      const max = flags & 0x01 ? readU32(bytes, min.next).value : undefined;
      return { start, end, flags, limits: { min: min.value, max } };
    }
    pos = end;
  }
  return undefined;
}

/** The module's own memory limits, or undefined when it defines no memory. */
export function memoryLimits(bytes: Uint8Array): MemoryLimits | undefined {
  return findMemorySection(bytes)?.limits;
}

/**
 * The module with its memory's maximum lowered to `maxPages` (memory.grow beyond it then fails,
 * as it would on a smaller machine). Returns the bytes unchanged when the module already stays
 * within the cap or defines no memory of its own.
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  const section = findMemorySection(bytes);
  if (!section || (section.limits.max !== undefined && section.limits.max <= maxPages) || section.flags & 0x04) {
    return bytes;
  }
  const flags = (section.flags | 0x01) & 0xff;
  const content = [...writeU32(1), flags, ...writeU32(section.limits.min), ...writeU32(maxPages)];
  const rewritten = [MEMORY_SECTION, ...writeU32(content.length), ...content];
  const out = new Uint8Array(bytes.length - (section.end - section.start) + rewritten.length);
  out.set(bytes.subarray(0, section.start), 0);
  out.set(rewritten, section.start);
  out.set(bytes.subarray(section.end), section.start + rewritten.length);
  return out;
}

/** The wasm function a trap happened in, from V8's stack (names come from the name section). */
export function trapFunction(stack: string | undefined): string | undefined {
  const frame = stack?.split('\n').find((l) => l.includes('wasm://') || l.includes('wasm-function['));
  if (!frame) {
    return undefined;
  }
  const named = /at\s+(.+?)\s+\(wasm/.exec(frame);
  if (named) {
    return named[1].replace(/^\$/, '');
  }
  const index = /wasm-function\[(\d+)\]/.exec(frame);
  return index ? `function #${index[1]}` : undefined;
}
