// Codes: every code, newest first, paged, searchable by scene.
//
// Stable ids: #codes-search-form, #codes-q (search box), #codes-search,
// #codes-table, rows [data-test="code-row"][data-scene], links
// [data-test="code-link"], the scene's tag beside it [data-test="tag"], cells [data-test="kind" | "expires" | "reply" |
// "scans-today" | "subs-today" | "scans-total" | "subs-total"], #codes-empty,
// #codes-first, #codes-next, #codes-error.
import {h, fill, field} from '../dom.js';
import {t, num, remaining} from '../i18n.js';
import {json} from '../api.js';
import {replySummary, sceneHref} from '../codeview.js';
import {href} from '../accounts.js';

const pageSize = 20;

export async function render(root, {params, title}) {
  title.textContent = t('codes.title');
  const q = params.get('q') || '';
  const cursor = params.get('cursor') || '';
  const box = h('input', {type: 'search', id: 'codes-q', value: q, autocomplete: 'off', maxlength: 64});
  const form = h('form', {id: 'codes-search-form', class: 'row', role: 'search', on: {submit: e => {
    e.preventDefault();
    location.hash = href('/codes') + (box.value.trim() ? '?q=' + encodeURIComponent(box.value.trim()) : '');
  }}}, field(t('codes.search'), box, t('codes.searchHint')),
  h('div', {class: 'field'}, h('button', {type: 'submit', id: 'codes-search'}, t('codes.searchButton'))));
  const status = h('p', {id: 'codes-error', class: 'error', role: 'alert'});
  const table = h('table', {id: 'codes-table', class: 'data'});
  const pager = h('div', {class: 'row pager'});
  fill(root, form, status, h('div', {class: 'scroll'}, table), pager,
    h('p', {}, h('a', {href: href('/create'), id: 'codes-create'}, t('codes.create'))));

  let page;
  try {
    const query = new URLSearchParams({include: 'stats', limit: String(pageSize)});
    if (q) query.set('q', q);
    if (cursor) query.set('cursor', cursor);
    page = await json('/qrcodes?' + query);
  } catch (e) {
    status.textContent = e.message;
    return;
  }
  fill(table,
    h('caption', {class: 'sr-only'}, t('codes.caption')),
    h('thead', {}, h('tr', {}, ['scene', 'kind', 'expires', 'reply', 'scansToday', 'subsToday', 'scansTotal', 'subsTotal']
      .map(k => h('th', {scope: 'col', class: k.startsWith('scans') || k.startsWith('subs') ? 'num' : null}, t('codes.col.' + k))))),
    h('tbody', {}, page.codes.map(row)));
  if (page.codes.length === 0) {
    table.after(h('p', {id: 'codes-empty'}, q ? t('codes.noMatch', {q}) : t('codes.none')));
  }
  if (cursor) pager.append(h('a', {href: href('/codes') + (q ? '?q=' + encodeURIComponent(q) : ''), id: 'codes-first', class: 'button'}, t('codes.first')));
  if (page.next_cursor) {
    const next = new URLSearchParams({cursor: page.next_cursor});
    if (q) next.set('q', q);
    pager.append(h('a', {href: href('/codes?' + next), id: 'codes-next', class: 'button'}, t('codes.next')));
  }
}

function row(c) {
  const totals = c.stats || {};
  const today = c.today || {};
  let expires;
  if (c.permanent) expires = t('codes.never');
  else if (c.expired) expires = t('codes.expired');
  else expires = remaining(c.expires_at);
  return h('tr', {dataset: {test: 'code-row', scene: c.scene}},
    h('th', {scope: 'row'}, h('a', {href: sceneHref(c.scene), dataset: {test: 'code-link'}}, c.scene),
      c.tag ? [' ', h('span', {class: 'tag', title: t('actions.tag'), dataset: {test: 'tag'}}, c.tag)] : null),
    h('td', {dataset: {test: 'kind'}}, c.permanent ? t('kind.permanent') : t('kind.temporary')),
    h('td', {dataset: {test: 'expires'}, class: c.expired ? 'muted' : null}, expires),
    h('td', {dataset: {test: 'reply'}, class: 'summary'}, replySummary(c.reply)),
    h('td', {class: 'num', dataset: {test: 'scans-today'}}, num(today.scans || 0)),
    h('td', {class: 'num', dataset: {test: 'subs-today'}}, num(today.subscribes || 0)),
    h('td', {class: 'num', dataset: {test: 'scans-total'}}, num(totals.scans || 0)),
    h('td', {class: 'num', dataset: {test: 'subs-total'}}, num(totals.subscribes || 0)));
}
