// @ts-check
// ESLint here checks one thing only: the layers of src/. No other rule is on.
//
//   src/vscode   the thin VS Code layer: the only place that may import `vscode`.
//   src/cli      the `nexfn` CLI.
//   everything else in src/ (src/core, src/executor, src/hostservices, src/nats,
//   src/run, src/toolchain, src/templates, src/triggers, and any folder added
//   later) is the pure core, which runs in the CLI and in plain Node tests.
//
// Rules:
//   - `vscode` is imported nowhere outside src/vscode (import, import type,
//     export ... from, import x = require(), require(), import(), import('vscode').T);
//   - the core imports nothing from src/vscode or src/cli;
//   - src/cli does not import src/vscode, and src/vscode does not import src/cli;
//   - src/core imports nothing from the other src folders.
//
// The core rule no-restricted-imports covers import/export declarations and
// `import x = require()`; no-restricted-syntax covers require(), import() and
// type-level import('...'). Relative specifiers are matched by where they
// resolve: a file N folders below src/ reaches src/<folder> through exactly N
// `../`, so the rules are built once per depth (files at deeper levels than
// MAX_DEPTH get an approximate check). test/unit/layers.test.ts runs all of
// this and proves every rule can fail.
import tseslint from 'typescript-eslint';

const EXT = '{ts,tsx,mts,cts,js,mjs,cjs}';
const MAX_DEPTH = 8;

const CORE_WHAT = 'the core (everything in src/ but src/vscode and src/cli) runs in the nexfn CLI and in plain Node tests';
const SHARED = 'put code both need into the core (src/core, src/run, src/triggers, ...) and import it from there';

const MESSAGES = {
  coreVscodeModule: `The core must not import vscode: ${CORE_WHAT}, where there is no vscode module. Put editor code in src/vscode and have it call into the core.`,
  coreSrcVscode: `The core must not import from src/vscode: ${CORE_WHAT}, so it cannot depend on the editor layer. Keep editor code in src/vscode and pass the core what it needs as plain data or callbacks.`,
  coreSrcCli: `The core must not import from src/cli: ${CORE_WHAT}, and cannot depend on the nexfn CLI. Move the shared code into the core and import it from src/cli and src/vscode.`,
  srcCoreVscodeModule: 'src/core must not import vscode: the core runs in the nexfn CLI and in plain Node tests, where there is no vscode module. Put editor code in src/vscode.',
  srcCoreSrcVscode: 'src/core must not import from src/vscode: the core runs in the nexfn CLI and in plain Node tests and cannot depend on the editor layer. Put editor code in src/vscode.',
  srcCoreSrcCli: 'src/core must not import from src/cli: the core cannot depend on the nexfn CLI. Put CLI code in src/cli.',
  srcCoreOther: 'src/core must not import from other src folders: it is the bottom layer (manifest, subjects, problems, compat) that every other folder builds on. Move what it needs into src/core, or move the importing code out of src/core.',
  cliVscodeModule: `src/cli must not import vscode: the nexfn CLI runs in plain Node, where there is no vscode module. Put editor code in src/vscode; ${SHARED}.`,
  cliSrcVscode: `src/cli must not import from src/vscode: the nexfn CLI runs without VS Code. Keep editor code in src/vscode; ${SHARED}.`,
  vscodeSrcCli: `src/vscode must not import from src/cli: the extension and the nexfn CLI are separate entry points. Keep CLI code in src/cli; ${SHARED}.`,
};

/** The `vscode` module itself (and any subpath). */
const VSCODE_MODULE = '^vscode(?:/|$)';

/**
 * A relative specifier written in a file `depth` folders below src/ that resolves
 * to src/<first segment matching `dir`>, directly or through ../src/.
 * depth === undefined: a file deeper than MAX_DEPTH (approximate).
 * @param {number | undefined} depth
 * @param {string} dir regex for the first path segment under src/
 */
function intoSrc(depth, dir) {
  const target = `(?:${dir})(?:/|$)`;
  if (depth === undefined) return `^(?:\\./)?(?:\\.\\./){${MAX_DEPTH + 1},}(?:src/)?${target}`;
  if (depth === 0) return `^(?:\\./|(?:\\./)?\\.\\./src/)${target}`;
  return `^(?:\\./)?(?:\\.\\./){${depth}}(?:\\.\\./src/)?${target}`;
}

/** Any src/ folder or file other than src/core (src/vscode and src/cli have their own messages). */
const OTHER_THAN_CORE = '(?!(?:core|vscode|cli)(?:/|$))(?!\\.\\.?(?:/|$))[^/]+';

