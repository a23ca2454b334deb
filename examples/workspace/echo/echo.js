// A Nex function is a script whose last expression is a function. A node calls it with the
// subject that triggered it and the message payload (a Uint8Array); what it returns is the reply.
(subject, payload) => {
  console.log(`echo: ${payload.length} bytes on ${subject}`);
  return payload;
};
