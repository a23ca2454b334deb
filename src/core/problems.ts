import { ParseErrorCode, printParseErrorCode } from 'jsonc-parser';

/** A problem found in a user's file, located precisely enough to show as a diagnostic. */
export interface FileProblem {
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** The JSON field the problem is about, e.g. "source". */
  field?: string;
  message: string;
}

export function formatProblem(p: FileProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : p.file;
  return `${where}: ${p.field ? `"${p.field}": ` : ''}${p.message}`;
}

/** Converts a 0-based character offset into 1-based line and column. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** An error that carries file problems, thrown where a caller cannot go on. */
export class ProblemError extends Error {
  constructor(readonly problems: FileProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ProblemError';
  }
}

/** Whether a problem is a JSON syntax error (see jsonErrorText), not one of the file's content. */
export function isJsonSyntaxProblem(p: FileProblem): boolean {
  return p.message.startsWith('invalid JSON: ');
}

/** A JSON parse error in words, as "invalid JSON: …". */
export function jsonErrorText(error: ParseErrorCode): string {
  const code = printParseErrorCode(error);
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'invalid number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected ":"',
    CommaExpected: 'expected "," between entries',
    CloseBraceExpected: 'expected "}"',
    CloseBracketExpected: 'expected "]"',
    EndOfFileExpected: 'unexpected text after the end of the JSON value',
    InvalidCommentToken: 'comments are not allowed',
    UnexpectedEndOfComment: 'unterminated comment',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number',
    InvalidUnicode: 'invalid unicode escape',
    InvalidEscapeCharacter: 'invalid escape character',
    InvalidCharacter: 'invalid character in string',
  };
  return `invalid JSON: ${words[code] ?? code}`;
}