/**
 * The restrictions of one layer for files `depth` folders below src/.
 * @param {'core' | 'pure' | 'cli' | 'vscode'} layer
 * @param {number | undefined} depth
 * @returns {{ regex: string, message: string }[]}
 */
function restrictions(layer, depth) {
  switch (layer) {
    case 'vscode':
      return [{ regex: intoSrc(depth, 'cli'), message: MESSAGES.vscodeSrcCli }];
    case 'cli':
      return [
        { regex: VSCODE_MODULE, message: MESSAGES.cliVscodeModule },
        { regex: intoSrc(depth, 'vscode'), message: MESSAGES.cliSrcVscode },
      ];
    case 'core':
      return [
        { regex: VSCODE_MODULE, message: MESSAGES.srcCoreVscodeModule },
        { regex: intoSrc(depth, 'vscode'), message: MESSAGES.srcCoreSrcVscode },
        { regex: intoSrc(depth, 'cli'), message: MESSAGES.srcCoreSrcCli },
        { regex: intoSrc(depth, OTHER_THAN_CORE), message: MESSAGES.srcCoreOther },
      ];
    case 'pure':
      return [
        { regex: VSCODE_MODULE, message: MESSAGES.coreVscodeModule },
        { regex: intoSrc(depth, 'vscode'), message: MESSAGES.coreSrcVscode },
        { regex: intoSrc(depth, 'cli'), message: MESSAGES.coreSrcCli },
      ];
  }
}

/**
 * @param {'core' | 'pure' | 'cli' | 'vscode'} layer
 * @param {number | undefined} depth
 * @returns {import('eslint').Linter.RulesRecord}
 */
function layerRules(layer, depth) {
  const list = restrictions(layer, depth);
  return {
    'no-restricted-imports': ['error', {
      patterns: list.map(({ regex, message }) => ({ regex, message, caseSensitive: true })),
    }],
    // require('x'), import('x') and the type `import('x').T`, which no-restricted-imports does not see.
    // esquery regex literals cannot hold '/', hence \x2F.
    'no-restricted-syntax': ['error', ...list.map(({ regex, message }) => {
      const re = `/${regex.replaceAll('/', '\\x2F')}/`;
      return {
        selector: `:matches(CallExpression[callee.type='Identifier'][callee.name='require'][arguments.0.value=${re}], ImportExpression[source.value=${re}], TSImportType[source.value=${re}])`,
        message,
      };
    })],
  };
}

/** A glob for `n` folders (one `*` segment each). */
const levels = (/** @type {number} */ n) => '*/'.repeat(n);

const LAYER_FOLDERS = ['vscode', 'cli', 'core'];
const depths = Array.from({ length: MAX_DEPTH }, (_, i) => i + 1);

/** @type {import('eslint').Linter.Config[]} */
const layerConfigs = [];
for (const layer of /** @type {const} */ (['vscode', 'cli', 'core'])) {
  // Deeper than MAX_DEPTH first: the exact per-depth entries below override it.
  layerConfigs.push({ name: `layers/src/${layer}/deep`, files: [`src/${layer}/**/*.${EXT}`], rules: layerRules(layer, undefined) });
  for (const depth of depths) {
    layerConfigs.push({ name: `layers/src/${layer}/depth-${depth}`, files: [`src/${layer}/${levels(depth - 1)}*.${EXT}`], rules: layerRules(layer, depth) });
  }
}
// The rest of the core: files right in src/ and every other folder, present or future.
const notPure = LAYER_FOLDERS.map((f) => `src/${f}/**`);
layerConfigs.push({ name: 'layers/src/pure/deep', files: [`src/**/*.${EXT}`], ignores: notPure, rules: layerRules('pure', undefined) });
layerConfigs.push({ name: 'layers/src/pure/depth-0', files: [`src/*.${EXT}`], rules: layerRules('pure', 0) });
for (const depth of depths) {
  layerConfigs.push({ name: `layers/src/pure/depth-${depth}`, files: [`src/${levels(depth)}*.${EXT}`], ignores: notPure, rules: layerRules('pure', depth) });
}

export default [
  { name: 'layers/ignores', ignores: ['out/**', 'out-*/**', 'dist/**', 'dist-vsix/**', 'node_modules/**', 'test/fixtures/**'] },
  {
    name: 'layers/parser',
    files: [`src/**/*.${EXT}`],
    languageOptions: { parser: tseslint.parser, sourceType: 'module' },
    // No eslint-disable comments: the layers cannot be switched off file by file.
    linterOptions: { noInlineConfig: true },
  },
  ...layerConfigs,
];
