// Counts triggers per subject in the function's own key-value bucket. Host-service calls are
// synchronous; values are Uint8Arrays (the runtime has no TextEncoder).
/** @param {string} text */
const bytes = (text) => new Uint8Array([...text].map((c) => c.charCodeAt(0)));
/** @param {Uint8Array} data */
const text = (data) => String.fromCharCode(...data);

/** @type {NexFunction} */
(subject, payload) => {
  const key = subject.replace(/[^a-zA-Z0-9_-]/g, '_');
  let count = 0;
  try {
    count = Number(text(hostServices.kv.get(key)));
  } catch (e) {
    // a missing key throws a plain string: this is the first message on this subject
  }
  count += 1;
  hostServices.kv.set(key, bytes(String(count)));
  return { subject, count };
};
