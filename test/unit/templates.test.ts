import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { loadValidFunction, parseManifest } from '../../src/core/manifest';
import { hintSeverity } from '../../src/executor/fidelity';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { buildIfNeeded } from '../../src/toolchain/buildRunner';
import { runTriggerCase } from '../../src/triggers/caseRunner';
import { loadTriggerFiles } from '../../src/triggers/triggerCases';
import { exampleSubject, extensionRoot, functionNameProblem, listTemplates, planNewFunction, TEMPLATE_KINDS, TemplateKind, writeFunctionPlan } from '../../src/templates/functionTemplates';
import { tempDir, toolchainMissing } from '../support/wasmFixtures';

const ROOT = extensionRoot(__dirname);

function toolchainFor(kind: TemplateKind): string | undefined {
  switch (kind) {
    case 'rust':
      return toolchainMissing('rust');
    case 'c':
      return toolchainMissing('c');
    case 'tinygo':
      try {
        execFileSync('tinygo', ['version'], { stdio: 'ignore' });
        return undefined;
      } catch {
        return 'TinyGo is not installed here (no Debian package; see tinygo.org)';
      }
    default:
      return undefined;
  }
}

describe('function templates', () => {
  let runner: WorkerExecutor;
  let dir: string;
  before(() => {
    runner = new WorkerExecutor();
    dir = tempDir('nex-templates-');
  });
  after(() => {
    runner.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists every kind, with a label, a description and a file to open', () => {
    const templates = listTemplates(ROOT);
    assert.deepStrictEqual(templates.map((t) => t.kind), [...TEMPLATE_KINDS]);
    for (const t of templates) {
      assert.ok(t.label && t.description && t.open, t.kind);
    }
  });

  for (const kind of TEMPLATE_KINDS) {
    it(`creates a ${kind} function whose trigger case passes`, async function () {
      const missing = toolchainFor(kind);
      if (missing) {
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
      const target = path.join(dir, `my-${kind}`);
      const plan = planNewFunction(kind, target, { name: `my-${kind}`, subject: `orders.${kind}.*` }, ROOT);
      writeFunctionPlan(plan);
      assert.ok(fs.existsSync(plan.open), `${plan.open} exists`);
      for (const file of plan.files) {
        assert.doesNotMatch(fs.readFileSync(file.path, 'utf8'), /\{\{\w+\}\}/, `${file.path} has no placeholders left`);
      }
      if (kind === 'assemblyscript') {
        fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(target, 'node_modules'));
      }
      const def = loadValidFunction(target);
      assert.deepStrictEqual(def.problems, []);
      assert.deepStrictEqual(def.manifest!.triggers, [`orders.${kind}.*`]);
      const files = loadTriggerFiles(def);
      assert.deepStrictEqual(files.flatMap((f) => f.problems), []);
      const cases = files.flatMap((f) => f.cases);
      assert.strictEqual(cases.length, 1);
      assert.strictEqual(cases[0].subject, `orders.${kind}.test`);
      await buildIfNeeded(def);
      const result = await runTriggerCase(runner, def, cases[0]);
      assert.deepStrictEqual(result.failures, []);
      assert.strictEqual(result.status, 'passed');
      // A template that warns about itself teaches users to ignore warnings: notes only.
      const o = result.run!.outcome;
      assert.deepStrictEqual(o.warnings.filter((w) => hintSeverity(w.code, o.profile) === 'warning').map((w) => `${w.code}: ${w.message}`), []);
    }).timeout(120000);
  }

  it('ships examples whose first runs give notes, never warnings, under their own profiles', async function () {
    this.timeout(120000);
    const examples = path.join(ROOT, 'examples/workspace');
    const seen: string[] = [];
    for (const name of fs.readdirSync(examples).filter((n) => fs.existsSync(path.join(examples, n, 'nexfunction.json')))) {
      const def = loadValidFunction(path.join(examples, name));
      if (def.manifest.build && toolchainMissing('rust')) {
        continue;
      }
      for (const tc of loadTriggerFiles(def).flatMap((f) => f.cases)) {
        const result = await runTriggerCase(runner, def, tc);
        assert.strictEqual(result.status, 'passed', `${name} › ${tc.name}: ${result.failures.join('; ')}`);
        const o = result.run!.outcome;
        seen.push(...o.warnings.map((w) => `${name}: ${w.code} (${hintSeverity(w.code, o.profile)})`));
        assert.deepStrictEqual(o.warnings.filter((w) => hintSeverity(w.code, o.profile) === 'warning').map((w) => `${name} › ${tc.name}: ${w.code}: ${w.message}`), []);
      }
    }
    // The notes are there, as information: the examples show the hints without alarming anyone.
    assert.ok(seen.some((s) => /^counter: api-0\.2-only \(info\)$/.test(s)), seen.join('\n'));
    assert.ok(seen.some((s) => /^echo: reply-bytes \(info\)$/.test(s)), seen.join('\n'));
  });

  it('gives JavaScript templates typings and a jsconfig that checks them', () => {
    const plan = planNewFunction('js-kv', path.join(dir, 'typed'), { name: 'typed', subject: 'typed' }, ROOT);
    const names = plan.files.map((f) => path.basename(f.path));
    assert.ok(names.includes('nex.d.ts') && names.includes('jsconfig.json'));
    assert.match(plan.files.find((f) => f.path.endsWith('nex.d.ts'))!.content, /declare const hostServices: NexHostServices;/);
    assert.strictEqual(JSON.parse(plan.files.find((f) => f.path.endsWith('jsconfig.json'))!.content).compilerOptions.checkJs, true);
  });

  it('type-checks the JavaScript templates against their typings', () => {
    for (const kind of ['js', 'js-kv', 'js-messaging', 'js-http'] as const) {
      const target = path.join(dir, `tsc-${kind}`);
      writeFunctionPlan(planNewFunction(kind, target, { name: `tsc-${kind}`, subject: 'a.b' }, ROOT));
      execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(target, 'jsconfig.json')], { stdio: 'pipe' });
    }
  }).timeout(60000);

  it('never overwrites existing files', () => {
    const target = path.join(dir, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'nexfunction.json'), '{"keep": true}');
    const plan = planNewFunction('js', target, { name: 'taken', subject: 'a' }, ROOT);
    assert.deepStrictEqual(plan.conflicts, [path.join(target, 'nexfunction.json')]);
    assert.throws(() => writeFunctionPlan(plan), /not creating the function: nexfunction\.json already exists/);
    assert.strictEqual(fs.readFileSync(path.join(target, 'nexfunction.json'), 'utf8'), '{"keep": true}');
    assert.strictEqual(fs.existsSync(path.join(target, 'taken.js')), false, 'nothing was written');
  });

  it('validates the name and the subject', () => {
    assert.match(functionNameProblem('bad name')!, /letters, digits/);
    assert.strictEqual(functionNameProblem('good-name_2'), undefined);
    assert.throws(() => planNewFunction('js', path.join(dir, 'x'), { name: 'x', subject: '$SYS.foo' }, ROOT), /belong to the NATS server/);
    assert.strictEqual(exampleSubject('orders.*.>'), 'orders.test.test');
  });

  it('ships manifests that the JSON Schema and the validator both accept, and agree on bad ones', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas/nexfunction.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    for (const kind of TEMPLATE_KINDS) {
      const manifest = planNewFunction(kind, path.join(dir, `schema-${kind}`), { name: `s-${kind}`, subject: 'a.>' }, ROOT).files.find((f) => f.path.endsWith('nexfunction.json'))!;
      assert.ok(validate(JSON.parse(manifest.content)), `${kind}: ${JSON.stringify(validate.errors)}`);
      assert.deepStrictEqual(parseManifest(manifest.path, manifest.content).problems, []);
    }
    const bad = [
      '{"name": "bad name", "type": "v8", "source": "a.js"}',
      '{"name": "a", "type": "native", "source": "a.js"}',
      '{"name": "a", "type": "v8"}',
      '{"name": "a", "type": "wasm"}',
      '{"name": "a", "type": "v8", "source": "a.js", "triggers": ["$JS.API.>"]}',
      '{"name": "a", "type": "v8", "source": "a.js", "compat": "1.0"}',
      '{"name": "a", "type": "v8", "source": "a.js", "limits": {"timeoutMs": 0}}',
      '{"name": "a", "type": "v8", "source": "a.js", "env": {"A": 1}}',
    ];
    for (const text of bad) {
      assert.strictEqual(validate(JSON.parse(text)), false, `the schema accepts ${text}`);
      assert.ok(parseManifest('/x/nexfunction.json', text).problems.length > 0, `the validator accepts ${text}`);
    }
  });
});
