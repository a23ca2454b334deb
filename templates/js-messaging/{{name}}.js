// Asks another service for a price (request/reply) and announces it (publish).
/** @param {string} text */
const bytes = (text) => new Uint8Array([...text].map((c) => c.charCodeAt(0)));

/** @type {NexFunction} */
(subject, payload) => {
  const symbol = String.fromCharCode(...payload).trim().toLowerCase() || 'btc';
  const answer = hostServices.messaging.request(`prices.${symbol}`, payload);
  const price = JSON.parse(String.fromCharCode(...answer));
  hostServices.messaging.publish('prices.announced', bytes(`${symbol}=${price.eur}`));
  return { symbol, eur: price.eur };
};
