// A code's page: its image (downloadable as PNG or SVG at a chosen size), its
// reply edited in place, its totals and a per-day chart, and re-issuing a
// temporary code.
//
// Stable ids: #code-scene, #code-kind, #code-expires, #code-image (the <img>),
// #code-image-error, #download-size, #download-format, #download,
// #reply-form, #reply (the editor; its controls #reply-type, #reply-content,
// #reply-title, #reply-description, #reply-pic-url, #reply-url, #reply-media-id,
// each with #<id>-error), #reply-save, #reply-saved, #totals with
// [data-test="total-scans" | "total-subscribes" | "total-unique" |
// "total-unsubscribes" | "total-net"], #stats-period (7/30/90/custom),
// #stats-from, #stats-to, #stats-apply, #chart, #days-table (one row per day,
// [data-test="day-row"][data-date]), #stats-error, #reissue-form,
// #reissue-seconds, #reissue, #reissue-result, #code-error; the scan actions:
// #code-tag (in the facts), #action-counts with [data-test="action-tagged" |
// "action-tag-failed" | "action-followups-sent" | "action-followups-skipped" |
// "action-followups-failed"], #actions-form, #actions (the editor: #actions-tag,
// #actions-followup-<i>-…, #actions-add; actionsform.js), #actions-save,
// #actions-saved.
import {h, fill, field, setError, download} from '../dom.js';
import {t, num, dateTime, remaining, day} from '../i18n.js';
import {json, blob, scenePath, ApiError} from '../api.js';
import {replyEditor} from '../replyform.js';
import {actionsEditor} from '../actionsform.js';
import {sceneValue} from '../codeview.js';
import {periodControl, days} from '../period.js';
import {dayChart} from '../chart.js';

