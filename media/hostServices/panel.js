// The host-services panel's webview: renders the snapshot the extension posts, sends edits back.
// Everything user-controlled is set as text (textContent / value), never as HTML.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');
  const initial = JSON.parse(atob(document.body.dataset.state || 'e30='));
  const ui = Object.assign({ filter: '', openHistory: [] }, vscode.getState() || {}, initial);
  vscode.setState(ui);
  let snapshot;
  let error = '';

  const { h, icon, button } = window.nexDom;
  const send = (msg) => vscode.postMessage(msg);
  const value = (v) => (v ? h('pre', { class: `value ${v.kind}` }, v.kind === 'binary' ? `<${v.size} bytes> ${v.text}` : v.text) : h('span', { class: 'muted' }, '(deleted)'));
  const section = (id, title, iconName, ...content) => h('section', { id }, h('h2', {}, icon(iconName), ' ', title), ...content);
  const field = (id, label, input) => h('label', { for: id }, h('span', {}, label), input);
  const encodingSelect = (id) => h('select', { id }, h('option', { value: 'text' }, 'text'), h('option', { value: 'json' }, 'JSON'), h('option', { value: 'base64' }, 'base64'));
  const readValue = (textId, encodingId) => ({ text: document.getElementById(textId).value, encoding: document.getElementById(encodingId).value });

  function header(s) {
    return h('header', {},
      h('h1', {}, icon('server-environment'), ' ', s.functionName),
      h('p', { class: 'muted' }, `profile ${s.profile} · mocks ${s.mocksFile || '(none: Save creates mocks.json)'}`, s.dirty ? h('span', { class: 'badge', id: 'dirty' }, 'unsaved changes') : null),
      h('div', { class: 'actions' },
        button('Run again', 'play', () => send({ type: 'run' }), { id: 'run', class: 'primary' }),
        button('Save to mocks file', 'save', () => send({ type: 'mocks.save' }), { id: 'save' }),
        button('Reset to mocks file', 'discard', () => send({ type: 'mocks.reset' }), { id: 'reset' }),
        button('Export as case fixture', 'export', () => send({ type: 'mocks.export' }), { id: 'export' })),
      error ? h('p', { class: 'error', role: 'alert', id: 'error' }, icon('error'), ' ', error) : null,
      s.lastRun
        ? h('div', { class: 'last-run', id: 'last-run' },
            h('span', {}, `last run on ${s.lastRun.subject}: `),
            s.lastRun.ok ? (s.lastRun.reply ? h('pre', { class: 'value', id: 'last-reply' }, s.lastRun.reply.text) : h('span', { id: 'last-reply' }, 'no reply')) : h('span', { class: 'error', id: 'last-reply' }, s.lastRun.error))
        : h('p', { class: 'muted' }, 'No run yet: run the function to see its reply and calls here.'));
  }

  function kvSection(s) {
    const defaultBucket = `hs_default_${s.functionName}_kv`;
    const rows = s.kv.map((e) => {
      const key = `${e.bucket}/${e.key}`;
      const open = ui.openHistory.includes(key);
      return [
        h('tr', { 'data-key': e.key },
          h('td', {}, e.bucket === defaultBucket ? '' : e.bucket),
          h('td', { class: 'key' }, e.key),
          h('td', {}, value(e.value)),
          h('td', { class: 'num' }, String(e.revision)),
          h('td', { class: 'row-actions' },
            button('', 'edit', () => {
              document.getElementById('kv-bucket').value = e.bucket;
              document.getElementById('kv-key').value = e.key;
              document.getElementById('kv-value').value = e.value.kind === 'binary' ? '' : e.value.text;
              document.getElementById('kv-encoding').value = e.value.kind === 'json' ? 'json' : 'text';
              document.getElementById('kv-value').focus();
            }, { title: `Edit ${e.key}`, 'aria-label': `Edit ${e.key}` }),
            button('', 'history', () => {
              ui.openHistory = open ? ui.openHistory.filter((k) => k !== key) : ui.openHistory.concat(key);
              vscode.setState(ui);
              render();
            }, { title: 'Revision history', 'aria-label': `History of ${e.key}`, disabled: e.history.length === 0 }),
            button('', 'trash', () => send({ type: 'kv.delete', bucket: e.bucket, key: e.key }), { title: `Delete ${e.key}`, 'aria-label': `Delete ${e.key}` }))),
        open ? h('tr', { class: 'history' }, h('td', { colspan: 5 }, h('ul', {}, e.history.map((v) => h('li', {}, `revision ${v.revision}: `, value(v.value)))))) : null,
      ];
    });
    return section('kv', 'Key-value', 'database',
      s.kv.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'bucket'), h('th', {}, 'key'), h('th', {}, 'value'), h('th', {}, 'rev'), h('th', {}, ''))), h('tbody', {}, rows)) : h('p', { class: 'muted' }, 'The bucket is empty.'),
      h('form', { class: 'editor', on: { submit: (ev) => { ev.preventDefault(); send({ type: 'kv.set', bucket: document.getElementById('kv-bucket').value || defaultBucket, key: document.getElementById('kv-key').value, value: readValue('kv-value', 'kv-encoding') }); } } },
        field('kv-bucket', 'bucket', h('input', { id: 'kv-bucket', value: defaultBucket })),
        field('kv-key', 'key', h('input', { id: 'kv-key', placeholder: 'e.g. greeting', required: true })),
        field('kv-value', 'value', h('textarea', { id: 'kv-value', rows: 2 })),
        field('kv-encoding', 'as', encodingSelect('kv-encoding')),
        h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'kv-set' }, icon('check'), 'Set'), button('Clear bucket', 'clear-all', () => send({ type: 'kv.clear', bucket: document.getElementById('kv-bucket').value || defaultBucket })))));
  }

  function objectSection(s) {
    return section('objects', 'Object store', 'files',
      s.objects.length
        ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'size'), h('th', {}, 'digest'), h('th', {}, 'modified'), h('th', {}, ''))),
            h('tbody', {}, s.objects.map((o) => h('tr', {}, h('td', { class: 'key' }, o.name), h('td', { class: 'num' }, String(o.size)), h('td', { class: 'digest' }, o.digest), h('td', {}, o.mtime),
              h('td', { class: 'row-actions' }, button('', 'cloud-download', () => send({ type: 'object.download', bucket: o.bucket, name: o.name }), { title: `Download ${o.name}`, 'aria-label': `Download ${o.name}` }), button('', 'trash', () => send({ type: 'object.delete', bucket: o.bucket, name: o.name }), { title: `Delete ${o.name}`, 'aria-label': `Delete ${o.name}` }))))))
        : h('p', { class: 'muted' }, 'No objects.'),
      h('div', { class: 'actions' }, button('Add from file…', 'add', () => send({ type: 'object.add' }))));
  }

  function messagingSection(s) {
    return section('messaging', 'Messaging', 'mail',
      h('h3', {}, 'Messages sent'),
      s.messages.length
        ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'subject'), h('th', {}, 'payload'), h('th', {}, 'reply'), h('th', {}, 'time'))),
            h('tbody', {}, s.messages.map((m) => h('tr', {}, h('td', {}, m.kind), h('td', { class: 'key' }, m.subject), h('td', {}, value(m.payload)), h('td', {}, m.reply ? value(m.reply) : h('span', { class: 'muted' }, m.error || '')), h('td', {}, m.time)))))
        : h('p', { class: 'muted' }, 'Nothing published or requested yet.'),
      h('h3', {}, 'Canned replies for requests'),
      s.requestReplies.length
        ? h('table', {}, h('tbody', {}, s.requestReplies.map((r, i) => h('tr', {}, h('td', { class: 'key' }, r.subject), h('td', {}, value(r.reply)), h('td', { class: 'row-actions' }, button('', 'trash', () => send({ type: 'reply.delete', index: i }), { title: 'Remove', 'aria-label': `Remove the reply for ${r.subject}` }))))))
        : h('p', { class: 'muted' }, 'None: requests fail with "no responders".'),
      h('form', { class: 'editor', on: { submit: (ev) => { ev.preventDefault(); send({ type: 'reply.set', subject: document.getElementById('reply-subject').value, reply: readValue('reply-value', 'reply-encoding') }); } } },
        field('reply-subject', 'subject pattern', h('input', { id: 'reply-subject', placeholder: 'e.g. prices.*', required: true })),
        field('reply-value', 'reply', h('textarea', { id: 'reply-value', rows: 2 })),
        field('reply-encoding', 'as', encodingSelect('reply-encoding')),
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, icon('add'), 'Add reply'))));
  }

  function httpSection(s) {
    const httpCalls = s.calls.filter((c) => c.service === 'http');
    return section('http', 'HTTP', 'globe',
      h('label', { class: 'switch' }, h('input', { type: 'checkbox', id: 'allow-real', checked: s.http.allowReal, on: { change: (ev) => send({ type: 'http.allowReal', value: ev.target.checked }) } }), ' Allow real outbound HTTP (off: only the routes below answer)'),
      h('h3', {}, 'Routes'),
      s.http.routes.length
        ? h('table', {}, h('tbody', {}, s.http.routes.map((r, i) => h('tr', {}, h('td', {}, r.method), h('td', { class: 'key' }, r.url), h('td', { class: 'num' }, String(r.status)), h('td', {}, h('pre', { class: 'value' }, r.body)), h('td', { class: 'row-actions' }, button('', 'trash', () => send({ type: 'route.delete', index: i }), { title: 'Remove', 'aria-label': `Remove the route ${r.method} ${r.url}` }))))))
        : h('p', { class: 'muted' }, 'No routes.'),
      h('form', { class: 'editor', on: { submit: (ev) => { ev.preventDefault(); send({ type: 'route.set', method: document.getElementById('route-method').value, url: document.getElementById('route-url').value, status: Number(document.getElementById('route-status').value), body: document.getElementById('route-body').value }); } } },
        field('route-method', 'method', h('select', { id: 'route-method' }, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', '*'].map((m) => h('option', { value: m }, m)))),
        field('route-url', 'URL (* matches anything)', h('input', { id: 'route-url', placeholder: 'https://api.example.com/*', required: true })),
        field('route-status', 'status', h('input', { id: 'route-status', type: 'number', min: 100, max: 599, value: 200 })),
        field('route-body', 'body', h('textarea', { id: 'route-body', rows: 2 })),
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, icon('add'), 'Add route'))),
      h('h3', {}, 'Calls made'),
      httpCalls.length ? callTable(httpCalls) : h('p', { class: 'muted' }, 'No HTTP calls yet.'));
  }

  function callTable(calls) {
    return h('table', { id: 'calls' }, h('thead', {}, h('tr', {}, h('th', {}, 'run'), h('th', {}, 'call'), h('th', {}, 'arguments'), h('th', {}, 'result'), h('th', {}, 'ms'), h('th', {}, 'line'))),
      h('tbody', {}, calls.slice().reverse().map((c) => h('tr', { class: c.ok ? '' : 'failed' },
        h('td', { class: 'num' }, `#${c.run}`), h('td', { class: 'key' }, `${c.service}.${c.method}`),
        h('td', {}, Object.entries(c.args).filter(([k]) => k !== 'bucket').map(([k, v]) => `${k}=${v}`).join(' ')),
        h('td', {}, c.result), h('td', { class: 'num' }, c.durationMs.toFixed(2)), h('td', { class: 'num' }, c.line ? String(c.line) : '')))));
  }

  function callLog(s) {
    const f = ui.filter.toLowerCase();
    const calls = s.calls.filter((c) => !f || `${c.service}.${c.method} ${JSON.stringify(c.args)} ${c.result}`.toLowerCase().includes(f));
    return section('call-log', 'Call log', 'list-ordered',
      h('input', { id: 'call-filter', type: 'search', placeholder: 'Filter calls (e.g. kv.set, a key, a subject)', value: ui.filter, on: { input: (ev) => { ui.filter = ev.target.value; vscode.setState(ui); render(true); } } }),
      calls.length ? callTable(calls) : h('p', { class: 'muted' }, s.calls.length ? 'No call matches the filter.' : 'No host-service calls yet.'));
  }

  function render(keepFocus) {
    if (!snapshot) return;
    const focused = keepFocus && document.activeElement && document.activeElement.id;
    const forms = {};
    for (const el of root.querySelectorAll('input:not([type=checkbox]), textarea, select')) if (el.id && el.id !== 'call-filter') forms[el.id] = el.value;
    root.replaceChildren(header(snapshot), kvSection(snapshot), objectSection(snapshot), messagingSection(snapshot), httpSection(snapshot), callLog(snapshot));
    for (const [id, v] of Object.entries(forms)) { const el = document.getElementById(id); if (el && v !== '') el.value = v; }
    if (focused) { const el = document.getElementById(focused); if (el) { el.focus(); if (el.setSelectionRange) el.setSelectionRange(el.value.length, el.value.length); } }
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg && msg.type === 'state' && msg.snapshot) {
      snapshot = msg.snapshot;
      error = '';
      render(true);
    } else if (msg && msg.type === 'error' && typeof msg.message === 'string') {
      error = msg.message;
      render(true);
    }
  });
  send({ type: 'ready' });
})();
