// What both Nex webviews build their DOM with: elements from a tag, attributes and children (text
// is always text, never HTML), codicons and buttons. Loaded before the panel's own script.
(function () {
  'use strict';
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'class') el.className = v;
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else if (v !== undefined && v !== false) el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return el;
  }
  const icon = (name) => h('span', { class: `codicon codicon-${name}`, 'aria-hidden': 'true' });
  const button = (label, iconName, onClick, attrs) => h('button', Object.assign({ type: 'button', on: { click: onClick } }, attrs || {}), iconName ? icon(iconName) : null, label);
  window.nexDom = { h, icon, button };
})();
