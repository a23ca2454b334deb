/**
 * No one in: a function reaches nothing of the runner's realm, on either engine. Each shape below is
 * a way a function could get hold of a host-realm object (a host function, a host error, a host
 * value, a host call site) and from it the host's `Function`, and so Node's `process`:
 * `x.constructor.constructor('return process')()`. The function walks everything each shape gives
 * it (constructors, prototype chains, own properties and accessors) and reports what it reached;
 * whenever it does reach `process` it also writes a marker file with it, so a leak that happens
 * after the function returned (a promise job, Node printing an unhandled rejection) is caught too:
 * after each shape a second run goes through the same runner (a V8 child handles it only after the
 * first run's jobs), then the marker must be absent.
 *
 * On the V8 engine of 0.x (host functions handed to the context) most shapes reach `process`.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { utf8 } from '../../src/core/bytes';
import { CompatProfile, JsEngine } from '../../src/core/compat';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { DEFAULT_LIMITS, RunOutcome } from '../../src/executor/types';
import { MockHostServices } from '../../src/hostservices/mockBackend';
import { tempDir } from '../support/wasmFixtures';

/**
 * Prepended to every shape. `probe(label, value)` walks what `value` leads to and returns whether
 * some `Function` reached makes a function that returns a real `process`.
 */
const HARNESS = String.raw`
var __found = [], __probes = 0, __stringify = JSON.stringify, __Set = Set, __ownKeys = Reflect.ownKeys, __gopd = Object.getOwnPropertyDescriptor, __gpo = Object.getPrototypeOf;
function __leak(label, p) {
  __found.push(label);
  try { console.log('LEAKED ' + label); } catch (e) {}
  try { var fs = p.getBuiltinModule ? p.getBuiltinModule('fs') : p.mainModule.require('fs'); fs.writeFileSync(__MARKER, label); } catch (e) {}
}
var __busy = false;
function probe(label, start) {
  __probes++;
  if (__busy) return false; // a hook run by the walk itself
  __busy = true;
  try { return __walk(label, start); } finally { __busy = false; }
}
function __walk(label, start) {
  var seen = new __Set(), todo = [start], n = 0;
  while (todo.length > 0 && n < 4000) {
    var o = todo.pop();
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o); n++;
    if (typeof o === 'function') {
      var name; try { name = o.name; } catch (e) {}
      if (name === 'Function') {
        try { var p = o('return process')(); if (p && typeof p === 'object' && typeof p.pid === 'number') { __leak(label, p); return true; } } catch (e) {}
      }
    }
    try { todo.push(__gpo(o)); } catch (e) {}
    try { todo.push(o.constructor); } catch (e) {}
    var keys = []; try { keys = __ownKeys(o); } catch (e) {}
    for (var i = 0; i < keys.length && i < 400; i++) {
      var d; try { d = __gopd(o, keys[i]); } catch (e) { continue; }
      if (!d) continue;
      if ('value' in d) todo.push(d.value); else { todo.push(d.get); todo.push(d.set); }
    }
  }
  return false;
}
function probeAll(label, values) { for (var i = 0; i < values.length; i++) probe(label + '[' + i + ']', values[i]); }
function catching(f) { try { f(); return undefined; } catch (e) { return e; } }
function callers(label, f) { var c = f, i = 0; while (c && i < 20) { probe(label + ' caller ' + i, c); try { c = c.caller; } catch (e) { probe(label + ' caller error', e); break; } i++; } }
function hooked(label) {
  var hook = function () { probe(label + ' this', this); probeAll(label + ' arguments', arguments); callers(label, arguments.callee.caller); return 'k'; };
  return { toString: hook, valueOf: hook, toJSON: hook, [Symbol.toPrimitive]: hook, get then() { probe(label + ' then getter', this); return undefined; } };
}
function hostileProxy(label) {
  var handler = new Proxy({}, { get: function (t, trap) { return function () { probeAll(label + ' trap ' + String(trap), arguments); callers(label + ' trap', arguments.callee.caller); return Reflect[trap].apply(null, arguments); }; } });
  return new Proxy({}, handler);
}
var H = typeof hostServices !== 'undefined' ? hostServices : { kv: kv('b'), objectStore: objectStore('o'), messaging: messaging, http: http };
function __report() { return __stringify({ probes: __probes, leaked: __found }); }
`;

