// DOM helpers. Every string goes in as text (textContent, attribute values),
// never as markup: scenes, replies and CSV cells are user-supplied.

// h builds an element: h('a', {href: '#/x', class: 'c', dataset: {test: 'y'}, on: {click: f}}, 'text', child).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// clear empties an element and appends children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// field is a labelled control: <div class=field><label for=id>…</label> control hint error</div>.
export function field(label, control, hint) {
  const err = h('p', {class: 'error', id: control.id + '-error', role: 'alert', dataset: {test: control.id + '-error'}});
  const kids = [h('label', {for: control.id}, label), control];
  if (hint) {
    const hid = control.id + '-hint';
    control.setAttribute('aria-describedby', hid + ' ' + err.id);
    kids.push(h('p', {class: 'hint', id: hid}, hint));
  } else {
    control.setAttribute('aria-describedby', err.id);
  }
  kids.push(err);
  return h('div', {class: 'field'}, kids);
}

// setError shows (or clears, with '') the message beside a field's control.
export function setError(control, message) {
  const err = document.getElementById(control.id + '-error');
  if (err) err.textContent = message || '';
  if (message) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

// download saves a Blob under a file name.
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: name, hidden: true});
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// bytes counts a string's UTF-8 bytes, as WeChat's limits do.
export function bytes(s) {
  return new TextEncoder().encode(s).length;
}
