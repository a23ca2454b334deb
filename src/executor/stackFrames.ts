/**
 * Reading stack traces: QuickJS's (where in the user's file, without endless repeated frames), and
 * V8's for WebAssembly traps (the module's own frames, without the extension's JavaScript).
 */

/** The first frame in `fileName` gives the location (1-based line and, when present, column). */
export function locate(stack: string | undefined, fileName: string): { line?: number; column?: number } {
  if (!stack) {
    return {};
  }
  for (const frame of stack.split('\n')) {
    const idx = frame.lastIndexOf(fileName + ':');
    if (idx >= 0) {
      const m = /^:(\d+)(?::(\d+))?/.exec(frame.slice(idx + fileName.length));
      if (m) {
        return { line: Number(m[1]), column: m[2] ? Number(m[2]) : undefined };
      }
    }
  }
  return {};
}

/** Collapses runs of identical frames (deep recursion) into one line with a count. */
export function collapseStack(stack: string): string {
  const out: string[] = [];
  const frames = stack.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i < frames.length; ) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[i]) {
      j++;
    }
    out.push(j > i ? `${frames[i]} (repeated ${j - i + 1} times)` : frames[i]);
    i = j + 1;
  }
  return out.slice(0, 30).join('\n');
}

/** A WebAssembly trap as a user sees it. */
export interface WasmTrap {
  /** The trap's own message, e.g. "unreachable" or "memory access out of bounds". */
  message: string;
  /** The module function the trap happened in, from the name section ("function #3" without one). */
  functionName?: string;
  /** e.g. "RuntimeError: unreachable" and the module's frames, innermost first. */
  stack: string;
}

/** A V8 frame in a wasm module: "at name (wasm://wasm/<module>:wasm-function[3]:0x62)", or without "name (". */
const WASM_FRAME = /^\s*at (?:(.+?) \()?wasm:\/\/wasm\/([^:)]+):wasm-function\[(\d+)\]:0x[0-9a-f]+\)?$/;

/**
 * What a trap shows: its message and the frames of the module that trapped, nothing else. @wasmer/wasi
 * wraps a trap in its own error ("Error while running start function: RuntimeError:
 * JsValue(RuntimeError: unreachable\n<stack>)"), whose stack also holds the worker's JavaScript
 * frames and @wasmer/wasi's own wasm frames: the innermost error is taken, and of its frames only
 * those of the first wasm module in it, the one that trapped. Frames are shown without byte offsets:
 * the executor rewrites modules slightly (see wasmModule.ts), so offsets would not match the
 * user's file; function indices and names do.
 */
export function wasmTrap(error: unknown): WasmTrap {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  const wrapped = text.lastIndexOf('JsValue(');
  const inner = wrapped >= 0 ? text.slice(wrapped + 'JsValue('.length) : text;
  const [head, ...lines] = inner.split('\n');
  const headline = wrapped >= 0 || !(error instanceof Error) ? head : `${error.name}: ${error.message}`;
  const named = /^(\w*Error): (.*)$/.exec(headline);
  const frames: string[] = [];
  let functionName: string | undefined;
  let trappedModule: string | undefined;
  for (const line of lines) {
    const frame = WASM_FRAME.exec(line);
    if (!frame || (trappedModule !== undefined && frame[2] !== trappedModule)) {
      continue;
    }
    trappedModule = frame[2];
    const name = frame[1]?.replace(/^\$/, '');
    functionName ??= name ?? `function #${frame[3]}`;
    frames.push(name ? `    at ${name} (wasm-function[${frame[3]}])` : `    at wasm-function[${frame[3]}]`);
  }
  const message = named ? named[2] : headline;
  return { message, functionName, stack: collapseStack([named ? headline : `RuntimeError: ${headline}`, ...frames].join('\n')) };
}