interface Shape {
  name: string;
  /** Top-level code, run before the function is called. */
  top?: string;
  /** The function's body (sloppy mode); `payload` is its payload. It ends with `return __report();` unless it returns itself. */
  body: string;
  /** Whether the body returns the report itself (otherwise `return __report();` is added). */
  returns?: boolean;
  /** Evidence that the shape ran: at least this many probes in the report (default 1)... */
  minProbes?: number;
  /** ...or, for a shape that throws, a log line with this text (on the engines listed). */
  logged?: { text: string; engines: JsEngine[] };
  profiles?: CompatProfile[];
}

const SHAPES: Shape[] = [
  {
    name: 'host functions, console and the global object (constructors and prototype chains)',
    body: `
      probe('host API', H); probe('console', console); probe('globalThis', globalThis); probe('this', this);
      probe('global prototype', Object.getPrototypeOf(globalThis));
      probe('global descriptors', Object.getOwnPropertyDescriptors(globalThis));
      probeAll('global names', Object.getOwnPropertyNames(globalThis).map(function (n) { try { return globalThis[n]; } catch (e) { return e; } }));
      probe('kv.get.constructor', H.kv.get.constructor); probe('console.log.constructor', console.log.constructor);
      probe('kv.get prototype', Object.getPrototypeOf(H.kv.get)); probe('console prototype', Object.getPrototypeOf(console));
      probe('old invoke global', globalThis.__nexInvoke__); probe('runner global', globalThis.__nexRun__);
      if (typeof kv === 'function') { probe('kv factory', kv); probe('objectStore factory', objectStore); }`,
    minProbes: 10,
    profiles: ['docs', '0.2', '0.3'],
  },
  {
    name: 'errors thrown by host calls and by console',
    body: `
      var bad = Object.create(null), noPrim = { toString: null, valueOf: null };
      var cyclic = Object.create(null); cyclic.self = cyclic;
      probeAll('errors', [
        catching(function () { H.kv.get(noPrim); }), catching(function () { H.kv.get(bad); }), catching(function () { H.kv.get(Symbol('s')); }),
        catching(function () { H.kv.set('k', 'text'); }), catching(function () { H.kv.set('k'); }), catching(function () { H.kv.get('missing'); }),
        catching(function () { H.objectStore.get('missing'); }), catching(function () { H.messaging.requestMany('x'); }),
        catching(function () { H.messaging.request('nobody.listens', new Uint8Array(1)); }), catching(function () { H.http.get('http://127.0.0.1:9/none'); }),
        catching(function () { console.log(cyclic); }), catching(function () { console.log(noPrim); }), catching(function () { console.log(bad); }),
        catching(function () { return H.kv.get.caller; }), catching(function () { return H.kv.get.arguments; }), catching(function () { return console.log.caller; }),
        catching(function () { new H.kv.get(); }), catching(function () { new console.log(); }),
        catching(function () { if (typeof kv === 'function') kv(); }), catching(function () { if (typeof kv === 'function') kv(noPrim); }),
      ]);`,
    minProbes: 20,
    profiles: ['docs', '0.2', '0.3'],
  },
  {
    name: 'errors from a stack that runs out inside a host call',
    body: `
      var got = [];
      function dive(n) {
        try { dive(n + 1); } catch (e) {}
        if (got.length < 40) {
          try { H.kv.get('k'); } catch (e) { if (typeof e === 'object' && e !== null) got.push(e); }
          try { console.log('deep'); } catch (e) { if (typeof e === 'object' && e !== null) got.push(e); }
          try { H.kv.set('k', new Uint8Array(1)); } catch (e) { if (typeof e === 'object' && e !== null) got.push(e); }
        }
      }
      dive(0);
      probe('first', got[0]); probeAll('overflow errors', got);`,
    minProbes: 2,
  },
  {
    name: 'values returned by host calls (typed arrays, their buffers, Symbol.species, JSON)',
    body: `
      var bytes = H.kv.get('k'), keys = H.kv.keys(), obj = H.objectStore.get('o'), list = H.objectStore.list();
      var put = H.objectStore.put('p', new Uint8Array([1])), reply = H.messaging.request('echo.me', new Uint8Array([1])), web = H.http.get('http://mock.test/data');
      probeAll('results', [bytes, keys, obj, list, put, reply, web]);
      probeAll('buffers', [bytes.buffer, obj.buffer, reply.buffer]);
      probeAll('species', [bytes.subarray(0), bytes.slice(0), bytes.map(function (x) { return x; }), keys.map(function (x) { return x; }), keys.slice(0), keys.filter(Boolean), keys.concat([])]);
      Uint8Array[Symbol.species]; Object.defineProperty(bytes, 'constructor', { value: { [Symbol.species]: function (n) { probeAll('species constructor', arguments); return new Uint8Array(n); } } });
      probe('species on a result', bytes.slice(0));`,
    minProbes: 15,
    profiles: ['docs', '0.3'],
  },
  {
    name: 'getters, hooks and proxies as arguments (arguments.callee.caller in sloppy mode)',
    body: `
      var h = hooked('hook'), px = hostileProxy('proxy');
      catching(function () { H.kv.get(h); }); catching(function () { H.kv.set(h, h); }); catching(function () { H.kv.set('k', px); });
      catching(function () { H.kv.get(px); }); catching(function () { H.messaging.publish(h, px); }); catching(function () { H.http.post(h, px); });
      catching(function () { H.objectStore.put(h, px); }); catching(function () { console.log(h, px); }); catching(function () { console.log({ toJSON: h.toJSON }); });
      var e = new Error('x'); Object.defineProperty(e, 'name', { get: function () { callers('error name getter', arguments.callee.caller); probe('name getter this', this); return 'E'; } });
      catching(function () { console.log(e); });
      callers('the function', arguments.callee.caller);`,
    minProbes: 10,
  },
  {
    name: 'prototype methods the host might call, replaced before the run',
    top: `
      (function () {
        function wrap(owner, key, label) {
          var original = owner[key];
          owner[key] = function () { probe(label + ' this', this); probeAll(label + ' arguments', arguments); callers(label, arguments.callee.caller); return original.apply(this, arguments); };
        }
        wrap(Uint8Array.prototype, 'set', 'Uint8Array.set'); wrap(Uint8Array.prototype, 'slice', 'Uint8Array.slice'); wrap(Uint8Array.prototype, 'subarray', 'Uint8Array.subarray');
        wrap(Object.getPrototypeOf(Uint8Array.prototype), 'set', 'TypedArray.set'); wrap(Array.prototype, 'map', 'Array.map'); wrap(Array.prototype, 'join', 'Array.join');
        wrap(JSON, 'parse', 'JSON.parse'); wrap(JSON, 'stringify', 'JSON.stringify'); wrap(String.prototype, 'toString', 'String.toString');
        ['buffer', 'byteOffset', 'byteLength', 'length'].forEach(function (k) {
          var TA = Object.getPrototypeOf(Uint8Array.prototype), d = Object.getOwnPropertyDescriptor(TA, k);
          Object.defineProperty(Uint8Array.prototype, k, { configurable: true, get: function () { probe('getter ' + k + ' this', this); callers('getter ' + k, arguments.callee.caller); return d.get.call(this); } });
        });
      })();`,
    body: `
      probe('payload', payload);
      catching(function () { H.kv.get('k'); }); catching(function () { H.kv.set('k', new Uint8Array([65])); }); catching(function () { H.kv.keys(); });
      catching(function () { H.messaging.request('echo.me', new Uint8Array([1])); }); catching(function () { H.http.get('http://mock.test/data'); });
      catching(function () { console.log({ a: 1 }, [1, 2]); });`,
    minProbes: 1,
  },
  {
    name: 'the payload Uint8Array and its buffer',
    body: `
      probe('payload', payload); probe('payload.buffer', payload.buffer); probe('payload prototype', Object.getPrototypeOf(payload));
      probeAll('payload views', [payload.subarray(0), payload.slice(0), payload.map(function (x) { return x; }), new DataView(payload.buffer)]);`,
    minProbes: 4,
  },
  {
    name: "Error.prepareStackTrace on the function's own stacks (call sites of host frames)",
    top: `
      Error.prepareStackTrace = function (error, trace) {
        probe('trace', trace);
        for (var i = 0; i < trace.length; i++) {
          var cs = trace[i]; probe('call site ' + i, cs);
          try { probe('getThis ' + i, cs.getThis()); } catch (e) { probe('getThis error', e); }
          try { probe('getFunction ' + i, cs.getFunction()); } catch (e) { probe('getFunction error', e); }
        }
        return 'stack';
      };`,
    body: `
      var stacks = [];
      var key = { toString: function () { stacks.push(new Error('inside a host call').stack); return 'k'; } };
      catching(function () { H.kv.get(key); }); catching(function () { console.log({ toJSON: function () { stacks.push(new Error('in console').stack); return 1; } }); });
      stacks.push(new Error('in the function').stack);
      probe('stacks', stacks);`,
    minProbes: 1,
  },
  {
    name: 'Error.prepareStackTrace on an error the runner describes (thrown by the function)',
    top: `
      Error.prepareStackTrace = function (error, trace) {
        probe('trace', trace); for (var i = 0; i < trace.length; i++) { probe('call site ' + i, trace[i]); try { probe('getFunction', trace[i].getFunction()); probe('getThis', trace[i].getThis()); } catch (e) {} }
        console.log('PROBED prepareStackTrace');
        return 'stack of ' + error.message;
      };`,
    body: `throw new Error('boom');`,
    returns: true,
    logged: { text: 'PROBED', engines: ['v8'] },
  },
  {
    name: 'Error.prepareStackTrace on an error thrown at the top level',
    top: `
      Error.prepareStackTrace = function (error, trace) { probe('trace', trace); console.log('PROBED top-level'); return 'stack'; };
      throw new Error('at the top');`,
    body: `return 1;`,
    returns: true,
    logged: { text: 'PROBED', engines: ['v8'] },
  },
  {
    name: 'promises, thenables and promise jobs',
    top: `
      globalThis.later = [];
      Promise.resolve().then(function () { later.push('job'); callers('promise job', arguments.callee.caller); probe('job this', this); });
      (async function () { var v = await { then: function (resolve) { probeAll('thenable resolve', arguments); resolve(1); } }; later.push(v); })();`,
    body: `
      probe('promise', Promise.resolve(H.kv.get('k'))); probeAll('later', later);
      catching(function () { H.kv.set('k', { then: function () { probeAll('then called by host', arguments); } }); });
      Promise.resolve().then(function () { probe('job after return', this); callers('job after return', arguments.callee.caller); });
      (async function () { await null; probe('async after return', H); catching(function () { H.kv.get('k'); }); })();`,
    minProbes: 1,
  },
  {
    name: 'import() and its rejection',
    top: `
      globalThis.imported = [];
      try { var ip = import('fs'); imported.push(ip); ip.then(function (m) { probe('imported module', m); }, function (e) { probe('import rejection', e); imported.push(e); }); } catch (e) { imported.push(e); }
      try { var ep = (0, eval)("import('child_process')"); imported.push(ep); ep.catch(function (e) { probe('eval import rejection', e); }); } catch (e) { imported.push(e); }`,
    body: `
      probeAll('imports', imported);
      try { var p = import('fs'); probe('import promise', p); p.catch(function (e) { probe('import rejection after return', e); }); } catch (e) { probe('import error', e); }`,
    minProbes: 1,
  },
  {
    name: 'an unhandled rejection read by the runner after the run',
    top: `Error.prepareStackTrace = function (error, trace) { probe('unhandled trace', trace); for (var i = 0; i < trace.length; i++) probe('unhandled call site', trace[i]); return 'stack'; };`,
    body: `Promise.reject(new Error('nobody handles this')); (async function () { throw new Error('nor this'); })();`,
    minProbes: 0,
  },
  {
    name: 'replacing the runner global',
    top: `
      globalThis.replaced = [];
      try { globalThis.__nexRun__ = function () { return { threw: false, kind: 'string', value: 'forged' }; }; } catch (e) { replaced.push(e); }
      try { delete globalThis.__nexRun__; } catch (e) { replaced.push(e); }
      try { Object.defineProperty(globalThis, '__nexRun__', { value: 1 }); } catch (e) { replaced.push(e); }`,
    body: `probeAll('replace errors', replaced); probe('runner', globalThis.__nexRun__); try { probe('runner result', globalThis.__nexRun__ && globalThis.__nexRun__()); } catch (e) { probe('runner error', e); }`,
    minProbes: 2,
  },
];

