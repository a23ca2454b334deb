import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { utf8 } from '../../src/core/bytes';
import { CompatProfile } from '../../src/core/compat';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { DEFAULT_LIMITS, RunLimits, RunOutcome } from '../../src/executor/types';
import { capMemory, memoryLimits, REFUSED_GROW_EXPORT, watchMemoryGrow } from '../../src/executor/wasmModule';
import { buildWat, tempDir, toolchainMissing } from '../support/wasmFixtures';

const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

describe('WebAssembly (WASI) functions, through the worker', () => {
  let runner: WorkerExecutor;
  let dir: string;
  const wasm: Record<string, string> = {};
  before(async () => {
    runner = new WorkerExecutor();
    dir = tempDir('nex-wasm-');
    for (const name of ['echo', 'argv', 'env', 'two-writes', 'exit-code', 'loop', 'grow', 'grow-refused', 'trap', 'trap-wasi', 'no-start', 'foreign-import']) {
      wasm[name] = await buildWat(name, dir);
    }
  });
  after(() => {
    runner.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (artifactPath: string, opts: { profile?: CompatProfile; payload?: string; env?: Record<string, string>; limits?: Partial<RunLimits> } = {}): Promise<RunOutcome> =>
    runner.run({
      kind: 'wasm',
      artifactPath,
      subject: 'orders.created',
      payload: utf8(opts.payload ?? 'hello'),
      limits: { ...DEFAULT_LIMITS, ...opts.limits },
      profile: opts.profile,
      env: opts.env,
      workload: 'echo',
    });

  it('replies with stdout, reading the payload from stdin', async () => {
    const out = await run(wasm.echo);
    assert.strictEqual(out.error, undefined);
    assert.strictEqual(text(out.reply), 'hello');
  });

  it('sends no reply for empty output, and says what a node does then', async () => {
    const out = await run(wasm.echo, { payload: '' });
    assert.strictEqual(out.reply, null);
    assert.match(out.warnings.find((w) => w.code === 'wasm-empty-reply')!.message, /waits 10 s and records function_exec_failed/);
  });

  it('passes the subject as argv[1] under docs, and the internal subject under 0.2 and 0.3', async () => {
    const docs = await run(wasm.argv);
    assert.strictEqual(text(docs.reply), 'orders.created');
    assert.match(docs.warnings.find((w) => w.code === 'wasm-argv-subject')!.message, /agentint\./);
    for (const profile of ['0.2', '0.3'] as const) {
      const out = await run(wasm.argv, { profile });
      assert.match(text(out.reply)!, /^agentint\.[0-9A-F]+\.trigger$/);
    }
    assert.ok(!(await run(wasm.echo)).warnings.some((w) => w.code === 'wasm-argv-subject'), 'no hint when argv is not read');
  });

  it('passes the manifest environment', async () => {
    const out = await run(wasm.env, { env: { GREETING: 'hello', LEVEL: '2' } });
    assert.deepStrictEqual(text(out.reply)!.split('\0').filter(Boolean).sort(), ['GREETING=hello', 'LEVEL=2']);
  });

  it('keeps all writes under docs and only the last under 0.2/0.3, with a hint; stderr becomes log lines', async () => {
    const docs = await run(wasm['two-writes']);
    assert.strictEqual(text(docs.reply), 'hello world');
    assert.deepStrictEqual(docs.logs, [{ level: 'info', text: 'wrote two parts', stream: 'stderr' }]);
    assert.match(docs.warnings.find((w) => w.code === 'wasm-multiple-writes')!.message, /2 writes.*only "world"/);
    const v2 = await run(wasm['two-writes'], { profile: '0.2' });
    assert.strictEqual(text(v2.reply), 'world');
    assert.ok(v2.warnings.some((w) => w.code === 'wasm-stderr'));
  });

  it('fails on a non-zero exit code, quoting stderr', async () => {
    const out = await run(wasm['exit-code']);
    assert.strictEqual(out.error!.kind, 'exitCode');
    assert.strictEqual(out.error!.message, 'the module exited with code 3; its last stderr line: bad input');
  });

  it('names the wasm function a trap happened in', async () => {
    const out = await run(wasm.trap);
    assert.strictEqual(out.error!.kind, 'trap');
    assert.match(out.error!.message, /trapped in check_input: unreachable/);
  });

  it('shows a trap with the wasm frames only, not the extension\'s own stack (also through @wasmer/wasi)', async () => {
    for (const [name, fn] of [
      ['trap', 'check_input'],
      ['trap-wasi', 'parse_order'],
    ]) {
      const { error } = await run(wasm[name]);
      assert.strictEqual(error?.kind, 'trap', name);
      assert.strictEqual(error.message, `the module trapped in ${fn}: unreachable`);
      assert.strictEqual(error.name, fn);
      assert.match(error.stack!, new RegExp(`^RuntimeError: unreachable\n    at ${fn} \\(wasm-function\\[\\d+\\]\\)\n`));
      for (const text of [error.message, error.stack!]) {
        assert.doesNotMatch(text, /\.js\b|functionWorker|wasiEngine|JsValue\(|Library|node_modules|wasm:\/\//, `${name}: ${text}`);
      }
    }
    const { error } = await run(wasm['trap-wasi']);
    assert.deepStrictEqual(
      error!.stack!.split('\n').slice(1),
      ['    at parse_order (wasm-function[1])', '    at handle (wasm-function[2])', '    at wasm-function[3]'],
      'the module\'s own frames, innermost first, and none of @wasmer/wasi\'s',
    );
  });

  it('stops an infinite loop at the time limit and replaces the worker', async () => {
    const before = runner.workersStarted;
    const out = await run(wasm.loop, { limits: { timeoutMs: 300 } });
    assert.strictEqual(out.error!.kind, 'timeout');
    assert.strictEqual(out.error!.message, 'the WebAssembly module did not finish within 300 ms and was stopped (an endless loop?)');
    assert.strictEqual(text((await run(wasm.echo)).reply), 'hello');
    assert.strictEqual(runner.workersStarted, before + 1);
  });

  it('caps memory growth at the memory limit', async () => {
    const out = await run(wasm.grow, { limits: { memoryLimitBytes: 8 * 1048576 } });
    assert.strictEqual(out.error!.kind, 'memory');
    assert.match(out.error!.message, /limit of 8 MiB/);
  });

  it('says that a module ran out of memory when memory.grow was refused and it ended without a reply', async () => {
    const out = await run(wasm['grow-refused'], { payload: '' });
    assert.strictEqual(out.ok, false);
    assert.strictEqual(out.error?.kind, 'memory');
    assert.strictEqual(
      out.error.message,
      'the module ran out of memory: it asked to grow its memory to 6.1 GiB, over the limit of 64 MiB, was refused, and then ended without writing a reply',
    );
  });

  it('lets a module that replies after a refused memory.grow succeed, and logs the refusal', async () => {
    const out = await run(wasm['grow-refused'], { payload: 'hi' });
    assert.strictEqual(out.error, undefined);
    assert.strictEqual(text(out.reply), 'hi');
    assert.deepStrictEqual(out.logs, [{ level: 'warn', text: 'the module asked to grow its memory to 6.1 GiB, over the limit of 64 MiB, and was refused; it carried on' }]);
  });

  it('refuses a module whose initial memory is over the limit, before running it', async () => {
    const out = await run(wasm.echo, { limits: { memoryLimitBytes: 65536 } });
    assert.strictEqual(out.error!.kind, 'memory');
    assert.match(out.error!.message, /starts with/);
  });

  it('explains modules a node cannot run', async () => {
    assert.match((await run(wasm['no-start'])).error!.message, /exports no _start function: a Nex function is a WASI command/);
    assert.match((await run(wasm['foreign-import'])).error!.message, /imports env\.now: a Nex node provides only wasi_snapshot_preview1/);
    const notWasm = path.join(dir, 'fake.wasm');
    fs.writeFileSync(notWasm, 'hello');
    assert.match((await run(notWasm)).error!.message, /is not a WebAssembly module: it starts with 68 65 6c 6c/);
    assert.match((await run(path.join(dir, 'missing.wasm'))).error!.message, /does not exist: build the function first/);
  });

  it('caps the declared memory maximum in the binary', () => {
    const bytes = new Uint8Array(fs.readFileSync(wasm.echo));
    assert.deepStrictEqual(memoryLimits(bytes), { min: 2, max: undefined });
    assert.deepStrictEqual(memoryLimits(capMemory(bytes, 100)), { min: 2, max: 100 });
    assert.strictEqual(new WebAssembly.Module(capMemory(bytes, 100) as Uint8Array<ArrayBuffer>) instanceof WebAssembly.Module, true);
  });

  it('routes memory.grow through a watching function, keeping every index, and leaves modules that never grow alone', () => {
    const bytes = capMemory(new Uint8Array(fs.readFileSync(wasm.grow)), 100);
    const watched = watchMemoryGrow(bytes)!;
    assert.ok(WebAssembly.validate(watched as Uint8Array<ArrayBuffer>));
    const module = new WebAssembly.Module(watched as Uint8Array<ArrayBuffer>);
    assert.deepStrictEqual(
      WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`),
      ['memory:memory', '_start:function', `${REFUSED_GROW_EXPORT}:global`],
    );
    const instance = new WebAssembly.Instance(module);
    assert.throws(() => (instance.exports._start as () => void)(), /unreachable/);
    // grow.wat grows 16 pages at a time from 1: past 97 pages, it asks for 113, over the cap of 100.
    assert.strictEqual((instance.exports[REFUSED_GROW_EXPORT] as WebAssembly.Global).value, 113n);
    assert.strictEqual(watchMemoryGrow(new Uint8Array(fs.readFileSync(wasm.echo))), undefined);
  });

  describe('built from source', () => {
    it('runs the Nex guide\'s Rust echo (argv[1] appended to stdin), built with Debian\'s Rust', async function () {
      const missing = toolchainMissing('rust');
      if (missing) {
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
      const crate = path.join(dir, 'rust-echo');
      fs.mkdirSync(path.join(crate, 'src'), { recursive: true });
      fs.writeFileSync(path.join(crate, 'Cargo.toml'), '[package]\nname = "echofunction"\nversion = "0.1.0"\nedition = "2021"\n\n[[bin]]\nname = "echofunction"\npath = "src/main.rs"\n');
      fs.writeFileSync(
        path.join(crate, 'src', 'main.rs'),
        'use std::env;\nuse std::io::{self, Read, Write};\n\nfn main() {\n    let args: Vec<String> = env::args().collect();\n    let mut input = String::new();\n    io::stdin().read_to_string(&mut input).unwrap();\n    let subject = args.get(1).cloned().unwrap_or_default();\n    io::stdout().write_all(format!("{}{}", input, subject).as_bytes()).unwrap();\n}\n',
      );
      execFileSync('/usr/bin/cargo', ['build', '--offline', '--target', 'wasm32-wasi', '--release'], { cwd: crate, env: { ...process.env, RUSTC: '/usr/bin/rustc' }, stdio: 'pipe' });
      const artifact = path.join(crate, 'target', 'wasm32-wasi', 'release', 'echofunction.wasm');
      assert.strictEqual(text((await run(artifact, { payload: 'hi from ' })).reply), 'hi from orders.created');
      const v2 = await run(artifact, { payload: 'hi from ', profile: '0.2' });
      assert.match(text(v2.reply)!, /^hi from agentint\./);
    }).timeout(120000);

    it('runs a C function built with clang and wasi-libc', async function () {
      const missing = toolchainMissing('c');
      if (missing) {
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
      const src = path.join(dir, 'upper.c');
      fs.writeFileSync(
        src,
        '#include <ctype.h>\n#include <stdio.h>\n#include <stdlib.h>\nint main(int argc, char **argv) {\n  int c;\n  const char *who = getenv("WHO");\n  fprintf(stderr, "uppercasing for %s\\n", who ? who : "nobody");\n  while ((c = getchar()) != EOF) putchar(toupper(c));\n  return 0;\n}\n',
      );
      const out = path.join(dir, 'upper.wasm');
      execFileSync('clang', ['--target=wasm32-wasi', '-O2', '-o', out, src], { stdio: 'pipe' });
      const result = await run(out, { payload: 'shout', env: { WHO: 'tests' } });
      assert.strictEqual(text(result.reply), 'SHOUT');
      assert.deepStrictEqual(result.logs.map((l) => l.text), ['uppercasing for tests']);
    }).timeout(60000);

    it('runs an AssemblyScript function built with the WASI shim', async function () {
      const root = path.resolve(__dirname, '../../..');
      const asc = path.join(root, 'node_modules', '.bin', 'asc');
      const src = path.join(dir, 'hello.ts');
      // With the WASI shim, top-level statements run as the command's _start.
      fs.writeFileSync(src, 'const buffer = new ArrayBuffer(1024);\nconst n = process.stdin.read(buffer);\nprocess.stdout.write("hello from AssemblyScript, " + String.UTF8.decode(buffer.slice(0, n)));\n');
      const out = path.join(dir, 'hello-as.wasm');
      execFileSync(asc, [src, '--config', 'node_modules/@assemblyscript/wasi-shim/asconfig.json', '-o', out], { cwd: root, stdio: 'pipe' });
      assert.strictEqual(text((await run(out, { payload: 'Nex' })).reply), 'hello from AssemblyScript, Nex');
    }).timeout(60000);
  });
});
