import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { buildWat, tempDir } from '../support/wasmFixtures';
import { runNexfn } from '../support/nexfn';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/workspace');

const nexfn = (...args: string[]) => runNexfn(args);

describe('nexfn run', () => {
  it('prints the reply on stdout and the report on stderr', async () => {
    const r = await nexfn('run', path.join(FIXTURES, 'echo'), '--subject', 'demo.echo', '--payload', 'hello');
    assert.strictEqual(r.code, 0);
    assert.strictEqual(r.stdout, 'hello');
    assert.match(r.stderr, /▶ echo \(echo\.js\) triggered on "demo\.echo" with 5 bytes/);
    assert.match(r.stderr, /console\.log: echo: 5 bytes on demo\.echo/);
    assert.match(r.stderr, /✔ reply \(5 bytes\)/);
  });

  it('accepts the source file as the target', async () => {
    const r = await nexfn('run', path.join(FIXTURES, 'echo', 'echo.js'), '-s', 'x', '-p', 'y');
    assert.strictEqual(r.stdout, 'y');
  });

  it('prints JSON with --json', async () => {
    const r = await nexfn('run', path.join(FIXTURES, 'echo'), '-s', 'x', '-p', 'hi', '--json');
    const json = JSON.parse(r.stdout);
    assert.strictEqual(json.ok, true);
    assert.strictEqual(Buffer.from(json.reply, 'base64').toString(), 'hi');
  });

  it('exits 1 with the line number when the function throws', async () => {
    const r = await nexfn('run', path.join(FIXTURES, 'throws'), '-s', 'demo');
    assert.strictEqual(r.code, 1);
    assert.strictEqual(r.stdout, '');
    assert.match(r.stderr, /✖ the function threw at throws\.js:3:\d+: Error: empty payload on demo/);
  });

  it('exits 1 on a syntax error, naming the line', async () => {
    const r = await nexfn('run', path.join(FIXTURES, 'syntax-error'), '-s', 'demo');
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /✖ syntax error at broken\.js:2:\d+: SyntaxError/);
  });

  it('exits 1 when the function times out', async () => {
    const r = await nexfn('run', path.join(FIXTURES, 'endless-loop'), '-s', 'demo', '--timeout', '200');
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /✖ timed out: .*200 ms/);
  });

  it('exits 2 naming the manifest field when the manifest is invalid', async () => {
    const r = await nexfn('run', path.join(FIXTURES, 'invalid-manifest'), '-s', 'demo');
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /invalid-manifest\/nexfunction\.json:2:\d+: "name": "bad name!" is not a valid workload name/);
  });

  it('builds a WebAssembly function when needed, then runs it', async () => {
    const fn = path.join(FIXTURES, 'wasm-echo');
    fs.rmSync(path.join(fn, 'echo.wasm'), { force: true });
    const r = await nexfn('run', fn, '-s', 'wasm.demo', '-p', 'from the CLI');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(r.stdout, 'from the CLI');
    assert.match(r.stderr, /\$ node .*wat2wasm echo\.wat -o echo\.wasm/);
    const again = await nexfn('run', fn, '-s', 'wasm.demo', '-p', 'x');
    assert.doesNotMatch(again.stderr, /wat2wasm/, 'an up-to-date artifact is not rebuilt');
  });

  it('nexfn build reports compiler errors with file and line, and exits 1', async () => {
    const r = await nexfn('build', path.join(FIXTURES, 'wasm-broken'));
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /wasm-broken\/broken\.wat:3:6: unexpected token "i32\.bogus"/);
    assert.match(r.stderr, /nexfn: the build of wasm-broken failed \(exit code 1\)/);
  });

  it('exits 2 on usage errors with a clear message', async () => {
    assert.match((await nexfn('run', '/nonexistent/fn', '-s', 'a')).stderr, /no such file or folder/);
    assert.match((await nexfn('run', path.join(FIXTURES, 'echo'), '-s', 'a.*')).stderr, /wildcards/);
    assert.match((await nexfn('run', FIXTURES, '-s', 'a')).stderr, /no nexfunction\.json found/);
    assert.match((await nexfn('run', path.join(FIXTURES, 'echo'), '-s', 'a', '--timeout', '-1')).stderr, /positive whole number/);
    const missing = await nexfn('run', path.join(FIXTURES, 'echo'));
    assert.strictEqual(missing.code, 2);
    assert.match(missing.stderr, /--subject/);
  });
});

