/** Reading QuickJS stack traces: where in the user's file, and without endless repeated frames. */

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
