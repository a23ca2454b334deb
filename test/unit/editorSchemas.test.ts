import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';

const ROOT = path.resolve(__dirname, '../../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { editorSchemas } = require(path.join(ROOT, 'scripts/editor-schemas.js')) as { editorSchemas: () => Record<string, string> };

type Schema = { properties?: Record<string, Schema>; items?: Schema; description?: string; markdownDescription?: string; $ref?: string };

/** Every property path of a schema ("build.command", "cases[].expect.reply"), resolving local refs. */
function propertyPaths(schema: Schema, root: Schema, prefix = ''): Map<string, Schema> {
  const found = new Map<string, Schema>();
  const resolve = (s: Schema): Schema => (s.$ref?.startsWith('#/definitions/') ? (root as { definitions: Record<string, Schema> }).definitions[s.$ref.slice(14)] : s);
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    const p = `${prefix}${key}`;
    found.set(p, value);
    for (const [k, v] of propertyPaths(resolve(value), root, `${p}.`)) {
      found.set(k, v);
    }
    if (value.items) {
      for (const [k, v] of propertyPaths(resolve(value.items), root, `${p}[].`)) {
        found.set(k, v);
      }
    }
  }
  return found;
}

describe('the editor schemas', () => {
  const generated = editorSchemas();
  const editor = (name: string) => JSON.parse(generated[name]);
  const strict = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', `${name}.schema.json`), 'utf8'));

  it('are up to date with the strict schemas (npm run schemas writes them)', () => {
    for (const [name, text] of Object.entries(generated)) {
      assert.strictEqual(fs.readFileSync(path.join(ROOT, 'schemas/editor', `${name}.schema.json`), 'utf8'), text, `schemas/editor/${name}.schema.json is stale: run npm run schemas`);
    }
  });

  it('are what package.json contributes, for manifests, trigger files and mocks files', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const urls = pkg.contributes.jsonValidation.map((v: { url: string }) => v.url).sort();
    assert.deepStrictEqual(urls, ['./schemas/editor/mocks.schema.json', './schemas/editor/nexfunction.schema.json', './schemas/editor/triggers.schema.json']);
  });

  it('flag nothing, so that a problem shows once, in the extension\'s words', () => {
    const cases: Array<[string, unknown]> = [
      ['nexfunction', { name: 'bad name!', type: 'js', source: 3, build: { cmd: 'x' }, deploy: { node: 'N' }, engine: 'node' }],
      ['nexfunction', {}],
      ['triggers', { cases: [{ subject: 'a b', payload: 3, expect: { reply: 4, maxMs: -1, extra: 1 }, mocks: { kv: { 'bad key': 1 } } }] }],
      ['mocks', { kv: { a: 3 }, other: 1, http: { routes: [{ url: 1 }] } }],
    ];
    for (const [name, value] of cases) {
      assert.strictEqual(strict(name) && new Ajv({ strict: false, validateFormats: false }).validate(strict(name), value), false, `the strict ${name} schema refuses ${JSON.stringify(value)}`);
      const validate = new Ajv({ strict: false, allErrors: true }).compile(editor(name));
      assert.ok(validate(value), `the editor ${name} schema flags ${JSON.stringify(validate.errors)}`);
    }
  });

  it('keep every property of the strict schemas, with its description, and the allowed values as completions', () => {
    for (const name of ['nexfunction', 'triggers', 'mocks']) {
      const s = strict(name);
      const e = editor(name);
      const mine = propertyPaths(e, e);
      for (const [p, value] of propertyPaths(s, s)) {
        assert.ok(mine.has(p), `${name}: ${p} is in the editor schema`);
        if ((value as Schema).description) {
          assert.ok(mine.get(p)!.description, `${name}: ${p} keeps its description`);
        }
      }
    }
    assert.deepStrictEqual(editor('nexfunction').properties.type.examples, ['v8', 'wasm']);
    assert.deepStrictEqual(editor('triggers').properties.cases.items.properties.expect.properties.noReply.examples, [true, false], 'booleans complete to true and false');
    assert.match(editor('nexfunction').properties.type.markdownDescription, /`"wasm"`: A WebAssembly WASI command/);
    assert.deepStrictEqual(Object.keys(editor('triggers').definitions.mocks.properties), Object.keys(strict('mocks').properties));
  });
});