const ENGINES: JsEngine[] = ['quickjs', 'v8'];

function mocks(): MockHostServices {
  return new MockHostServices().seed({
    kv: { k: 'value' },
    kvBuckets: { b: { k: 'value' } },
    objects: { o: 'object' },
    objectStores: { o: { o: 'object' } },
    requestReplies: [{ subject: 'echo.me', reply: 'pong' }],
    http: { routes: [{ method: '*', url: 'http://mock.test/data', body: { json: { ok: true, list: [1, 2] } } }] },
  });
}

function sourceOf(shape: Shape, marker: string): string {
  return `var __MARKER = ${JSON.stringify(marker)};\n${HARNESS}\n${shape.top ?? ''}\n(function (subject, payload) {\n${shape.body}\n${shape.returns ? '' : 'return __report();'}\n});\n`;
}

describe('no one in: a function reaches no host-realm object on QuickJS or V8', function () {
  this.timeout(60000);
  let runner: WorkerExecutor;
  let dir: string;
  before(() => {
    runner = new WorkerExecutor();
    dir = tempDir('nex-escapes-');
  });
  after(() => {
    runner.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (engine: JsEngine, profile: CompatProfile, source: string): Promise<RunOutcome> =>
    runner.run(
      { kind: 'js', engine, source, fileName: '/ws/escape.js', subject: 'escape.test', payload: utf8('payload'), limits: { ...DEFAULT_LIMITS, timeoutMs: 20000 }, profile, workload: 'function', namespace: 'default' },
      { hostServices: mocks() },
    );

  for (const engine of ENGINES) {
    for (const [index, shape] of SHAPES.entries()) {
      for (const profile of shape.profiles ?? ['docs']) {
        it(`${engine}, ${profile}: ${shape.name}`, async () => {
          const marker = path.join(dir, `${engine}-${profile}-${index}.leaked`);
          const outcome = await run(engine, profile, sourceOf(shape, marker));
          // The same runner (the same V8 child) runs another function: by then the first one's
          // promise jobs and Node's handling of its unhandled rejections are over.
          const next = await run(engine, profile, '(s, p) => "next";');
          assert.strictEqual(next.error, undefined, `the runner answers after the shape: ${JSON.stringify(next.error)}`);
          const logs = outcome.logs.map((l) => l.text);
          const leaked = logs.filter((l) => l.startsWith('LEAKED'));
          assert.deepStrictEqual(leaked, [], `${engine} reached process: ${leaked.join('; ')}`);
          assert.ok(!fs.existsSync(marker), `${engine} reached process (marker written: ${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''})`);
          if (shape.logged) {
            if (shape.logged.engines.includes(engine)) {
              assert.ok(logs.some((l) => l.includes(shape.logged!.text)), `the shape ran: ${JSON.stringify(outcome.logs)} ${JSON.stringify(outcome.error)}`);
            }
            return;
          }
          if (shape.minProbes === 0) {
            return;
          }
          assert.strictEqual(outcome.error, undefined, JSON.stringify(outcome.error));
          // 0.2 and 0.3 send JSON.stringify of the returned text.
          let report = JSON.parse(Buffer.from(outcome.reply!).toString()) as { probes: number; leaked: string[] } | string;
          report = typeof report === 'string' ? (JSON.parse(report) as { probes: number; leaked: string[] }) : report;
          assert.deepStrictEqual(report.leaked, [], `${engine} reached process through ${report.leaked.join(', ')}`);
          assert.ok(report.probes >= (shape.minProbes ?? 1), `the shape ran (${report.probes} probes)`);
        });
      }
    }
  }

  it('the V8 engine still gives a function what it needs (replies, logs, host calls, errors with lines)', async () => {
    const outcome = await run(
      'v8',
      'docs',
      `(subject, payload) => {
        console.log('got', payload.length, 'bytes', { a: 1 }, new Error('shown'));
        const v = hostServices.kv.get('k');
        let thrown;
        try { hostServices.kv.get('missing'); } catch (e) { thrown = e; }
        return { subject, value: String.fromCharCode(...v), keys: hostServices.kv.keys(), thrown, isArray: Array.isArray(hostServices.kv.keys()), bytes: v instanceof Uint8Array };
      };`,
    );
    assert.strictEqual(outcome.error, undefined, JSON.stringify(outcome.error));
    assert.deepStrictEqual(JSON.parse(Buffer.from(outcome.reply!).toString()), {
      subject: 'escape.test',
      value: 'value',
      keys: ['k'],
      thrown: 'Error: key "missing" not found in bucket hs_default_function_kv (404)',
      isArray: true,
      bytes: true,
    });
    assert.deepStrictEqual(outcome.logs, [{ level: 'info', text: 'got 7 bytes {"a":1} Error: shown' }]);
    const failing = await run('v8', 'docs', '(s, p) => {\n  const x = 1;\n  throw new TypeError("bad " + x);\n};');
    assert.strictEqual(failing.error?.kind, 'exception');
    assert.strictEqual(failing.error?.message, 'TypeError: bad 1');
    assert.strictEqual(failing.error?.line, 3);
  });
});
