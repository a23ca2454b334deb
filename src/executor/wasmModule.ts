/**
 * Just enough of the WebAssembly binary format to check a module before running it: the magic
 * number; the memory section, whose declared maximum the executor caps to the memory limit
 * (wasm memory is not bounded by worker resource limits, so growth is bounded here); and the code,
 * where memory.grow is routed through a function that remembers refusals (see watchMemoryGrow).
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

/** The exported global where an instrumented module keeps its largest refused memory.grow (see watchMemoryGrow). */
export const REFUSED_GROW_EXPORT = '__nex_refused_grow';

/** Section ids, in the order the binary format requires them (custom sections aside). */
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
const TYPE_SECTION = 1;
const IMPORT_SECTION = 2;
const FUNCTION_SECTION = 3;
const GLOBAL_SECTION = 6;
const EXPORT_SECTION = 7;
const CODE_SECTION = 10;
const OP_MEMORY_GROW = 0x40;
const OP_CALL = 0x10;

/** A position in a module's bytes, moved along as they are read. */
class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
  ) {}

  byte(): number {
    if (this.pos >= this.bytes.length) {
      throw new Error('truncated module');
    }
    return this.bytes[this.pos++];
  }

  u32(): number {
    const { value, next } = readU32(this.bytes, this.pos);
    this.pos = next;
    return value;
  }

  /** Skips a LEB128 number, signed or not, of any width. */
  leb(): void {
    while (this.byte() & 0x80) {
      // continuation bytes
    }
  }

  skip(n: number): void {
    this.pos += n;
  }

  /** A value type: one byte, or (ref null? heaptype) with a type index. */
  valType(): void {
    const b = this.byte();
    if (b === 0x63 || b === 0x64) {
      this.leb();
    }
  }

  /** A block type: empty (0x40), a value type, or a type index (s33). */
  blockType(): void {
    const b = this.bytes[this.pos];
    if (b === 0x63 || b === 0x64) {
      this.valType();
    } else {
      this.leb();
    }
  }

  /** A memory argument: alignment (with a memory index when bit 6 is set) and offset. */
  memArg(): void {
    if (this.u32() & 0x40) {
      this.leb();
    }
    this.leb();
  }
}

interface RawSection {
  id: number;
  start: number;
  contentStart: number;
  end: number;
}

function readSections(bytes: Uint8Array): RawSection[] {
  const out: RawSection[] = [];
  for (let pos = 8; pos < bytes.length; ) {
    const id = bytes[pos];
    const size = readU32(bytes, pos + 1);
    out.push({ id, start: pos, contentStart: size.next, end: size.next + size.value });
    pos = size.next + size.value;
  }
  return out;
}

/** Opcodes without immediates (control, parametric, numeric, reference tests). */
function hasNoImmediates(op: number): boolean {
  return op <= 0x01 || op === 0x05 || op === 0x0a || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b || (op >= 0x45 && op <= 0xc4) || op === 0xd1 || op === 0xd3 || op === 0xd4;
}

/**
 * Skips one instruction's immediates (the opcode is read). False for an instruction this reader
 * does not know (e.g. from the GC proposal): the module is then left as it is.
 */
function skipImmediates(c: Cursor, op: number): boolean {
  if (hasNoImmediates(op)) {
    return true;
  }
  switch (op) {
    case 0x02: // block
    case 0x03: // loop
    case 0x04: // if
    case 0x06: // try
      c.blockType();
      return true;
    case 0x07: // catch
    case 0x08: // throw
    case 0x09: // rethrow
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x12: // return_call
    case 0x14: // call_ref
    case 0x15: // return_call_ref
    case 0x18: // delegate
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
    case 0x26: // table.set
    case 0x3f: // memory.size
    case 0x40: // memory.grow
    case 0x41: // i32.const
    case 0x42: // i64.const
    case 0xd0: // ref.null
    case 0xd2: // ref.func
    case 0xd5: // br_on_null
    case 0xd6: // br_on_non_null
      c.leb();
      return true;
    case 0x0e: {
      // br_table
      const n = c.u32();
      for (let i = 0; i <= n; i++) {
        c.leb();
      }
      return true;
    }
    case 0x11: // call_indirect
    case 0x13: // return_call_indirect
      c.leb();
      c.leb();
      return true;
    case 0x1c: {
      // select with types
      const n = c.u32();
      for (let i = 0; i < n; i++) {
        c.valType();
      }
      return true;
    }
    case 0x1f: {
      // try_table
      c.blockType();
      const n = c.u32();
      for (let i = 0; i < n; i++) {
        if (c.byte() <= 0x01) {
          c.leb(); // the tag of catch / catch_ref
        }
        c.leb();
      }
      return true;
    }
    case 0x43: // f32.const
      c.skip(4);
      return true;
    case 0x44: // f64.const
      c.skip(8);
      return true;
    case 0xfc:
      return skipMiscImmediates(c, c.u32());
    case 0xfd:
      return skipSimdImmediates(c, c.u32());
    case 0xfe: {
      // atomics: a memory argument, but atomic.fence takes one zero byte
      const sub = c.u32();
      if (sub === 0x03) {
        c.skip(1);
        return true;
      }
      if (sub > 0x4e) {
        return false;
      }
      c.memArg();
      return true;
    }
    default:
      if (op >= 0x28 && op <= 0x3e) {
        c.memArg(); // loads and stores
        return true;
      }
      return false;
  }
}

