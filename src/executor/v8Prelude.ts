/**
 * The JavaScript that builds a V8 function's world inside its own `vm` context: `console`, the host
 * services of the profile, and the runner that calls the function, describes what it threw and turns
 * its return value into reply text. Everything the function can touch is made here, in the context's
 * realm: a function object, error or value of the host's realm would hand it the host's `Function`
 * constructor, and through it Node's `process` (`someHostFn.constructor('return process')()`).
 *
 * The only way out is `bridge`, a host function the prelude keeps in its closure and never exposes:
 * it takes primitives (and, for a value argument, the function's own Uint8Array, which the host only
 * brand-checks and reads with its own intrinsics), never calls back into the function's code, never
 * throws, and answers by writing primitives or values of the context's realm into a box the prelude
 * made. Every intrinsic the prelude uses is taken before the function's code runs, so what the code
 * later does to `JSON`, `String` or the prototypes changes nothing here.
 *
 * Evaluates to a factory: `(bridge, profile, hostApiJson, kvBucket, objBucket)` → the API, where
 * `hostApiJson` is the host-API table (HOST_API_JSON of hostApiTable.ts) and the buckets are the
 * function's own, for `hostServices`.
 */
export const V8_PRELUDE_FILE = '<nex-prelude>';

export const V8_PRELUDE_SOURCE = String.raw`(function nexPrelude(bridge, profile, hostApiJson, kvBucket, objBucket) {
  'use strict';
  const StringOf = String;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const defineProperty = Object.defineProperty;
  const TypeErrorOf = TypeError;
  const Bytes = Uint8Array;
  const AFTER_RETURN = 'host services are not available after the function returned';
  const BRIDGE_FAILED = 'the host-service call failed inside the V8 runner';
  const hostApi = parse(hostApiJson);
  let finished = false;
  let pending;

  const newBox = () => ({ __proto__: null, error: undefined, value: undefined, json: undefined });
  const str = (v) => (typeof v === 'string' ? v : StringOf(v));
  const host = (service, method, a, b, hasBody, body) => {
    if (finished) {
      throw AFTER_RETURN;
    }
    const box = newBox();
    try {
      bridge(box, 'call', service, method, a, b, hasBody, body);
    } catch {
      throw BRIDGE_FAILED; // e.g. the stack ran out inside the host: never its error object
    }
    if (box.error !== undefined) {
      throw box.error;
    }
    if (box.json !== undefined) {
      return parse(box.json);
    }
    return box.value;
  };

  // The host-service objects, as the table of hostApiTable.ts describes them. Everything is read
  // from the table here, before the function's code runs: later, only these closures are used.
  const services = { __proto__: null };
  const methodMaker = (service, spec) => {
    const name = spec.name;
    const strings = spec.args.length;
    const sent = spec.body === undefined ? 'never' : spec.body.sent;
    const arity = strings + (spec.body === undefined ? 0 : 1);
    const make = (bucket) => {
      const method = {
        [name](x, y) {
          const arg = strings > 0 ? str(x) : undefined;
          const payload = strings > 0 ? y : x;
          const withBody = sent === 'always' || (sent === 'given' && payload !== undefined);
          const body = withBody ? payload : undefined;
          return bucket === undefined ? host(service, name, arg, undefined, withBody, body) : host(service, name, bucket, arg, withBody, body);
        },
      }[name];
      defineProperty(method, 'length', { __proto__: null, value: arity });
      return method;
    };
    return { __proto__: null, name, make };
  };
  for (let i = 0; i < hostApi.services.length; i++) {
    const spec = hostApi.services[i];
    const makers = [];
    for (let j = 0; j < spec.methods.length; j++) {
      makers[j] = methodMaker(spec.service, spec.methods[j]);
    }
    services[spec.service] = { __proto__: null, bucket: spec.bucket === undefined ? undefined : spec.bucket === 'kv' ? kvBucket : objBucket, bucketed: spec.bucket !== undefined, makers };
  }
  const serviceObject = (service, bucket) => {
    const makers = services[service].makers;
    const o = {};
    for (let i = 0; i < makers.length; i++) {
      defineProperty(o, makers[i].name, { __proto__: null, value: makers[i].make(bucket), writable: true, enumerable: true, configurable: true });
    }
    return o;
  };
  const BUCKET_REQUIRED = hostApi.bucketRequired;
  const bucketFactory = (service) => (bucket) => {
    if (bucket === undefined || bucket === null || str(bucket) === '') {
      throw BUCKET_REQUIRED;
    }
    return serviceObject(service, str(bucket));
  };

  // console: formatted here (as the QuickJS engine formats), only the text crosses.
  const formatLogValue = (value) => {
    if (typeof value === 'string') {
      return value;
    }
    if (typeof value === 'function') {
      return '[Function]';
    }
    if (value && typeof value === 'object') {
      if ('name' in value && 'message' in value && 'stack' in value) {
        return value.name + ': ' + value.message;
      }
      try {
        return stringify(value);
      } catch {
        return StringOf(value);
      }
    }
    return StringOf(value);
  };
  const consoleMethod = (level) => (...args) => {
    if (finished) {
      return;
    }
    let text = '';
    for (let i = 0; i < args.length; i++) {
      const part = formatLogValue(args[i]);
      text += (i > 0 ? ' ' : '') + (part === undefined || part === null ? '' : part);
    }
    try {
      bridge(newBox(), 'log', level, text);
    } catch {
      throw BRIDGE_FAILED;
    }
  };
  const consoleObject = {
    log: consoleMethod('info'),
    info: consoleMethod('info'),
    debug: consoleMethod('debug'),
    warn: consoleMethod('warn'),
    error: consoleMethod('error'),
  };

  const isBytes = (value) => {
    const box = newBox();
    try {
      bridge(box, 'isBytes', value);
    } catch {
      return false;
    }
    return box.value === true;
  };
  const safe = (read) => {
    try {
      return read();
    } catch {
      return undefined;
    }
  };
  const text = (v) => safe(() => StringOf(v));
  /** What the host needs of a thrown value, as primitives: the stack is read here, in the function's realm. */
  const describe = (e) => {
    if (typeof e !== 'object' || e === null) {
      return { __proto__: null, primitive: true, isString: typeof e === 'string', text: typeof e === 'string' ? e : text(e) };
    }
    const code = safe(() => e.code);
    const name = safe(() => e.name);
    const message = safe(() => e.message);
    const stack = safe(() => e.stack);
    return {
      __proto__: null,
      primitive: false,
      code: typeof code === 'string' ? code : undefined,
      name: name === undefined || name === null ? undefined : text(name),
      message: message === undefined || message === null ? text(e) : text(message),
      stack: typeof stack === 'string' ? stack : undefined,
    };
  };
  const threw = (e) => {
    const error = describe(e);
    finished = true;
    return { __proto__: null, threw: true, error };
  };
  /** Runs what the host armed: the function and its reply, or the description of a top-level throw. */
  const run = () => {
    const job = pending;
    pending = undefined;
    if (job === undefined) {
      return undefined;
    }
    if (job.op === 'describe') {
      return threw(job.error);
    }
    const fn = job.fn;
    let value;
    try {
      value = fn(job.subject, job.payload);
    } catch (e) {
      return threw(e);
    }
    const kind = value === undefined ? 'undefined' : value === null ? 'null' : typeof value === 'string' ? 'string' : isBytes(value) ? 'bytes' : 'json';
    let json;
    if (profile !== 'docs' || kind === 'json') {
      // A node sends JSON.stringify(value): the intrinsic, whatever the function did to the global.
      try {
        const t = stringify(value);
        json = typeof t === 'string' ? t : undefined;
      } catch (e) {
        return threw(e);
      }
    }
    finished = true;
    return { __proto__: null, threw: false, kind, type: typeof value, json, value: kind === 'string' || kind === 'bytes' ? value : undefined };
  };
  const arm = (op, a, b, c) => {
    pending = op === 'describe' ? { __proto__: null, op, error: a } : { __proto__: null, op, fn: a, subject: b, payload: c };
  };

  const globals = { __proto__: null, console: consoleObject };
  if (profile === '0.3') {
    for (let i = 0; i < hostApi.globals03.length; i++) {
      const service = hostApi.globals03[i];
      globals[service] = services[service].bucketed ? bucketFactory(service) : serviceObject(service, undefined);
    }
  } else {
    const hostServices = {};
    for (let i = 0; i < hostApi.members.length; i++) {
      const service = hostApi.members[i];
      hostServices[service] = serviceObject(service, services[service].bucket);
    }
    globals.hostServices = hostServices;
  }
  return {
    __proto__: null,
    globals,
    run,
    arm,
    Uint8Array: Bytes,
    makeError: (message) => new TypeErrorOf(message),
  };
})`;
