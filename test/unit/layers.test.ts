import * as assert from 'assert';
import * as path from 'path';
import { ESLint, Linter } from 'eslint';

// The layers of src/, as eslint.config.mjs enforces them (see the comment at its top):
// only src/vscode imports vscode; the core imports neither src/vscode nor src/cli;
// src/cli and src/vscode do not import each other; src/core imports no other src folder.

const ROOT = path.resolve(__dirname, '../../..'); // out/test/unit → repository root

function describeMessages(results: ESLint.LintResult[]): string {
  return results
    .flatMap((r) => r.messages.map((m) => `${path.relative(ROOT, r.filePath)}:${m.line}:${m.column} ${m.ruleId ?? ''} ${m.message}`))
    .join('\n');
}

describe('layers (eslint.config.mjs)', function () {
  this.timeout(60000);
  let eslint: ESLint;

  before(() => {
    eslint = new ESLint({ cwd: ROOT });
  });

  async function lint(filePath: string, code: string): Promise<Linter.LintMessage[]> {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, filePath) });
    return result.messages;
  }

  it('src/ keeps to its layers', async () => {
    const results = await eslint.lintFiles(['src']);
    const linted = results.map((r) => path.relative(ROOT, r.filePath).split(path.sep).join('/'));
    // Guard against a config that silently lints nothing.
    for (const f of ['src/core/manifest.ts', 'src/cli/nexfn.ts', 'src/vscode/extension.ts']) {
      assert.ok(linted.includes(f), `${f} was not linted; linted: ${linted.join(', ')}`);
    }
    assert.ok(linted.every((f) => f.startsWith('src/')), `linted files outside src/: ${linted.join(', ')}`);
    const problems = describeMessages(results);
    assert.strictEqual(problems, '', `layer violations in src/:\n${problems}`);
  });

  // [file, code, rule, message]: each must yield exactly this one error.
  const violations: [string, string, string, RegExp][] = [
    ['src/core/x.ts', "import * as vscode from 'vscode';", 'no-restricted-imports', /src\/core must not import vscode/],
    ['src/core/x.ts', "import { x } from '../vscode/x';", 'no-restricted-imports', /src\/core must not import from src\/vscode/],
    ['src/core/x.ts', "import { main } from '../cli/nexfn';", 'no-restricted-imports', /src\/core must not import from src\/cli/],
    ['src/core/x.ts', "import { runFunctionOnce } from '../run/functionRun';", 'no-restricted-imports', /src\/core must not import from other src folders/],
    ['src/core/sub/x.ts', "import type { HostCall } from '../../hostservices/types';", 'no-restricted-imports', /src\/core must not import from other src folders/],
    ['src/run/x.ts', "import { NexExtension } from '../vscode/nexExtension';", 'no-restricted-imports', /The core must not import from src\/vscode/],
    ['src/executor/x.ts', "import { main } from '../cli/nexfn';", 'no-restricted-imports', /The core must not import from src\/cli/],
    ['src/executor/x.ts', "export { main } from '../cli/nexfn';", 'no-restricted-imports', /The core must not import from src\/cli/],
    ['src/triggers/x.ts', "import type { Uri } from 'vscode';", 'no-restricted-imports', /The core must not import vscode/],
    ['src/hostservices/x.ts', "export let uri: import('vscode').Uri | undefined;", 'no-restricted-syntax', /The core must not import vscode/],
    ['src/templates/x.ts', "const vscode = require('vscode');", 'no-restricted-syntax', /The core must not import vscode/],
    ['src/nats/x.ts', "const vscode = import('vscode');", 'no-restricted-syntax', /The core must not import vscode/],
    ['src/toolchain/x.ts', "import vscode = require('vscode');", 'no-restricted-imports', /The core must not import vscode/],
    ['src/devnode/x.ts', "import * as vscode from 'vscode';", 'no-restricted-imports', /The core must not import vscode/],
    ['src/nex/deep/x.ts', "import { ui } from '../../vscode/ui';", 'no-restricted-imports', /The core must not import from src\/vscode/],
    ['src/x.ts', "import * as vscode from 'vscode';", 'no-restricted-imports', /The core must not import vscode/],
    ['src/cli/x.ts', "import { NexExtension } from '../vscode/nexExtension';", 'no-restricted-imports', /src\/cli must not import from src\/vscode/],
    ['src/cli/x.ts', "import * as vscode from 'vscode';", 'no-restricted-imports', /src\/cli must not import vscode/],
    ['src/vscode/x.ts', "import { main } from '../cli/nexfn';", 'no-restricted-imports', /src\/vscode must not import from src\/cli/],
    ['src/vscode/commands/x.ts', "const { main } = require('../../cli/nexfn');", 'no-restricted-syntax', /src\/vscode must not import from src\/cli/],
  ];
  for (const [file, code, rule, message] of violations) {
    it(`rejects ${code} in ${file}`, async () => {
      const messages = await lint(file, code);
      const shown = messages.map((m) => `${m.ruleId}: ${m.message}`).join('\n');
      assert.strictEqual(messages.length, 1, `expected one error, got:\n${shown}`);
      assert.strictEqual(messages[0].ruleId, rule, shown);
      assert.strictEqual(messages[0].severity, 2, shown);
      assert.match(messages[0].message, message);
    });
  }

  it('cannot be switched off by an eslint-disable comment', async () => {
    const messages = await lint('src/core/x.ts', "// eslint-disable-next-line no-restricted-imports\nimport * as vscode from 'vscode';");
    assert.ok(messages.some((m) => m.ruleId === 'no-restricted-imports' && m.severity === 2), messages.map((m) => m.message).join('\n'));
  });

  const allowed: [string, string][] = [
    ['src/vscode/x.ts', "import 'vscode';"],
    ['src/vscode/commands/x.ts', "import * as vscode from 'vscode';\nimport { ui } from '../ui';\nimport { loadFunction } from '../../core/manifest';"],
    ['src/cli/x.ts', "import { loadFunction } from '../core/manifest';\nimport { testCommand } from './testCommands';"],
    ['src/run/x.ts', "import { loadFunction } from '../core/manifest';\nimport type { HostCall } from '../hostservices/types';"],
    // Resolves to src/run/vscode, not src/vscode.
    ['src/run/sub/x.ts', "import { x } from '../vscode/x';"],
    ['src/core/x.ts', "import { MANIFEST_FILE } from './manifest';\nimport * as fs from 'fs';"],
  ];
  for (const [file, code] of allowed) {
    it(`allows ${code.split('\n').join(' ')} in ${file}`, async () => {
      const messages = await lint(file, code);
      assert.deepStrictEqual(messages.map((m) => `${m.ruleId}: ${m.message}`), []);
    });
  }
});