/** 0xFC: saturating truncation, bulk memory and table instructions. */
function skipMiscImmediates(c: Cursor, sub: number): boolean {
  const counts = [0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1];
  if (sub >= counts.length) {
    return false;
  }
  for (let i = 0; i < counts[sub]; i++) {
    c.leb();
  }
  return true;
}

/** 0xFD: SIMD, including relaxed SIMD. */
function skipSimdImmediates(c: Cursor, sub: number): boolean {
  if (sub <= 11 || sub === 92 || sub === 93) {
    c.memArg();
  } else if (sub === 12 || sub === 13) {
    c.skip(16); // v128.const, i8x16.shuffle
  } else if (sub >= 21 && sub <= 34) {
    c.skip(1); // lane index
  } else if (sub >= 84 && sub <= 91) {
    c.memArg();
    c.skip(1);
  } else if (sub > 0x113) {
    return false;
  }
  return true;
}

/**
 * A function body with each memory.grow of memory 0 replaced by a call to `growFn`, or undefined
 * when the body holds an instruction this reader does not know.
 */
function rewriteBody(bytes: Uint8Array, start: number, end: number, growFn: number[]): { body: Uint8Array; grows: number } | undefined {
  const c = new Cursor(bytes, start);
  const groups = c.u32();
  for (let i = 0; i < groups; i++) {
    c.leb();
    c.valType();
  }
  const parts: Uint8Array[] = [];
  let copied = start;
  let grows = 0;
  while (c.pos < end) {
    const at = c.pos;
    const op = c.byte();
    if (!skipImmediates(c, op)) {
      return undefined;
    }
    if (op === OP_MEMORY_GROW && readU32(bytes, at + 1).value === 0) {
      parts.push(bytes.subarray(copied, at), Uint8Array.from([OP_CALL, ...growFn]));
      copied = c.pos;
      grows++;
    }
  }
  if (c.pos !== end) {
    return undefined;
  }
  parts.push(bytes.subarray(copied, end));
  return { body: concat(parts), grows };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

function section(id: number, content: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([id, ...writeU32(content.length)]), content]);
}

/** A section's entries followed by more of them, with the count updated. */
function appendEntries(bytes: Uint8Array, raw: RawSection | undefined, added: number[][]): Uint8Array {
  if (!raw) {
    return concat([Uint8Array.from(writeU32(added.length)), ...added.map((a) => Uint8Array.from(a))]);
  }
  const count = readU32(bytes, raw.contentStart);
  return concat([Uint8Array.from(writeU32(count.value + added.length)), bytes.subarray(count.next, raw.end), ...added.map((a) => Uint8Array.from(a))]);
}

/** How many functions and globals a module imports (they come first in their index spaces). */
function countImports(bytes: Uint8Array, raw: RawSection | undefined): { functions: number; globals: number } {
  const counts = { functions: 0, globals: 0 };
  if (!raw) {
    return counts;
  }
  const c = new Cursor(bytes, raw.contentStart);
  const limits = () => {
    const flags = c.byte();
    c.leb();
    if (flags & 0x01) {
      c.leb();
    }
  };
  for (let n = c.u32(); n > 0; n--) {
    c.skip(c.u32()); // module name
    c.skip(c.u32()); // field name
    const kind = c.byte();
    if (kind === 0x00) {
      counts.functions++;
      c.leb();
    } else if (kind === 0x01) {
      c.valType();
      limits();
    } else if (kind === 0x02) {
      limits();
    } else if (kind === 0x03) {
      counts.globals++;
      c.valType();
      c.skip(1);
    } else {
      c.skip(1); // a tag: attribute and type index
      c.leb();
    }
  }
  return counts;
}

/** Whether every entry of the type section is a plain function type (no GC recursion groups). */
function plainTypes(bytes: Uint8Array, raw: RawSection): boolean {
  const c = new Cursor(bytes, raw.contentStart);
  for (let n = c.u32(); n > 0; n--) {
    if (c.byte() !== 0x60) {
      return false;
    }
    for (let results = 0; results < 2; results++) {
      for (let k = c.u32(); k > 0; k--) {
        c.valType();
      }
    }
  }
  return c.pos === raw.end;
}