export async function render(root, {arg: scene, title}) {
  title.textContent = t('code.title', {scene});
  const err = h('p', {id: 'code-error', class: 'error', role: 'alert'});
  fill(root, err);
  let c;
  try {
    c = await json(scenePath(scene));
  } catch (e) {
    err.textContent = e.code === 'not_found' ? t('code.notFound', {scene}) : e.message;
    return;
  }
  const cleanups = [];
  const kind = c.permanent ? t('kind.permanent') : t('kind.temporary');
  const expires = c.permanent ? t('codes.never') : c.expired ? t('codes.expired') : t('code.expiresAt', {at: dateTime(c.expires_at), left: remaining(c.expires_at)});
  const facts = h('dl', {class: 'facts'},
    h('dt', {}, t('code.scene')), h('dd', {id: 'code-scene'}, c.scene),
    h('dt', {}, t('code.kind')), h('dd', {id: 'code-kind'}, kind + ' (' + c.action_name + ')'),
    h('dt', {}, t('code.expires')), h('dd', {id: 'code-expires'}, expires),
    h('dt', {}, t('code.created')), h('dd', {}, dateTime(c.created_at)),
    h('dt', {}, t('actions.tag')), h('dd', {id: 'code-tag'}, c.tag ? h('span', {class: 'tag'}, c.tag) : t('actions.noTag')));

  // The image: fetched with the session's credentials, shown from a blob: URL,
  // drawn at twice its box (sharp on high-density screens) and scaled down
  // without smoothing (.qr img), so that a phone can scan it off the screen.
  const img = h('img', {id: 'code-image', alt: t('code.imageAlt', {scene: c.scene}), width: 240, height: 240});
  const imgErr = h('p', {id: 'code-image-error', class: 'error', role: 'alert'});
  const imagePath = (size, format) => scenePath(c.scene) + '/image?size=' + size + '&format=' + format;
  if (!c.expired) {
    blob(imagePath(480, 'png')).then(b => {
      const u = URL.createObjectURL(b);
      img.src = u;
      cleanups.push(() => URL.revokeObjectURL(u));
    }).catch(e => { imgErr.textContent = e.message; });
  } else {
    imgErr.textContent = t('code.expiredImage');
  }
  const size = h('input', {type: 'number', id: 'download-size', min: 64, max: 2048, step: 1, value: 430, required: true});
  const format = h('select', {id: 'download-format'}, h('option', {value: 'png'}, 'PNG'), h('option', {value: 'svg'}, 'SVG'));
  const dl = h('button', {type: 'submit', id: 'download', disabled: c.expired}, t('code.download'));
  const dlForm = h('form', {class: 'row', on: {submit: async e => {
    e.preventDefault();
    setError(size, '');
    const n = Number(size.value);
    if (!Number.isInteger(n) || n < 64 || n > 2048) { setError(size, t('code.sizeRange')); size.focus(); return; }
    try {
      download(await blob(imagePath(n, format.value)), fileName(c.scene) + '-' + n + '.' + format.value);
    } catch (e2) { setError(size, e2.message); }
  }}}, field(t('code.size'), size, t('code.sizeHint')), field(t('code.format'), format), h('div', {class: 'field'}, dl));

  // The reply, edited in place.
  const editor = replyEditor('reply', c.reply, false);
  const saved = h('p', {id: 'reply-saved', role: 'status'});
  const save = h('button', {type: 'submit', id: 'reply-save'}, t('reply.save'));
  const replyForm = h('form', {id: 'reply-form', on: {submit: async e => {
    e.preventDefault();
    saved.textContent = '';
    let reply;
    try { reply = editor.get(); } catch (_) { return; }
    save.disabled = true;
    try {
      c = await json(scenePath(c.scene) + '/reply', {method: 'PUT', data: reply});
      saved.textContent = t('reply.saved');
    } catch (e2) {
      if (!editor.showError(e2.message)) document.getElementById('reply-error').textContent = e2.message;
    } finally { save.disabled = false; }
  }}}, editor.el, h('div', {class: 'row'}, save, saved));

  // The scan actions: what they did so far, and tag + follow-ups edited in place.
  const a = c.actions || {};
  const counts = h('div', {id: 'action-counts', class: 'totals'}, [
    ['tagged', t('actions.count.tagged'), a.tagged], ['tag-failed', t('actions.count.tagFailed'), a.tag_failed],
    ['followups-sent', t('actions.count.sent'), a.followups_sent], ['followups-skipped', t('actions.count.skipped'), a.followups_skipped],
    ['followups-failed', t('actions.count.failed'), a.followups_failed],
  ].map(([k, label, v]) => h('div', {class: 'total'}, h('span', {class: 'label'}, label),
    h('span', {class: 'value', dataset: {test: 'action-' + k}}, num(v || 0)))));
  const actions = actionsEditor('actions', c);
  const actionsSaved = h('p', {id: 'actions-saved', role: 'status'});
  const actionsSave = h('button', {type: 'submit', id: 'actions-save'}, t('actions.save'));
  const actionsForm = h('form', {id: 'actions-form', novalidate: true, on: {submit: async e => {
    e.preventDefault();
    actionsSaved.textContent = '';
    let body;
    try { body = actions.get(); } catch (_) { return; }
    actionsSave.disabled = true;
    try {
      c = await json(scenePath(c.scene) + '/actions', {method: 'PUT', data: body});
      actionsSaved.textContent = t('actions.saved');
      const tagCell = document.getElementById('code-tag');
      if (tagCell) fill(tagCell, c.tag ? h('span', {class: 'tag'}, c.tag) : t('actions.noTag'));
    } catch (e2) {
      if (!actions.showError(e2.message)) document.getElementById('actions-error').textContent = e2.message;
    } finally { actionsSave.disabled = false; }
  }}}, actions.el, h('div', {class: 'row'}, actionsSave, actionsSaved));

  // Totals and the chart.
  const totals = h('div', {id: 'totals', class: 'totals'});
  const chart = h('div', {id: 'chart', class: 'chart'});
  const statsErr = h('p', {id: 'stats-error', class: 'error', role: 'alert'});
  const daysTable = h('table', {id: 'days-table', class: 'data'});
  let destroy = null;
  const period = periodControl('stats', () => loadStats());
  async function loadStats() {
    statsErr.textContent = '';
    let p;
    try { p = period.get(); } catch (e) { statsErr.textContent = e.message; return; }
    let st;
    try {
      st = await json(scenePath(c.scene) + '/stats?from=' + p.from + '&to=' + p.to);
    } catch (e) { statsErr.textContent = e.message; return; }
    const tt = st.totals;
    fill(totals, [
      ['scans', tt.scans], ['subscribes', tt.subscribes], ['unique', tt.unique_users],
      ['unsubscribes', tt.unsubscribes], ['net', tt.subscribes - tt.unsubscribes],
    ].map(([k, v]) => h('div', {class: 'total'}, h('span', {class: 'label'}, t('total.' + k)),
      h('span', {class: 'value', dataset: {test: 'total-' + k}}, num(v)))));
    const all = days(st.from, st.to);
    const byDay = Object.fromEntries(st.days.map(d => [d.date, d]));
    const pick = k => all.map(d => (byDay[d] ? byDay[d][k] : 0));
    if (destroy) destroy();
    fill(chart);
    const series = [{label: t('total.scans'), values: pick('scans')}, {label: t('total.subscribes'), values: pick('subscribes')},
      {label: t('total.unsubscribes'), values: pick('unsubscribes')}];
    try {
      destroy = await dayChart(chart, all, series, t('code.chartTitle', {from: day(st.from), to: day(st.to)}), t('code.day'), day);
    } catch (e) { statsErr.textContent = e.message; }
    fill(daysTable, h('caption', {}, t('code.daysCaption')),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('code.day')), series.map(s => h('th', {scope: 'col', class: 'num'}, s.label)))),
      h('tbody', {}, all.filter(d => byDay[d]).reverse().map(d => h('tr', {dataset: {test: 'day-row', date: d}},
        h('th', {scope: 'row'}, day(d)), ['scans', 'subscribes', 'unsubscribes'].map(k => h('td', {class: 'num'}, num(byDay[d][k])))))));
  }
  cleanups.push(() => destroy && destroy());

  // Re-issue a temporary code: same scene, same reply, a new ticket.
  let reissue = null;
  if (!c.permanent) {
    const secs = h('input', {type: 'number', id: 'reissue-seconds', min: 1, max: 2592000, value: c.expire_seconds || 604800, required: true});
    const result = h('p', {id: 'reissue-result', role: 'status'});
    const btn = h('button', {type: 'submit', id: 'reissue'}, t('code.reissue'));
    reissue = h('section', {'aria-labelledby': 'reissue-h'}, h('h2', {id: 'reissue-h'}, t('code.reissueTitle')),
      h('form', {id: 'reissue-form', class: 'row', on: {submit: async e => {
        e.preventDefault();
        setError(secs, '');
        const n = Number(secs.value);
        if (!Number.isInteger(n) || n < 1 || n > 2592000) { setError(secs, t('create.errExpire')); secs.focus(); return; }
        btn.disabled = true;
        try {
          const made = await json('/qrcodes', {method: 'POST', data: {scene: sceneValue(c), expire_seconds: n}});
          result.textContent = t('code.reissued', {at: dateTime(made.expires_at)});
          setTimeout(() => { location.reload(); }, 800);
        } catch (e2) { setError(secs, e2 instanceof ApiError ? e2.message : String(e2)); } finally { btn.disabled = false; }
      }}}, field(t('create.expire'), secs, t('create.expireHint')), h('div', {class: 'field'}, btn)), result);
  }

  root.append(...[
    h('div', {class: 'cols'},
      h('section', {'aria-labelledby': 'image-h'}, h('h2', {id: 'image-h'}, t('code.image')), h('div', {class: 'qr'}, img), imgErr, dlForm),
      h('section', {'aria-labelledby': 'facts-h'}, h('h2', {id: 'facts-h'}, t('code.facts')), facts)),
    h('section', {'aria-labelledby': 'reply-h'}, h('h2', {id: 'reply-h'}, t('code.reply')), replyForm),
    h('section', {'aria-labelledby': 'actions-h'}, h('h2', {id: 'actions-h'}, t('actions.title')),
      h('p', {class: 'hint'}, t('actions.intro')), counts, actionsForm),
    h('section', {'aria-labelledby': 'stats-h'}, h('h2', {id: 'stats-h'}, t('code.stats')), period.el, statsErr, totals, chart, daysTable),
    reissue].filter(Boolean));
  await loadStats();
  return () => cleanups.forEach(f => f());
}

// fileName keeps a scene readable in a file name without path separators.
export function fileName(scene) {
  return String(scene).replace(/[\\/:*?"<>|\x00-\x1f]/g, '_').slice(0, 80) || 'code';
}
