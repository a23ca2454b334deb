// Replies with JSON: an object returned by the function is sent as its JSON text.
(subject, payload) => {
  const name = String.fromCharCode(...payload).trim() || 'world';
  if (name.length > 40) {
    throw new Error(`name too long (${name.length} characters)`);
  }
  return { greeting: `Hello, ${name}!`, subject };
};
