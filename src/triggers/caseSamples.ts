/** A function's saved trigger cases as the invoke panel's one-click samples. */
import * as path from 'path';
import { editorPayload, InvokeSample } from '../run/invokeModel';
import type { TriggerFile } from './triggerCases';

/** The cases of these trigger files of the function in `functionDir` as samples, their payload files relative to that folder. */
export function caseSamples(functionDir: string, files: readonly TriggerFile[]): InvokeSample[] {
  return files.flatMap((file) =>
    file.cases.map((tc) => {
      const payload = editorPayload(tc.payload);
      if (payload.kind === 'file') {
        payload.text = path.relative(functionDir, path.resolve(path.dirname(tc.file), payload.text));
      }
      return { label: tc.name, source: 'case' as const, subject: tc.subject, payload };
    }),
  );
}
