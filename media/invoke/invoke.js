// The invoke panel's webview: a form to run a function by hand (subject, multi-line payload,
// samples) and the response beside it. Everything user-controlled is set as text (textContent /
// value), never as HTML. The extension validates every message this sends.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');
  const initial = JSON.parse(atob(document.body.dataset.state || 'e30='));
  // The form survives a reload (webview state); the extension's last input is the default.
  let form = Object.assign({}, vscode.getState() || {}, initial);
  let info; // from 'init'
  let response;
  let notice = '';
  let running = false;

  const save = () => vscode.setState(form);
  const { h, icon, button } = window.nexDom;
  const send = (msg) => vscode.postMessage(msg);

  function jsonProblem() {
    if (form.payload.kind !== 'json') return '';
    try {
      JSON.parse(form.payload.text);
      return '';
    } catch (e) {
      return `not valid JSON: ${e.message}`;
    }
  }
  function run() {
    const problem = jsonProblem();
    if (problem) {
      notice = `The payload is ${problem}`;
      render();
      return;
    }
    running = true;
    notice = '';
    send({ type: 'run', subject: form.subject, payload: form.payload });
    render();
  }

  function requestSide() {
    const problem = jsonProblem();
    const kinds = [['text', 'Text'], ['json', 'JSON'], ['base64', 'Base64'], ['file', 'File']];
    const editor =
      form.payload.kind === 'file'
        ? h('div', { class: 'actions' },
            h('input', { id: 'payload-file', value: form.payload.text, placeholder: 'a file, relative to the function folder', 'aria-label': 'payload file', on: { input: (e) => { form.payload.text = e.target.value; save(); } } }),
            button('Choose…', 'folder-opened', () => send({ type: 'pickFile' }), { id: 'pick-file' }))
        : h('textarea', {
            id: 'payload', rows: 10, spellcheck: 'false', 'aria-label': 'payload', class: problem ? 'invalid' : '',
            placeholder: form.payload.kind === 'base64' ? 'AP8=' : form.payload.kind === 'json' ? '{ "name": "Ada" }' : 'the payload as text (empty for none)',
            value: form.payload.text,
            on: {
              input: (e) => { form.payload.text = e.target.value; save(); const p = jsonProblem(); e.target.classList.toggle('invalid', !!p); const hint = document.getElementById('payload-problem'); if (hint) hint.textContent = p; },
              keydown: (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } },
            },
          });
    const samples = info.samples || [];
    return h('section', { id: 'request' },
      h('h2', {}, icon('send'), ' Trigger'),
      h('label', { for: 'subject' }, h('span', {}, 'Subject'),
        h('input', { id: 'subject', list: 'subjects', value: form.subject, spellcheck: 'false', on: { input: (e) => { form.subject = e.target.value; save(); }, keydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); run(); } } } }),
        h('datalist', { id: 'subjects' }, info.suggestions.map((s) => h('option', { value: s })))),
      info.triggers.length
        ? h('p', { class: 'muted' }, `Triggers: ${info.triggers.join(', ')}`)
        : h('p', { class: 'muted' }, 'This function has no triggers in its manifest: any concrete subject runs it here.'),
      h('div', { class: 'kinds', role: 'radiogroup', 'aria-label': 'payload kind' },
        h('span', { class: 'muted' }, 'Payload'),
        kinds.map(([kind, label]) => h('label', {}, h('input', { type: 'radio', name: 'kind', id: `kind-${kind}`, value: kind, checked: form.payload.kind === kind, on: { change: () => { form.payload = { kind, text: kind === 'file' || form.payload.kind === 'file' ? '' : form.payload.text }; save(); render(); } } }), label))),
      editor,
      h('p', { class: 'error', id: 'payload-problem' }, problem),
      h('div', { class: 'actions' },
        button(running ? 'Running…' : 'Run', 'play', run, { id: 'run', class: 'primary', title: 'Run (Ctrl+Enter)', disabled: running }),
        button('Run again', 'debug-rerun', () => { running = true; send({ type: 'runAgain' }); render(); }, { id: 'run-again', title: 'Run with the last subject and payload', disabled: running }),
        button('Save as Trigger Case', 'save-as', () => send({ type: 'saveCase' }), { id: 'save-case', disabled: !response })),
      notice ? h('p', { class: 'error', role: 'alert', id: 'notice' }, icon('error'), ' ', notice) : null,
      samples.length
        ? [h('h3', {}, 'Samples'),
           h('div', { class: 'samples', id: 'samples' }, samples.map((s) => button(s.label, s.source === 'case' ? 'beaker' : 'history', () => { form.subject = s.subject; form.payload = Object.assign({}, s.payload); save(); render(); }, { title: `${s.source === 'case' ? 'trigger case' : 'recent'}: ${s.subject}` })))]
        : null);
  }

  function jsonTree(value, key) {
    const label = key !== undefined ? [h('span', { class: 'key' }, JSON.stringify(key)), ': '] : [];
    if (value !== null && typeof value === 'object') {
      const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
      const open = Array.isArray(value) ? '[' : '{';
      const close = Array.isArray(value) ? ']' : '}';
      if (entries.length === 0) return h('div', { class: 'leaf' }, label, open + close);
      return h('details', { open: true },
        h('summary', {}, label, `${open} ${entries.length} ${Array.isArray(value) ? 'items' : 'keys'}`),
        entries.map(([k, v]) => jsonTree(v, Array.isArray(value) ? undefined : k)),
        h('div', {}, close));
    }
    const cls = typeof value === 'string' ? 'str' : typeof value === 'number' ? 'num' : 'lit';
    return h('div', { class: 'leaf' }, label, h('span', { class: cls }, JSON.stringify(value)));
  }

  function replyView(reply) {
    if (!reply) return h('p', { id: 'reply', class: 'muted' }, 'No reply: the function returned nothing (a node sends no reply then, under this profile).');
    const size = `${reply.size} ${reply.size === 1 ? 'byte' : 'bytes'}`;
    if (reply.kind === 'json') {
      let parsed;
      try { parsed = JSON.parse(reply.text); } catch { parsed = undefined; }
      return h('div', { id: 'reply' }, h('p', { class: 'muted' }, `JSON · ${size}`), h('div', { class: 'reply json', id: 'reply-json' }, parsed === undefined ? h('pre', {}, reply.text) : jsonTree(parsed)));
    }
    return h('div', { id: 'reply' }, h('p', { class: 'muted' }, `${reply.kind === 'binary' ? 'binary (hex)' : 'text'} · ${size}`), h('pre', { class: 'reply', id: 'reply-text' }, reply.text));
  }

  function responseSide() {
    if (!response) return h('section', { id: 'response' }, h('h2', {}, icon('output'), ' Response'), h('p', { class: 'muted' }, running ? 'Running…' : 'Run the function to see its reply here.'));
    const r = response;
    return h('section', { id: 'response' },
      h('h2', {}, icon('output'), ' Response'),
      h('div', { class: 'status' },
        h('span', { class: r.ok ? '' : 'error', id: 'outcome' }, icon(r.ok ? 'pass' : 'error'), r.ok ? ' replied' : ' failed'),
        h('span', { class: 'badge', id: 'duration' }, r.duration),
        h('span', { class: 'muted' }, `on ${r.subject} · profile ${r.profile}`)),
      r.subjectNote ? h('p', { class: 'note', id: 'subject-note' }, icon('warning'), ' ', r.subjectNote) : null,
      r.error
        ? h('div', { id: 'error' }, h('pre', { class: 'error' }, r.error.message),
            r.error.where ? button(`Go to ${r.error.where}`, 'go-to-file', () => send({ type: 'openError' }), { id: 'go-to-error', class: 'link' }) : null)
        : replyView(r.reply),
      r.hints.length ? [h('h3', {}, `Fidelity hints (profile ${r.profile})`), h('ul', { class: 'list', id: 'hints' }, r.hints.map((w) => h('li', { class: w.severity === 'info' ? 'info' : 'warning' }, w.severity === 'info' ? 'ℹ ' : '⚠ ', w.line ? `line ${w.line}: ` : '', w.message)))] : null,
      r.logs.length ? [h('h3', {}, 'Console'), h('ul', { class: 'list', id: 'logs' }, r.logs.map((l) => h('li', { class: l.level === 'error' ? 'failed' : '' }, `${l.level}: ${l.text}`)))] : null,
      r.hostCalls.length ? [h('h3', {}, 'Host calls'), h('ul', { class: 'list', id: 'host-calls' }, r.hostCalls.map((c) => h('li', { class: c.ok ? '' : 'failed' }, `${c.call} → ${c.result}${c.line ? ` (line ${c.line})` : ''}`)))] : null);
  }

  function render() {
    if (!info) return;
    root.replaceChildren(
      h('header', {}, h('h1', {}, icon('play-circle'), ' ', info.functionName), h('p', { class: 'muted' }, `${info.kind} · profile ${info.profile} · the output channel keeps the log of every run`)),
      h('div', { class: 'layout' }, requestSide(), responseSide()));
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'init':
        info = msg;
        if (form.subject === undefined) form.subject = msg.subject;
        if (!form.payload || typeof form.payload.text !== 'string') form.payload = msg.payload;
        response = msg.response || response;
        save();
        break;
      case 'running':
        running = true;
        break;
      case 'result':
        running = false;
        notice = '';
        response = msg.response;
        // A result can come before 'init' (a run started from the editor while the panel loads).
        if (info) info.samples = msg.samples;
        break;
      case 'refused':
        running = false;
        notice = String(msg.message);
        break;
      case 'file':
        form.payload = { kind: 'file', text: String(msg.path) };
        save();
        break;
      default:
        return;
    }
    render();
  });
  send({ type: 'ready' });
})();
