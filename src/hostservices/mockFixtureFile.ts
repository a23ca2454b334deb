/** Reads a function's host-service fixture ("mocks" file) with errors that name file and line. */
import * as fs from 'fs';
import { ParseError, parse, printParseErrorCode } from 'jsonc-parser';
import { defaultBucket } from '../core/compat';
import { lineAndColumn, ProblemError } from '../core/problems';
import { MockFixture, MockHostServices } from './mockBackend';

export function readMockFixture(file: string): MockFixture {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProblemError([{ file, message: `cannot read the mocks file: ${(e as Error).message}` }]);
  }
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0) {
    throw new ProblemError(errors.map((e) => ({ file, ...lineAndColumn(text, e.offset), message: `invalid JSON: ${printParseErrorCode(e.error)}` })));
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProblemError([{ file, line: 1, message: 'a mocks file is a JSON object, e.g. {"kv": {"greeting": "hello"}}' }]);
  }
  return value as MockFixture;
}

/** A mock backend for one function, seeded from its mocks file when it has one. */
export function mockHostServicesFor(namespace: string, workload: string, mocksFile?: string): MockHostServices {
  const mock = new MockHostServices(defaultBucket(namespace, workload, 'kv'), defaultBucket(namespace, workload, 'obj'));
  if (mocksFile) {
    try {
      mock.seed(readMockFixture(mocksFile), mocksFile);
    } catch (e) {
      if (e instanceof ProblemError) {
        throw e;
      }
      throw new ProblemError([{ file: mocksFile, message: (e as Error).message.replace(`${mocksFile}: `, '') }]);
    }
  }
  return mock;
}
