// Counts triggers per subject in the function's key-value bucket, and announces each count.
// Host-service calls are synchronous; values are Uint8Arrays (the runtime has no TextEncoder).
const bytes = (text) => new Uint8Array([...text].map((c) => c.charCodeAt(0)));
const text = (bytes) => String.fromCharCode(...bytes);

(subject, payload) => {
  const kv = hostServices.kv;
  const key = subject.replace(/[^a-zA-Z0-9_-]/g, '_');
  let count = 0;
  try {
    count = Number(text(kv.get(key)));
  } catch (e) {
    // a missing key throws a plain string: this is the first trigger on this subject
  }
  count += 1;
  kv.set(key, bytes(String(count)));
  hostServices.messaging.publish('counter.changed', bytes(`${subject}=${count}`));
  return { subject, count };
};
