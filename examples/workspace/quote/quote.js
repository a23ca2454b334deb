// Written for Nex 0.3 ("compat": "0.3"): host services are the globals kv(bucket), objectStore(bucket),
// messaging and http. Asks the pricing service for a price and caches the answer.
(subject, payload) => {
  const symbol = String.fromCharCode(...payload).trim().toUpperCase() || 'BTC';
  const reply = messaging.request(`prices.${symbol.toLowerCase()}`, payload);
  kv('quotes').set(symbol, reply);
  return { symbol, price: JSON.parse(String.fromCharCode(...reply)).eur };
};