/**
 * The module with every memory.grow routed through one added function that does the grow and,
 * when it is refused (-1), keeps the memory size it asked for, in pages, in an exported mutable
 * i64 global (REFUSED_GROW_EXPORT; the largest such request). A refused grow leaves no other
 * trace: a module that then gives up quietly would look like one that had nothing to say. Only
 * appends to the index spaces, so every existing function, global and type keeps its index (and
 * names). Returns undefined when the module never grows its memory, or uses something this
 * reader does not know (it then runs as it is).
 */
export function watchMemoryGrow(bytes: Uint8Array): Uint8Array | undefined {
  try {
    return instrumentGrow(bytes);
  } catch {
    return undefined;
  }
}

function instrumentGrow(bytes: Uint8Array): Uint8Array | undefined {
  const memory = findMemorySection(bytes);
  if (!memory || memory.flags & 0x04) {
    return undefined; // no memory of its own, or a 64-bit one
  }
  const sections = readSections(bytes);
  const find = (id: number) => sections.find((s) => s.id === id);
  const types = find(TYPE_SECTION);
  const functions = find(FUNCTION_SECTION);
  const code = find(CODE_SECTION);
  if (!types || !functions || !code || !plainTypes(bytes, types)) {
    return undefined;
  }
  const imported = countImports(bytes, find(IMPORT_SECTION));
  const typeIndex = readU32(bytes, types.contentStart).value;
  const growFn = writeU32(imported.functions + readU32(bytes, functions.contentStart).value);
  const globals = find(GLOBAL_SECTION);
  const refused = writeU32(imported.globals + (globals ? readU32(bytes, globals.contentStart).value : 0));

  const c = new Cursor(bytes, code.contentStart);
  const bodies: Uint8Array[] = [];
  let grows = 0;
  for (let n = c.u32(); n > 0; n--) {
    const size = c.u32();
    const rewritten = rewriteBody(bytes, c.pos, c.pos + size, growFn);
    if (!rewritten) {
      return undefined;
    }
    bodies.push(Uint8Array.from(writeU32(rewritten.body.length)), rewritten.body);
    grows += rewritten.grows;
    c.skip(size);
  }
  if (grows === 0) {
    return undefined;
  }
  // (func (param $pages i32) (result i32) (local $old i32) (local $asked i64)
  //   (local.tee $old (memory.grow (local.get $pages)))
  //   (if (i32.eq (i32.const -1))
  //     (local.tee $asked (i64.add (i64.extend_i32_u (memory.size)) (i64.extend_i32_u (local.get $pages))))
  //     (if (i64.gt_u (global.get $refused)) (global.set $refused (local.get $asked))))
  //   (local.get $old))
  const wrapper = [
    ...[0x02, 0x01, 0x7f, 0x01, 0x7e],
    ...[0x20, 0x00, 0x40, 0x00, 0x22, 0x01, 0x41, 0x7f, 0x46, 0x04, 0x40],
    ...[0x3f, 0x00, 0xad, 0x20, 0x00, 0xad, 0x7c, 0x22, 0x02, 0x23, ...refused, 0x56, 0x04, 0x40],
    ...[0x20, 0x02, 0x24, ...refused, 0x0b, 0x0b],
    ...[0x20, 0x01, 0x0b],
  ];
  const exportName = [...Buffer.from(REFUSED_GROW_EXPORT, 'utf8')];
  const replaced = new Map<number, Uint8Array>([
    [TYPE_SECTION, appendEntries(bytes, types, [[0x60, 0x01, 0x7f, 0x01, 0x7f]])],
    [FUNCTION_SECTION, appendEntries(bytes, functions, [writeU32(typeIndex)])],
    [GLOBAL_SECTION, appendEntries(bytes, globals, [[0x7e, 0x01, 0x42, 0x00, 0x0b]])],
    [EXPORT_SECTION, appendEntries(bytes, find(EXPORT_SECTION), [[...writeU32(exportName.length), ...exportName, 0x03, ...refused]])],
    [CODE_SECTION, concat([Uint8Array.from(writeU32(readU32(bytes, code.contentStart).value + 1)), ...bodies, Uint8Array.from([...writeU32(wrapper.length), ...wrapper])])],
  ]);
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  const rank = (id: number) => SECTION_ORDER.indexOf(id);
  for (const raw of sections) {
    // Sections the module lacks (global, export) go before the first section that must follow them.
    for (const [id, content] of replaced) {
      if (!find(id) && raw.id !== 0 && rank(raw.id) > rank(id)) {
        out.push(section(id, content));
        replaced.delete(id);
      }
    }
    const content = replaced.get(raw.id);
    out.push(content && raw.id !== 0 ? section(raw.id, content) : bytes.subarray(raw.start, raw.end));
  }
  return concat(out);
}
