import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { parseBuildProblems } from '../../src/toolchain/buildProblems';
import { BuildFailedError, buildFunction, buildIfNeeded, needsBuild, toolchainHint } from '../../src/toolchain/buildRunner';
import { loadValidFunction } from '../../src/core/manifest';
import { tempDir } from '../support/wasmFixtures';

const WAT2WASM = path.resolve(__dirname, '../../../node_modules/wabt/bin/wat2wasm');
const WAT_ECHO = path.resolve(__dirname, '../../../test/fixtures/wasm/echo.wat');

describe('building WebAssembly functions', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('nex-build-');
    fs.copyFileSync(WAT_ECHO, path.join(dir, 'echo.wat'));
    fs.writeFileSync(
      path.join(dir, 'nexfunction.json'),
      JSON.stringify({ name: 'echo', type: 'wasm', artifact: 'echo.wasm', build: { command: `node ${WAT2WASM} echo.wat -o echo.wasm` } }),
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('builds when the artifact is missing or older than a source, and not otherwise', async () => {
    const def = loadValidFunction(dir);
    assert.strictEqual(needsBuild(def), true);
    const lines: string[] = [];
    const result = await buildIfNeeded(def, { onOutput: (l) => lines.push(l) });
    assert.strictEqual(result!.ok, true);
    assert.ok(lines[0].startsWith('$ node '), lines.join('\n'));
    assert.strictEqual(needsBuild(def), false);
    assert.strictEqual(await buildIfNeeded(def), undefined);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, 'echo.wat'), later, later);
    assert.strictEqual(needsBuild(def), true);
  });

  it('fails with the compiler error located in the source', async () => {
    fs.writeFileSync(path.join(dir, 'echo.wat'), '(module\n  (func (export "_start")\n    (i32.bogus))\n)\n');
    await assert.rejects(buildIfNeeded(loadValidFunction(dir)), (e: unknown) => {
      assert.ok(e instanceof BuildFailedError);
      assert.strictEqual(e.result.exitCode, 1);
      assert.deepStrictEqual(
        e.result.problems.map((p) => [path.basename(p.file), p.line, p.severity]),
        [['echo.wat', 3, 'error']],
      );
      assert.match(e.message, /the build of echo failed \(exit code 1\): echo\.wat:3: unexpected token "i32\.bogus"/);
      return true;
    });
  });

  it('says what to install when the build tool is missing', async () => {
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'echo', type: 'wasm', artifact: 'echo.wasm', build: { command: 'tinygo build -target=wasi -o echo.wasm .' } }));
    const env = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const result = await buildFunction(loadValidFunction(dir));
      assert.strictEqual(result.ok, false);
      assert.match(result.missingToolchain!, /TinyGo is not installed/);
      // Not the compiler's problem: it is placed on the manifest's build command.
      assert.deepStrictEqual(
        result.problems.map((p) => [path.basename(p.file), p.line, p.field, p.message]),
        [['nexfunction.json', 1, 'build.command', result.missingToolchain]],
      );
    } finally {
      process.env.PATH = env;
    }
  });

  it('places a failing build command that the compiler did not explain on the manifest, with its last output line', async () => {
    const manifest = { name: 'echo', type: 'wasm', artifact: 'echo.wasm', build: { command: 'echo "no such target: wasm64" >&2; exit 3' } };
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify(manifest, null, 2));
    await assert.rejects(buildIfNeeded(loadValidFunction(dir)), (e: unknown) => {
      assert.ok(e instanceof BuildFailedError);
      const p = e.result.problems[0];
      assert.deepStrictEqual([p.line, p.field], [6, 'build.command']);
      assert.match(p.message, /failed with exit code 3: no such target: wasm64$/);
      assert.match(e.message, /^the build of echo failed: ".*" failed with exit code 3: no such target: wasm64$/);
      return true;
    });
  });

  it('makes the artifact stale when the manifest changes, wherever the build runs', async () => {
    fs.mkdirSync(path.join(dir, 'src'));
    fs.renameSync(path.join(dir, 'echo.wat'), path.join(dir, 'src', 'echo.wat'));
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'echo', type: 'wasm', artifact: 'echo.wasm', build: { cwd: 'src', command: `node ${WAT2WASM} echo.wat -o ../echo.wasm` } }));
    const def = loadValidFunction(dir);
    await buildIfNeeded(def);
    assert.strictEqual(needsBuild(def), false);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, 'nexfunction.json'), later, later);
    assert.strictEqual(needsBuild(def), true);
  });

  it('notices a build that does not produce the artifact', async () => {
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'echo', type: 'wasm', artifact: 'echo.wasm', build: { command: 'true' } }));
    const result = await buildFunction(loadValidFunction(dir));
    assert.strictEqual(result.ok, false);
    assert.match(result.problems[0].message, /did not produce echo\.wasm/);
  });

  it('knows what to install for each toolchain', () => {
    assert.match(toolchainHint('cargo build --target wasm32-wasi'), /libstd-rust-dev-wasm32.*wasm32-wasip1/);
    assert.match(toolchainHint('clang --target=wasm32-wasi x.c'), /wasi-libc/);
    assert.match(toolchainHint('npx asc assembly/index.ts'), /assemblyscript @assemblyscript\/wasi-shim/);
  });
});

describe('parseBuildProblems', () => {
  it('reads rustc, clang, AssemblyScript and Go messages', () => {
    const output = [
      'error[E0425]: cannot find value `x` in this scope',
      ' --> src/main.rs:3:5',
      '',
      'error[E0308]: mismatched types',
      ' --> src/main.rs:2:18',
      '  |',
      '2 |     let x: u32 = "a" ^ 1;',
      '  |            ---   ^^^ expected `u32`, found `&str`',
      '  |            |',
      '  |            expected due to this',
      '',
      'main.c:7:12: error: use of undeclared identifier \'y\'',
      'main.c:9:1: warning: unused variable',
      'ERROR TS2322: Type \'i32\' is not assignable to type \'string\'.',
      '   :',
      ' 2 │ let s: string = 1;',
      '   └─ in assembly/index.ts(2,17)',
      './main.go:4:2: undefined: fmt',
    ].join('\n');
    assert.deepStrictEqual(
      parseBuildProblems(output, '/w').map((p) => `${p.severity} ${p.file}:${p.line}:${p.column} ${p.message}`),
      [
        'error /w/src/main.rs:3:5 cannot find value `x` in this scope',
        'error /w/src/main.rs:2:18 mismatched types: expected `u32`, found `&str`',
        "error /w/main.c:7:12 use of undeclared identifier 'y'",
        'warning /w/main.c:9:1 unused variable',
        "error /w/assembly/index.ts:2:17 Type 'i32' is not assignable to type 'string'.",
        'error /w/main.go:4:2 undefined: fmt',
      ],
    );
  });
});
