#!/usr/bin/env node
/**
 * Writes the editor's copies of the JSON schemas (schemas/editor/): the same properties,
 * descriptions, examples and completions, without the rules the extension checks itself. VS Code's
 * JSON support validates the files it has a schema for; with the strict schemas every manifest,
 * trigger-file and mocks problem showed twice, once in the extension's words and once in the
 * schema's. The strict schemas in schemas/ stay the reference (tests and other tools use them).
 *
 *   node scripts/editor-schemas.js          write schemas/editor/*.json
 *   node scripts/editor-schemas.js --check  fail when they are not up to date
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const NAMES = ['nexfunction', 'triggers', 'mocks'];
/** Keywords that only validate: the extension reports what they would, in its own words. */
const RULES = new Set([
  'required', 'pattern', 'propertyNames', 'additionalProperties', 'uniqueItems', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'format', 'minItems', 'maxItems', 'allOf', 'if', 'then', 'else', 'not', 'const', 'type', 'enum',
  'markdownEnumDescriptions', 'enumDescriptions',
]);

/** What completion inserts for a property of a type, once `type` is gone. */
function snippetFor(type) {
  switch (type) {
    case 'string':
      return [{ body: '$1' }];
    case 'object':
      return [{ body: {} }];
    case 'array':
      return [{ body: [] }];
    default:
      return undefined;
  }
}

function lenient(schema) {
  if (Array.isArray(schema)) {
    return schema.map(lenient);
  }
  if (!schema || typeof schema !== 'object') {
    return schema;
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (RULES.has(key)) {
      continue;
    }
    if (key === 'properties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, lenient(v)]));
    } else if (key === 'oneOf' || key === 'anyOf') {
      // Every branch matches once its rules are gone: "anyOf" keeps their completions without "matches more than one".
      out.anyOf = lenient(value);
    } else {
      out[key] = lenient(value);
    }
  }
  if (Array.isArray(schema.enum)) {
    // Values the extension checks: offered by completion, explained on hover, not validated here.
    out.examples = [...schema.enum];
    const notes = schema.markdownEnumDescriptions ?? schema.enumDescriptions;
    if (notes) {
      const list = schema.enum.map((v, i) => `- \`${JSON.stringify(v)}\`: ${notes[i] ?? ''}`).join('\n');
      out.markdownDescription = `${schema.markdownDescription ?? schema.description ?? ''}\n\n${list}`.trim();
    }
  } else if (typeof schema.type === 'string' && !('examples' in schema) && !('default' in schema) && !('defaultSnippets' in schema) && !schema.oneOf && !schema.anyOf && !schema.$ref) {
    if (schema.type === 'boolean') {
      out.examples = [true, false];
    } else {
      const snippets = snippetFor(schema.type);
      if (snippets) {
        out.defaultSnippets = snippets;
      }
    }
  }
  return out;
}

function read(name) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', `${name}.schema.json`), 'utf8'));
}

/** The editor schemas by name, as the text to write. */
function editorSchemas() {
  const result = {};
  for (const name of NAMES) {
    const schema = lenient(read(name));
    schema.$id = schema.$id.replace(/\/schemas\//, '/schemas/editor/');
    if (name === 'triggers') {
      // A case's "mocks" are a mocks file's format: the same completions and hovers, inline.
      const mocks = lenient(read('mocks'));
      const caseProps = schema.properties.cases.items.properties;
      schema.definitions = { ...schema.definitions, ...mocks.definitions, mocks: { description: caseProps.mocks.description, properties: mocks.properties } };
      caseProps.mocks = { $ref: '#/definitions/mocks', description: caseProps.mocks.description };
    }
    result[name] = `${JSON.stringify(schema, null, 2)}\n`;
  }
  return result;
}

function main() {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const [name, text] of Object.entries(editorSchemas())) {
    const file = path.join(ROOT, 'schemas', 'editor', `${name}.schema.json`);
    if (check) {
      if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
        stale.push(path.relative(ROOT, file));
      }
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    }
  }
  if (stale.length > 0) {
    console.error(`out of date: ${stale.join(', ')}: run "npm run schemas"`);
    process.exit(1);
  }
}

module.exports = { editorSchemas, lenient };
if (require.main === module) {
  main();
}
