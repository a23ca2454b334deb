/**
 * Go's texts the 0.4.1 node and nexlet reproduce (src/nex04): encoding/json's syntax and type
 * errors (json.Unmarshal and a json.Decoder), go-jsonschema's required and enum errors,
 * time.ParseDuration, and jsonschema/v6's validation text.
 */
import * as assert from 'assert';
import { goDecode, goJsonSyntaxError } from '../../src/nex04/goDecode';
import { parseGoDuration } from '../../src/nex04/goDuration';
import { compileStartRequestSchema, StartSchemaError } from '../../src/nex04/startRequestSchema';
import { GO_TYPES } from '../../src/nex04/types';

const decodeError = (text: string, type: (typeof GO_TYPES)[keyof typeof GO_TYPES]) => {
  try {
    goDecode(text, type);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
};

describe('Go texts of the Nex 0.4 wire (src/nex04)', () => {
  it('gives encoding/json\'s syntax errors, as json.Unmarshal and as a json.Decoder', () => {
    const cases: Array<[string, string | undefined, string | undefined]> = [
      ['', 'unexpected end of JSON input', 'EOF'],
      ['  ', 'unexpected end of JSON input', 'EOF'],
      ['{"a":', 'unexpected end of JSON input', 'unexpected EOF'],
      ['{"a" 1}', "invalid character '1' after object key", "invalid character '1' after object key"],
      ['{"a":1 "b"}', 'invalid character \'"\' after object key:value pair', 'invalid character \'"\' after object key:value pair'],
      ['{a}', "invalid character 'a' looking for beginning of object key string", "invalid character 'a' looking for beginning of object key string"],
      ['[1 2]', "invalid character '2' after array element", "invalid character '2' after array element"],
      ['no', "invalid character 'o' in literal null (expecting 'u')", "invalid character 'o' in literal null (expecting 'u')"],
      ['-x', "invalid character 'x' in numeric literal", "invalid character 'x' in numeric literal"],
      ['1.x', "invalid character 'x' after decimal point in numeric literal", "invalid character 'x' after decimal point in numeric literal"],
      ['"a\\q"', "invalid character 'q' in string escape code", "invalid character 'q' in string escape code"],
      ['"a\nb"', "invalid character '\\n' in string literal", "invalid character '\\n' in string literal"],
      ['{} x', "invalid character 'x' after top-level value", 'invalid character after top-level value'],
      ['01', "invalid character '1' after top-level value", 'invalid character after top-level value'],
      [' {"a": [1, -2.5e3, true, null, "\\u00e9"]} ', undefined, undefined],
    ];
    for (const [text, unmarshal, decoder] of cases) {
      assert.strictEqual(goJsonSyntaxError(text), unmarshal, `unmarshal ${JSON.stringify(text)}`);
      assert.strictEqual(goJsonSyntaxError(text, 'decoder'), decoder, `decoder ${JSON.stringify(text)}`);
    }
  });

  it('checks required keys exactly and in alphabetical order, types in the body\'s order, enums (null as "")', () => {
    const swr = GO_TYPES.StartWorkloadRequest;
    assert.strictEqual(decodeError('{"name":"x"}', swr), 'field description in StartWorkloadRequest: required');
    assert.strictEqual(decodeError('{"Filter":{}}', GO_TYPES.NodePingRequest), 'field filter in NodePingRequest: required');
    assert.strictEqual(decodeError('null', swr), undefined);
    assert.deepStrictEqual(goDecode('{"FILTER":{"a":"b"},"filter":null}', GO_TYPES.NodePingRequest), { filter: null });
    const full = { description: 'd', name: 'n', namespace: 'ns', run_request: '{}', tags: null, workload_lifecycle: 'job', workload_type: 't' };
    assert.strictEqual(decodeError(JSON.stringify({ ...full, workload_type: 1, name: 2 }), swr), 'json: cannot unmarshal number into Go struct field Plain.name of type string');
    assert.strictEqual(decodeError(JSON.stringify({ ...full, tags: { a: 1 } }), swr), 'json: cannot unmarshal number into Go struct field Plain.tags of type string');
    assert.strictEqual(decodeError(JSON.stringify({ ...full, tags: 'x' }), swr), 'json: cannot unmarshal string into Go struct field Plain.tags of type models.NodeTags');
    assert.strictEqual(decodeError(JSON.stringify({ ...full, workload_lifecycle: null }), swr), 'invalid value (expected one of []interface {}{"service", "job", "function"}): ""');
    assert.strictEqual(decodeError(JSON.stringify({ ...full, workload_lifecycle: 1 }), swr), 'json: cannot unmarshal number into Go struct field Plain.workload_lifecycle of type string');
    // An enum's own error ends decoding before a type error found earlier is returned.
    assert.strictEqual(decodeError(JSON.stringify({ ...full, name: 1, workload_lifecycle: 'x' }), swr), 'invalid value (expected one of []interface {}{"service", "job", "function"}): "x"');
    const heartbeatSummary = { name: 'n', start_time: '2026-01-01T00:00:00.5Z', state: 'running', supported_lifecycles: ['function'], type: 'v8', version: '1', workload_count: 0 };
    assert.strictEqual(decodeError(JSON.stringify(heartbeatSummary), GO_TYPES.AgentSummary), 'json: cannot unmarshal array into Go struct field Plain.supported_lifecycles of type string');
    assert.strictEqual(decodeError(JSON.stringify({ ...heartbeatSummary, supported_lifecycles: 'function', workload_count: 1.5 }), GO_TYPES.AgentSummary), 'json: cannot unmarshal number 1.5 into Go struct field Plain.workload_count of type int');
  });

  it('parses Go durations with time.ParseDuration\'s errors', () => {
    assert.strictEqual(parseGoDuration('1m0s'), 60e9);
    assert.strictEqual(parseGoDuration('1.5h'), 5400e9);
    assert.strictEqual(parseGoDuration('-2s'), -2e9);
    assert.strictEqual(parseGoDuration('0'), 0);
    assert.strictEqual(parseGoDuration('300ms'), 300e6);
    assert.strictEqual(parseGoDuration('.5s'), 5e8);
    for (const [text, error] of [
      ['soon', 'time: invalid duration "soon"'],
      ['', 'time: invalid duration ""'],
      ['10', 'time: missing unit in duration "10"'],
      ['10x', 'time: unknown unit "x" in duration "10x"'],
      ['.s', 'time: invalid duration ".s"'],
      ['1é', 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'],
    ]) {
      assert.throws(() => parseGoDuration(text), { message: error }, text);
    }
  });

  it('compiles start request schemas and reports validation failures in jsonschema/v6\'s words', () => {
    const schema = compileStartRequestSchema(JSON.stringify({ type: 'object', properties: { uri: { type: 'string' }, argv: { type: 'array' }, mode: { enum: ['a', 'b'] }, n: { type: 'integer', minimum: 2 } }, required: ['uri', 'argv'], additionalProperties: false }));
    assert.match(schema.location, /^file:\/\/\/.+\/\d{1,6}\.json#$/);
    assert.strictEqual(schema.validate({ uri: 'x', argv: [] }), undefined);
    const text = schema.validate({ uri: 1, mode: 'c', n: 1, extra: true, other: 1 })!;
    const lines = text.split('\n');
    assert.strictEqual(lines[0], `jsonschema validation failed with '${schema.location}'`);
    assert.deepStrictEqual(lines.slice(1).sort(), [
      "- at '': additional properties 'extra', 'other' not allowed",
      "- at '': missing property 'argv'",
      "- at '/mode': value must be one of 'a', 'b'",
      "- at '/n': minimum: got 1, want 2",
      "- at '/uri': got number, want string",
    ]);
    assert.throws(() => compileStartRequestSchema('{"type":'), (e: unknown) => e instanceof StartSchemaError && e.stage === 'parse' && e.message === 'unexpected EOF');
    assert.throws(() => compileStartRequestSchema('{"type": 5}'), (e: unknown) => e instanceof StartSchemaError && e.stage === 'compile');
  });
});
