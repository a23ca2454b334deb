import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv';
import { functionDirFor, loadFunction, parseManifest } from '../../src/core/manifest';
import { formatProblem } from '../../src/core/problems';

const FILE = '/ws/fn/nexfunction.json';

describe('manifest', () => {
  it('parses a valid manifest', () => {
    const { manifest, problems } = parseManifest(FILE, '{"name": "echo", "type": "v8", "source": "echo.js"}');
    assert.deepStrictEqual(problems, []);
    assert.deepStrictEqual(manifest, { name: 'echo', type: 'v8', source: 'echo.js' });
  });

  it('reports invalid JSON with its line and column', () => {
    const { manifest, problems } = parseManifest(FILE, '{\n  "name": "echo",\n  "type": v8\n}');
    assert.strictEqual(manifest, undefined);
    assert.strictEqual(problems[0].line, 3);
    assert.strictEqual(problems[0].column, 11);
    assert.match(formatProblem(problems[0]), /^\/ws\/fn\/nexfunction\.json:3:11: invalid JSON: /);
  });

  it('reports an empty file', () => {
    const { problems } = parseManifest(FILE, '');
    assert.strictEqual(problems.length, 1);
    assert.match(problems[0].message, /expected a value|empty/);
  });

  it('names each missing field and says what to write', () => {
    const { problems } = parseManifest(FILE, '{}');
    assert.deepStrictEqual(
      problems.map((p) => p.field),
      ['name', 'type'],
    );
    assert.match(problems[1].message, /"v8".*"wasm"/);
    assert.deepStrictEqual(
      parseManifest(FILE, '{"name": "a", "type": "v8"}').problems.map((p) => `${p.field}: ${p.message}`),
      ['source: is missing: name the function\'s JavaScript file, e.g. "source": "echo.js"'],
    );
    assert.match(parseManifest(FILE, '{"name": "a", "type": "wasm"}').problems[0].message, /"artifact" is missing|is missing: name the WebAssembly file/);
  });

  it('refuses workload names that Nex refuses, pointing at the value', () => {
    const { problems } = parseManifest(FILE, '{\n  "name": "my fn",\n  "type": "v8",\n  "source": "a.js"\n}');
    assert.strictEqual(problems.length, 1);
    assert.strictEqual(problems[0].field, 'name');
    assert.strictEqual(problems[0].line, 2);
    assert.match(problems[0].message, /"my fn" is not a valid workload name/);
  });

  it('refuses unknown types and non-string fields', () => {
    const { problems } = parseManifest(FILE, '{"name": "a", "type": "native", "source": 42}');
    assert.deepStrictEqual(
      problems.map((p) => `${p.field}: ${p.message}`),
      ['type: "native" is not a function type: use "v8" (JavaScript) or "wasm" (WebAssembly)', 'source: must be a string, found number'],
    );
  });

  it('refuses a source outside the function folder', () => {
    const { problems } = parseManifest(FILE, '{"name": "a", "type": "v8", "source": "../other/a.js"}');
    assert.strictEqual(problems[0].field, 'source');
    assert.match(problems[0].message, /inside the function folder/);
  });

  it('reads a WebAssembly manifest with build and env', () => {
    const { manifest, problems } = parseManifest(FILE, '{"name": "w", "type": "wasm", "artifact": "w.wasm", "build": {"command": "make", "cwd": "src"}, "env": {"LEVEL": "2"}, "compat": "0.2"}');
    assert.deepStrictEqual(problems, []);
    assert.deepStrictEqual(manifest, { name: 'w', type: 'wasm', artifact: 'w.wasm', build: { command: 'make', cwd: 'src' }, env: { LEVEL: '2' }, compat: '0.2' });
  });

  it('explains bad build, env and compat fields', () => {
    const messages = (text: string) => parseManifest(FILE, text).problems.map((p) => `${p.field}: ${p.message}`);
    assert.deepStrictEqual(messages('{"name": "w", "type": "wasm", "artifact": "w.wasm", "build": "make"}'), ['build: must be an object such as {"command": "cargo build --target wasm32-wasi --release"}']);
    assert.deepStrictEqual(messages('{"name": "w", "type": "wasm", "artifact": "w.wasm", "build": {}}'), ['build.command: needs "command": the shell command that builds the artifact']);
    assert.deepStrictEqual(messages('{"name": "w", "type": "wasm", "artifact": "w.wasm", "build": {"command": "make", "cmd": "make"}}'), ['build: "cmd" is not a build setting: use "command", "cwd", "output"']);
    assert.deepStrictEqual(messages('{"name": "w", "type": "wasm", "artifact": "w.wasm", "env": {"LEVEL": 2}}'), ['env.LEVEL: must be text: write "LEVEL": "2" with quotes']);
    assert.deepStrictEqual(messages('{"name": "w", "type": "wasm", "artifact": "w.wasm", "env": {"1X": "a"}}'), ['env: "1X" is not a valid environment variable name (letters, digits and _, not starting with a digit)']);
    assert.deepStrictEqual(messages('{"name": "j", "type": "v8", "source": "j.js", "compat": "0.4"}'), ['compat: "0.4" is not a compatibility profile: use "docs", "0.2", "0.3"']);
    assert.deepStrictEqual(messages('{"name": "j", "type": "v8", "source": "j.js", "build": {"command": "make"}}'), ['build: is for WebAssembly functions: a JavaScript function runs its source as it is']);
  });

  it('reads the JavaScript engine, and explains a wrong one (and agrees with the schema)', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../schemas/nexfunction.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    const messages = (text: string) => parseManifest(FILE, text).problems.map((p) => `${p.field}: ${p.message}`);
    const good = '{"name": "j", "type": "v8", "source": "j.js", "engine": "v8"}';
    assert.strictEqual(parseManifest(FILE, good).manifest?.engine, 'v8');
    assert.ok(validate(JSON.parse(good)));
    const cases: Array<[string, string]> = [
      ['{"name": "j", "type": "v8", "source": "j.js", "engine": "node"}', 'engine: "node" is not a JavaScript engine: use "quickjs" or "v8"'],
      ['{"name": "w", "type": "wasm", "artifact": "w.wasm", "engine": "v8"}', 'engine: applies to JavaScript functions only ("type": "v8"): WebAssembly always runs on @wasmer/wasi'],
    ];
    for (const [text, message] of cases) {
      assert.deepStrictEqual(messages(text), [message]);
      assert.strictEqual(validate(JSON.parse(text)), false, `the schema accepts ${text}`);
    }
  });

  describe('the deploy section', () => {
    const base = '"name": "d", "type": "v8", "source": "d.js"';
    const messages = (deploy: string) => parseManifest(FILE, `{${base}, "deploy": ${deploy}}`).problems.map((p) => `${p.field}: ${p.message}`);
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../schemas/nexfunction.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

    it('reads the namespace, tags, node version (0.4 too) and instances', () => {
      const { manifest, problems } = parseManifest(FILE, `{${base}, "deploy": {"namespace": "prod", "tags": {"team": "a", "zone": "eu-1"}, "nodeVersion": "0.3"}}`);
      assert.deepStrictEqual(problems, []);
      assert.deepStrictEqual(manifest?.deploy, { namespace: 'prod', tags: { team: 'a', zone: 'eu-1' }, nodeVersion: '0.3' });
      assert.deepStrictEqual(parseManifest(FILE, `{${base}, "deploy": {}}`).manifest?.deploy, {});
      assert.deepStrictEqual(parseManifest(FILE, `{${base}, "deploy": {"nodeVersion": "0.2"}}`).manifest?.deploy, { nodeVersion: '0.2' });
      assert.deepStrictEqual(parseManifest(FILE, `{${base}, "deploy": {"nodeVersion": "0.4", "instances": 3}}`).manifest?.deploy, { nodeVersion: '0.4', instances: 3 });
      assert.deepStrictEqual(parseManifest(FILE, `{${base}, "deploy": {"instances": 64}}`).manifest?.deploy, { instances: 64 });
      assert.strictEqual(parseManifest(FILE, `{${base}}`).manifest?.deploy, undefined);
    });

    it('explains a bad section, namespace, tag, node version, instance count or key, on its line', () => {
      assert.deepStrictEqual(messages('"prod"'), ['deploy: must be an object such as {"namespace": "prod", "tags": {"team": "a"}, "nodeVersion": "0.4", "instances": 2}']);
      assert.deepStrictEqual(messages('{"namespace": 7}'), ['deploy.namespace: must be a string, found number: the namespace to deploy into, e.g. "prod"']);
      for (const bad of ['', 'a.b', 'my ns', '*', 'team>', 'x\ty']) {
        assert.deepStrictEqual(messages(JSON.stringify({ namespace: bad })), [
          `deploy.namespace: "${bad}" is not a namespace: a namespace is one NATS subject token (not empty; no ".", "*", ">" or whitespace), e.g. "prod"`,
        ]);
      }
      assert.deepStrictEqual(messages('{"tags": ["team"]}'), ['deploy.tags: must be an object of tag names to text values, e.g. {"team": "a"}']);
      assert.deepStrictEqual(messages('{"tags": {"team": "a", "size": 2}}'), ['deploy.tags.size: must be text: write "size": "2" with quotes']);
      assert.deepStrictEqual(messages('{"nodeVersion": "0.5"}'), ['deploy.nodeVersion: "0.5" is not a node version: use "0.2" or "0.3" (the deploy format, for nodes whose version does not tell) or "0.4" (deploy to Nex 0.4 nodes)']);
      assert.deepStrictEqual(messages('{"nodeVersion": 0.4}'), ['deploy.nodeVersion: must be text: write "nodeVersion": "0.4" with quotes']);
      assert.deepStrictEqual(messages('{"nodeVersion": 0.3}'), ['deploy.nodeVersion: must be text: write "nodeVersion": "0.3" with quotes']);
      assert.deepStrictEqual(messages('{"nodeVersion": true}'), ['deploy.nodeVersion: true is not a node version: use "0.2" or "0.3" (the deploy format, for nodes whose version does not tell) or "0.4" (deploy to Nex 0.4 nodes)']);
      assert.deepStrictEqual(messages('{"namespace": "prod", "node": "N1"}'), ['deploy: "node" is not a deploy setting: use "namespace", "tags", "nodeVersion", "instances"']);
      const instances = (found: string) => `deploy.instances: ${found} is not a number of instances: use a whole number from 1 to 64 (how many instances a Nex 0.4 deploy starts; they share the triggers)`;
      assert.deepStrictEqual(messages('{"instances": 0}'), [instances('0')]);
      assert.deepStrictEqual(messages('{"instances": 65}'), [instances('65')]);
      assert.deepStrictEqual(messages('{"instances": 1.5}'), [instances('1.5')]);
      assert.deepStrictEqual(messages('{"instances": "2"}'), [instances('"2"')]);
      assert.deepStrictEqual(messages('{"instances": null}'), [instances('null')]);
      const { problems } = parseManifest(FILE, `{\n  ${base},\n  "deploy": {\n    "namespace": "a.b"\n  }\n}`);
      assert.deepStrictEqual([problems[0].line, problems[0].column], [4, 18]);
      assert.match(formatProblem(problems[0]), /^\/ws\/fn\/nexfunction\.json:4:18: /);
    });

    it('agrees with the JSON schema', () => {
      const good = ['{}', '{"namespace": "team-a"}', '{"namespace": "prod", "tags": {"team": "a"}, "nodeVersion": "0.3"}', '{"tags": {}}', '{"nodeVersion": "0.2"}', '{"nodeVersion": "0.4"}', '{"instances": 1}', '{"nodeVersion": "0.4", "instances": 64}'];
      const bad = [
        '"prod"',
        '[]',
        '{"namespace": 7}',
        '{"namespace": ""}',
        '{"namespace": "a.b"}',
        '{"namespace": "my ns"}',
        '{"namespace": "*"}',
        '{"namespace": "a>"}',
        '{"tags": ["team"]}',
        '{"tags": {"team": 1}}',
        '{"nodeVersion": "0.5"}',
        '{"nodeVersion": 0.3}',
        '{"instances": 0}',
        '{"instances": 65}',
        '{"instances": 2.5}',
        '{"instances": "2"}',
        '{"node": "N1"}',
      ];
      for (const deploy of [...good, ...bad]) {
        const text = `{${base}, "deploy": ${deploy}}`;
        const expected = good.includes(deploy);
        assert.strictEqual(validate(JSON.parse(text)), expected, `the schema ${expected ? 'refuses' : 'accepts'} ${deploy}: ${JSON.stringify(validate.errors)}`);
        assert.strictEqual(parseManifest(FILE, text).problems.length === 0, expected, `the validator ${expected ? 'refuses' : 'accepts'} ${deploy}`);
      }
    });
  });

  it('refuses a manifest that is not an object', () => {
    const { problems } = parseManifest(FILE, '["echo"]');
    assert.match(problems[0].message, /expected a JSON object, found array/);
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-manifest-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('loads a function and resolves its source', () => {
      fs.writeFileSync(path.join(dir, 'nexfunction.json'), '{"name": "a", "type": "v8", "source": "a.js"}');
      fs.writeFileSync(path.join(dir, 'a.js'), '(s, p) => p;');
      const def = loadFunction(dir);
      assert.deepStrictEqual(def.problems, []);
      assert.strictEqual(def.sourcePath, path.join(dir, 'a.js'));
    });

    it('reports a missing source file on the "source" line', () => {
      fs.writeFileSync(path.join(dir, 'nexfunction.json'), '{\n "name": "a",\n "type": "v8",\n "source": "gone.js"\n}');
      const def = loadFunction(dir);
      assert.strictEqual(def.problems.length, 1);
      assert.strictEqual(def.problems[0].line, 4);
      assert.match(def.problems[0].message, /"gone\.js" does not exist/);
    });

    it('lets a wasm artifact be missing when a build makes it, and not otherwise', () => {
      fs.writeFileSync(path.join(dir, 'nexfunction.json'), '{"name": "w", "type": "wasm", "artifact": "w.wasm", "build": {"command": "true"}}');
      assert.deepStrictEqual(loadFunction(dir).problems, []);
      assert.strictEqual(loadFunction(dir).artifactPath, path.join(dir, 'w.wasm'));
      fs.writeFileSync(path.join(dir, 'nexfunction.json'), '{"name": "w", "type": "wasm", "artifact": "w.wasm"}');
      assert.match(loadFunction(dir).problems[0].message, /"w\.wasm" does not exist .*: build it, or add a "build" command/);
    });

    it('reports a missing manifest', () => {
      const def = loadFunction(dir);
      assert.match(def.problems[0].message, /cannot read the manifest/);
    });

    it('finds the function folder from a folder, a manifest or a nested source file', () => {
      fs.mkdirSync(path.join(dir, 'src'));
      fs.writeFileSync(path.join(dir, 'nexfunction.json'), '{}');
      fs.writeFileSync(path.join(dir, 'src', 'a.js'), '');
      assert.strictEqual(functionDirFor(dir), dir);
      assert.strictEqual(functionDirFor(path.join(dir, 'nexfunction.json')), dir);
      assert.strictEqual(functionDirFor(path.join(dir, 'src', 'a.js')), dir);
      assert.strictEqual(functionDirFor(os.tmpdir()), undefined);
    });
  });
});
