// A Nex function is a script whose last expression is a function. A node calls it with the
// subject a message arrived on and the payload bytes; what it returns is the reply.

/** @type {NexFunction} */
(subject, payload) => {
  console.log(`{{name}}: ${payload.length} bytes on ${subject}`);
  return payload;
};
