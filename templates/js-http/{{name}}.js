// Calls an HTTP API through the host's HTTP service. Nodes drop the query string of the URL,
// so pass parameters in the path.

/** @type {NexFunction} */
(subject, payload) => {
  const service = String.fromCharCode(...payload).trim() || 'api';
  const res = hostServices.http.get(`https://status.example.com/services/${service}`);
  if (res.status !== 200) {
    return { service, ok: false, status: res.status };
  }
  return { service, ok: true, state: JSON.parse(res.response || '{}').state };
};