describe('nexfn run on a bare file (no nexfunction.json)', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir('nex-bare-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs a .js file with the type from its extension and the name from its file name, and says so', async () => {
    const file = path.join(dir, 'my echo.js');
    fs.writeFileSync(file, '(subject, payload) => `${subject}: ${String.fromCharCode(...payload)}`;\n');
    const r = await nexfn('run', file, '--subject', 's', '--payload', 'p');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(r.stdout, 's: p');
    const notices = r.stderr.split('\n').filter((l) => /has no nexfunction\.json/.test(l));
    assert.deepStrictEqual(notices, ['my echo.js has no nexfunction.json: running it as the JavaScript function "my-echo", profile docs']);
    const compat = await nexfn('run', file, '-s', 's', '-p', 'p', '--compat', '0.2');
    assert.strictEqual(compat.stdout, '"s: p"', 'a 0.2 node JSON-encodes a returned string');
    assert.match(compat.stderr, /profile 0\.2/);
  });

  it('runs a .wasm file as a WASI command', async () => {
    const wasm = await buildWat('echo', dir);
    const r = await nexfn('run', wasm, '-s', 'wasm.bare', '-p', 'from a bare module');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(r.stdout, 'from a bare module');
    assert.match(r.stderr, /echo\.wasm has no nexfunction\.json: running it as the WebAssembly function "echo"/);
  });

  it('reports a trap with the module\'s own frames and nothing of the extension', async () => {
    const wasm = await buildWat('trap-wasi', dir);
    const r = await nexfn('run', wasm, '-s', 'wasm.trap');
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /✖ trapped: the module trapped in parse_order: unreachable/);
    assert.match(r.stderr, /at parse_order/);
    assert.doesNotMatch(r.stderr, /\.js:|functionWorker|JsValue\(/);
  });

  it('refuses other files with a message that says what runs', async () => {
    const file = path.join(dir, 'notes.txt');
    fs.writeFileSync(file, 'hello');
    const r = await nexfn('run', file, '-s', 's');
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /notes\.txt: no nexfunction\.json here or in the parent folder, and only a \.js or \.wasm file runs without one/);
  });
});

describe('nexfn new, validate and test', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'nex-cli-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a function that validates and whose cases pass, with JUnit output', async () => {
    const created = await nexfn('new', 'js-kv', path.join(dir, 'counter'), '--subject', 'counter.*');
    assert.strictEqual(created.code, 0, created.stderr);
    assert.match(created.stdout, /created .*counter\/nexfunction\.json/);
    const validated = await nexfn('validate', dir);
    assert.strictEqual(validated.code, 0);
    assert.match(validated.stdout, /1 function, 1 trigger file: no problems/);
    const junit = path.join(dir, 'report', 'junit.xml');
    const tested = await nexfn('test', dir, '--junit', junit);
    assert.strictEqual(tested.code, 0, tested.stdout);
    assert.match(tested.stdout, /✔ basic\.json › counts the first message/);
    assert.match(tested.stdout, /\n1 passed, 0 failed\n$/);
    assert.match(fs.readFileSync(junit, 'utf8'), /<testsuites name="nexfn test" tests="1" failures="0" errors="0"/);
  });

  it('refuses to overwrite, and bad names and subjects', async () => {
    await nexfn('new', 'js', path.join(dir, 'a'));
    const again = await nexfn('new', 'js', path.join(dir, 'a'));
    assert.strictEqual(again.code, 2);
    assert.match(again.stderr, /not creating the function: .* already exist/);
    assert.match((await nexfn('new', 'js', path.join(dir, 'bad name'))).stderr, /name "bad name": use letters, digits.*pass --name/);
    assert.match((await nexfn('new', 'js', path.join(dir, 'b'), '--subject', '$SYS.x')).stderr, /belong to the NATS server/);
    assert.match((await nexfn('new', 'cobol', path.join(dir, 'c'))).stderr, /"cobol" is not a template: use one of js, js-kv/);
  });

  it('fails the run and the JUnit report when a case fails, pointing at its line', async () => {
    await nexfn('new', 'js', path.join(dir, 'echo'), '--subject', 'echo');
    const cases = path.join(dir, 'echo', 'triggers', 'basic.json');
    fs.writeFileSync(cases, fs.readFileSync(cases, 'utf8').replace('"reply": "hello"', '"reply": "goodbye"'));
    const junit = path.join(dir, 'junit.xml');
    const r = await nexfn('test', path.join(dir, 'echo'), '--junit', junit);
    assert.strictEqual(r.code, 1);
    assert.match(r.stdout, /✖ basic\.json › echoes the payload \(.*basic\.json:3\)/);
    assert.match(r.stdout, /expected: goodbye\n\s+actual: {3}hello/);
    assert.match(r.stdout, /0 passed, 1 failed/);
    assert.match(fs.readFileSync(junit, 'utf8'), /<failure message="the reply differs from the expected text">/);
  });

  it('reports malformed manifests and trigger files from validate and test', async () => {
    await nexfn('new', 'js', path.join(dir, 'echo'), '--subject', 'echo');
    fs.writeFileSync(path.join(dir, 'echo', 'triggers', 'broken.json'), '{ "cases": [ { "name": "x" } ] }');
    const v = await nexfn('validate', dir);
    assert.strictEqual(v.code, 1);
    assert.match(v.stdout, /broken\.json:1:\d+: "cases\[0\]\.subject": every case needs a "subject"/);
    assert.match(v.stdout, /1 function, 2 trigger files: 1 problem/);
    const t = await nexfn('test', dir);
    assert.strictEqual(t.code, 1);
    assert.match(t.stdout, /1 passed, 0 failed, 1 problem/);
  });
});

