// All accounts: each account the user may see with its counts for a period and
// in total (GET /stats/accounts, one call), as a table with a row of sums, a
// bar chart of new followers, and a CSV export of the table.
//
// Stable ids: #all-sources-period (7/30/90/custom), #all-sources-from,
// #all-sources-to, #all-sources-apply, #all-sources-error, #all-sources-chart,
// #all-sources-table (rows [data-test="account-source-row"][data-appid], cells
// [data-test="scans" | "subscribes" | "unique" | "unsubscribes" | "net" |
// "total-scans" | "total-subscribes"], the sums [data-test="account-source-sum"]),
// #all-sources-empty, #all-sources-export.
import {h, fill, download} from '../dom.js';
import {t, num, day} from '../i18n.js';
import {json} from '../api.js';
import {toCSV} from '../csv.js';
import {periodControl} from '../period.js';
import {barChart} from '../chart.js';
import {href, label} from '../accounts.js';

const countKeys = ['scans', 'subscribes', 'unique_users', 'unsubscribes'];

export async function render(root, {title}) {
  title.textContent = t('allSources.title');
  const err = h('p', {id: 'all-sources-error', class: 'error', role: 'alert'});
  const chart = h('div', {id: 'all-sources-chart', class: 'chart'});
  const table = h('table', {id: 'all-sources-table', class: 'data'});
  const empty = h('p', {id: 'all-sources-empty', hidden: true}, t('allSources.none'));
  const exportBtn = h('button', {type: 'button', id: 'all-sources-export', disabled: true}, t('sources.export'));
  const period = periodControl('all-sources', () => load());
  fill(root, period.el, err, chart, h('div', {class: 'row'}, exportBtn), h('div', {class: 'scroll'}, table), empty);
  let destroy = null, shown = null;

  exportBtn.addEventListener('click', () => {
    const rows = [['appid', 'name', 'from', 'to', 'scans', 'new_followers', 'unique_users', 'unsubscribes', 'net_gain',
      'total_scans', 'total_new_followers', 'total_unique_users', 'total_unsubscribes']];
    for (const a of shown.accounts) {
      const p = a.period, tt = a.totals;
      rows.push([a.appid, a.name, shown.from, shown.to, p.scans, p.subscribes, p.unique_users, p.unsubscribes, p.subscribes - p.unsubscribes,
        tt.scans, tt.subscribes, tt.unique_users, tt.unsubscribes]);
    }
    download(new Blob([toCSV(rows)], {type: 'text/csv;charset=utf-8'}), 'accounts-' + shown.from + '-' + shown.to + '.csv');
  });

  async function load() {
    err.textContent = '';
    let p;
    try { p = period.get(); } catch (e) { err.textContent = e.message; return; }
    let st;
    try {
      st = await json('/stats/accounts?' + new URLSearchParams({from: p.from, to: p.to}), {global: true});
    } catch (e) { err.textContent = e.message; return; }
    const list = st.accounts.map(a => Object.assign({}, a, {period: counts(a.period), totals: counts(a.totals)}));
    shown = {from: st.from, to: st.to, accounts: list};
    exportBtn.disabled = list.length === 0;
    empty.hidden = list.length !== 0;
    const sum = {period: {}, totals: {}};
    for (const k of countKeys) {
      sum.period[k] = list.reduce((n, a) => n + a.period[k], 0);
      sum.totals[k] = list.reduce((n, a) => n + a.totals[k], 0);
    }
    const cells = a => [
      ['scans', a.period.scans], ['subscribes', a.period.subscribes], ['unique', a.period.unique_users],
      ['unsubscribes', a.period.unsubscribes], ['net', a.period.subscribes - a.period.unsubscribes],
      ['total-scans', a.totals.scans], ['total-subscribes', a.totals.subscribes],
    ].map(([k, v]) => h('td', {class: 'num', dataset: {test: k}}, num(v)));
    fill(table, h('caption', {}, t('allSources.caption', {from: day(st.from), to: day(st.to)})),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('allSources.account')),
        ['scans', 'subscribes', 'unique', 'unsubscribes', 'net'].map(k => h('th', {scope: 'col', class: 'num'}, t('total.' + k))),
        h('th', {scope: 'col', class: 'num'}, t('codes.col.scansTotal')), h('th', {scope: 'col', class: 'num'}, t('codes.col.subsTotal')))),
      h('tbody', {}, list.map(a => h('tr', {dataset: {test: 'account-source-row', appid: a.appid}},
        h('th', {scope: 'row'}, h('a', {href: href('/sources', a.appid)}, label(a))), cells(a)))),
      list.length > 1 ? h('tfoot', {}, h('tr', {dataset: {test: 'account-source-sum'}},
        h('th', {scope: 'row'}, t('allSources.sum')), cells(sum))) : null);
    if (destroy) destroy();
    fill(chart);
    destroy = null;
    if (list.length) {
      try {
        destroy = await barChart(chart, list.map(a => a.name || a.appid), list.map(a => a.period.subscribes), t('total.subscribes'),
          t('allSources.chartTitle'), t('allSources.account'));
      } catch (e) { err.textContent = e.message; }
    }
  }
  await load();
  return () => destroy && destroy();
}

// counts reads Counts, a missing field as 0.
function counts(c) {
  const out = {};
  for (const k of countKeys) out[k] = Number((c || {})[k]) || 0;
  return out;
}
