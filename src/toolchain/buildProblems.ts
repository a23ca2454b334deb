/** Compiler messages as file problems: rustc, clang/gcc, AssemblyScript and Go/TinyGo formats. */
import * as path from 'path';
import { FileProblem } from '../core/problems';

export interface BuildProblem extends FileProblem {
  severity: 'error' | 'warning';
}

export function parseBuildProblems(output: string, cwd: string): BuildProblem[] {
  const problems: BuildProblem[] = [];
  // Compilers color their output even into pipes sometimes (wat2wasm does): drop ANSI escapes.
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const file = (f: string) => (path.isAbsolute(f) ? f : path.join(cwd, f));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // rustc: "error[E0308]: heading" then " --> src/main.rs:3:5", the source and the primary
    // label under the carets ("^^^ expected `u32`, found `&str`"), which completes the heading.
    const rust = /^(error|warning)(?:\[\w+\])?: (.+)$/.exec(line);
    if (rust) {
      const at = /^\s*--> (.+?):(\d+):(\d+)$/.exec(lines[i + 1] ?? '');
      if (at) {
        const label = primaryLabel(lines, i + 2);
        problems.push({ severity: rust[1] as 'error' | 'warning', message: label ? `${rust[2]}: ${label}` : rust[2], file: file(at[1]), line: Number(at[2]), column: Number(at[3]) });
      }
      continue;
    }
    // clang/gcc: "file.c:3:5: error: message"
    const gcc = /^(.+?):(\d+):(\d+): (fatal error|error|warning): (.+)$/.exec(line);
    if (gcc) {
      problems.push({ severity: gcc[4] === 'warning' ? 'warning' : 'error', message: gcc[5], file: file(gcc[1]), line: Number(gcc[2]), column: Number(gcc[3]) });
      continue;
    }
    // AssemblyScript: "ERROR TS2322: message" ... "└─ in assembly/index.ts(2,73)"
    const asc = /^(ERROR|WARNING) (?:\w+): (.+)$/.exec(line);
    if (asc) {
      for (let j = i + 1; j < Math.min(lines.length, i + 8); j++) {
        const at = /in (.+?)\((\d+),(\d+)\)\s*$/.exec(lines[j]);
        if (at) {
          problems.push({ severity: asc[1] === 'WARNING' ? 'warning' : 'error', message: asc[2], file: file(at[1]), line: Number(at[2]), column: Number(at[3]) });
          break;
        }
      }
      continue;
    }
    // Go/TinyGo: "./main.go:3:5: message"
    const go = /^(\S+\.go):(\d+):(\d+): (.+)$/.exec(line);
    if (go) {
      problems.push({ severity: 'error', message: go[4], file: file(go[1]), line: Number(go[2]), column: Number(go[3]) });
    }
  }
  return problems;
}

/** The label under the carets of a rustc snippet starting at `from`, up to the blank line that ends it. */
function primaryLabel(lines: readonly string[], from: number): string | undefined {
  for (let j = from; j < lines.length && lines[j].trim() !== ''; j++) {
    // Only marker lines ("   |   ---   ^^^ label"), not numbered source lines that may hold a "^".
    const marker = /^\s*\|[^^]*\^+ (.+)$/.exec(lines[j]);
    if (marker) {
      return marker[1].trim();
    }
  }
  return undefined;
}
