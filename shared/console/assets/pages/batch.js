// Batch: a CSV of codes (header row; scene, permanent, expire_seconds, reply,
// tag) is parsed and checked by the server (POST /batches/parse), then created
// here through POST /qrcodes, at most 4 at a time so WeChat's limits hold, each
// code's PNG fetched as it is made, and everything handed back as one ZIP with
// a manifest.csv. WeChat's daily quota (45009) stops the batch; what was made
// stays made and is in the ZIP.
//
// Stable ids: #batch-file, #batch-expire, #batch-size, #batch-parse,
// #batch-parse-error, #batch-summary, #batch-errors (li per refused line,
// [data-test="batch-error"][data-line]), #batch-start,
// #batch-cancel, #batch-progress (<progress>), #batch-progress-text
// ("done / total"), #batch-failures (li [data-test="batch-failure"][data-line]),
// #batch-stopped, #batch-unmade (after a stop: li per row not created,
// [data-test="batch-unmade"][data-line]), #batch-done, #batch-zip (the
// download link).
import {h, fill, field, setError} from '../dom.js';
import {t, num} from '../i18n.js';
import {json, blob, postRaw, scenePath} from '../api.js';
import {toCSV} from '../csv.js';
import {fileName} from './code.js';

export const concurrency = 4;
const maxBytes = 4 << 20;

export async function render(root, {title}) {
  title.textContent = t('batch.title');
  const file = h('input', {type: 'file', id: 'batch-file', accept: '.csv,text/csv', required: true});
  const expire = h('input', {type: 'number', id: 'batch-expire', min: 1, max: 2592000, value: 2592000});
  const size = h('input', {type: 'number', id: 'batch-size', min: 64, max: 2048, value: 430});
  const parseBtn = h('button', {type: 'submit', id: 'batch-parse'}, t('batch.parse'));
  const parseErr = h('p', {id: 'batch-parse-error', class: 'error', role: 'alert'});
  const out = h('div', {id: 'batch-out'});
  const form = h('form', {id: 'batch-form', on: {submit: async e => {
    e.preventDefault();
    parseErr.textContent = '';
    setError(file, '');
    fill(out);
    const f = file.files && file.files[0];
    if (!f) { setError(file, t('batch.noFile')); file.focus(); return; }
    if (f.size > maxBytes) { setError(file, t('batch.tooBig', {max: '4 MiB'})); return; }
    for (const [c, lo, hi] of [[expire, 1, 2592000], [size, 64, 2048]]) {
      setError(c, '');
      const n = Number(c.value);
      if (!Number.isInteger(n) || n < lo || n > hi) { setError(c, t('batch.range', {lo, hi})); c.focus(); return; }
    }
    parseBtn.disabled = true;
    try {
      const parsed = await postRaw('/batches/parse', await f.arrayBuffer(), 'text/csv');
      showParsed(out, parsed, {expire: Number(expire.value), size: Number(size.value), name: f.name});
    } catch (e2) {
      parseErr.textContent = e2.message;
    } finally { parseBtn.disabled = false; }
  }}},
  h('p', {}, t('batch.intro')),
  h('pre', {class: 'sample', 'aria-label': t('batch.sampleLabel')}, 'scene,permanent,expire_seconds,reply,tag\nposter-beijing,true,,欢迎!,北京海报\nparcel-0001,false,604800,Thanks for your order,\n'),
  field(t('batch.file'), file, t('batch.fileHint')),
  h('div', {class: 'row'}, field(t('batch.expire'), expire, t('batch.expireHint')), field(t('batch.size'), size, t('batch.sizeHint'))),
  parseErr, h('div', {class: 'row'}, parseBtn));
  fill(root, form, out);
  let stop = () => {};
  return () => stop();

  function showParsed(el, parsed, opts) {
    const good = parsed.rows.filter(r => r.request);
    const bad = parsed.rows.filter(r => r.error);
    const start = h('button', {type: 'button', id: 'batch-start', disabled: good.length === 0}, t('batch.start', {n: num(good.length)}));
    fill(el,
      h('p', {id: 'batch-summary', role: 'status'}, t('batch.summary', {rows: num(parsed.rows.length), good: num(good.length), bad: num(bad.length)})),
      bad.length ? h('section', {'aria-labelledby': 'batch-errors-h'}, h('h2', {id: 'batch-errors-h'}, t('batch.refused')),
        h('ul', {id: 'batch-errors', class: 'failures'}, bad.map(r => h('li', {dataset: {test: 'batch-error', line: r.line}},
          t('batch.line', {line: r.line}) + (r.scene ? ' (' + r.scene + ')' : '') + ': ' + r.error)))) : null,
      h('div', {class: 'row'}, start));
    start.addEventListener('click', () => { start.disabled = true; run(el, good, opts); });
  }

  async function run(el, rows, opts) {
    const total = rows.length;
    const progress = h('progress', {id: 'batch-progress', max: total, value: 0});
    const text = h('span', {id: 'batch-progress-text'}, '0 / ' + num(total));
    const failures = h('ul', {id: 'batch-failures', class: 'failures'});
    const stopped = h('p', {id: 'batch-stopped', class: 'error', role: 'alert'});
    const done = h('div', {id: 'batch-done', role: 'status'});
    let cancelled = false;
    const cancel = h('button', {type: 'button', id: 'batch-cancel', on: {click: () => { cancelled = true; stopped.textContent = t('batch.cancelled'); }}}, t('batch.cancel'));
    stop = () => { cancelled = true; };
    el.append(h('section', {'aria-labelledby': 'batch-run-h'}, h('h2', {id: 'batch-run-h'}, t('batch.running')),
      h('div', {class: 'row'}, h('label', {for: 'batch-progress'}, t('batch.progress')), progress, text, cancel),
      stopped, h('h3', {}, t('batch.failures')), failures, done));

    const made = []; // {row, code, png}
    const settled = new Set(); // rows made or listed as failures
    let finished = 0, next = 0, halt = '', pauseUntil = 0;
    const tick = () => { progress.value = finished; text.textContent = num(finished) + ' / ' + num(total); };
    const failed = (row, message) => failures.append(h('li', {dataset: {test: 'batch-failure', line: row.line}},
      t('batch.line', {line: row.line}) + ' (' + row.scene + '): ' + message));

    async function one(row) {
      const req = Object.assign({}, row.request);
      if (!req.permanent && req.expire_seconds === undefined) req.expire_seconds = opts.expire;
      for (let attempt = 0; ; attempt++) {
        const wait = pauseUntil - Date.now();
        if (wait > 0) await new Promise(r => setTimeout(r, wait));
        if (halt || cancelled) return false;
        try {
          const code = await json('/qrcodes', {method: 'POST', data: req});
          let png = null;
          try {
            png = new Uint8Array(await (await blob(scenePath(code.scene) + '/image?size=' + opts.size + '&format=png')).arrayBuffer());
          } catch (e) { failed(row, t('batch.imageFailed', {message: e.message})); }
          made.push({row, code, png});
          return true;
        } catch (e) {
          if (e.errcode === 45009) { halt = t('batch.quota'); return false; }
          if (e.errcode === 45011 && attempt < 3) { pauseUntil = Date.now() + 61000; continue; } // WeChat: retry next minute
          if (e.code === 'quota') { halt = t('batch.permanentQuota', {message: e.message}); return false; }
          failed(row, e.message);
          return true;
        }
      }
    }
    async function worker() {
      while (!halt && !cancelled && next < rows.length) {
        const row = rows[next++];
        if (await one(row)) { finished++; settled.add(row); tick(); }
      }
    }
    await Promise.all(Array.from({length: Math.min(concurrency, rows.length)}, worker));
    cancel.disabled = true;
    if (halt) stopped.textContent = halt + ' ' + t('batch.kept', {n: num(made.length)});
    // A stopped batch names every row it did not make, so that nobody has to
    // diff the CSV against the ZIP to know what to run again.
    const unmade = rows.filter(r => !settled.has(r));
    if (unmade.length) {
      done.before(h('h3', {id: 'batch-unmade-h'}, t('batch.unmade', {n: num(unmade.length)})),
        h('ul', {id: 'batch-unmade', class: 'failures', 'aria-labelledby': 'batch-unmade-h'}, unmade.map(r => h('li', {dataset: {test: 'batch-unmade', line: r.line}},
          t('batch.line', {line: r.line}) + ' (' + r.scene + ')'))));
    }
    if (made.length === 0) { done.textContent = t('batch.nothing'); return; }
    const zipped = await zip(made);
    const url = URL.createObjectURL(new Blob([zipped], {type: 'application/zip'}));
    const name = 'qrcodes-' + new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '') + '.zip';
    fill(done, h('p', {}, t('batch.made', {n: num(made.length), total: num(total)})),
      h('a', {id: 'batch-zip', href: url, download: name, class: 'button'}, t('batch.download', {name})));
  }
}

// zip packs every PNG and manifest.csv (fflate, loaded on first use; synchronous:
// its async mode starts workers from blob: URLs, which the CSP forbids).
async function zip(made) {
  const {zipSync, strToU8} = await import('../vendor/fflate.js');
  const files = {};
  const used = new Set();
  const rows = [['scene', 'action_name', 'ticket', 'url', 'expires_at', 'file']];
  for (const m of made) {
    let name = '';
    if (m.png) {
      name = fileName(m.code.scene) + '.png';
      if (used.has(name.toLowerCase())) name = fileName(m.code.scene) + '-line' + m.row.line + '.png';
      used.add(name.toLowerCase());
      files[name] = [m.png, {level: 0}]; // PNGs are compressed already
    }
    rows.push([m.code.scene, m.code.action_name, m.code.ticket, m.code.url, m.code.expires_at || '', name]);
  }
  files['manifest.csv'] = strToU8(toCSV(rows));
  return zipSync(files, {level: 6});
}
