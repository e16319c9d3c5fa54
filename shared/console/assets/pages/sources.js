// Sources: every scene ranked by new followers for a period (GET /stats/sources),
// as a table and a bar chart, with a CSV export of the table.
//
// Stable ids: #sources-period (7/30/90/custom), #sources-from, #sources-to,
// #sources-apply, #sources-error, #sources-chart, #sources-table (rows
// [data-test="source-row"][data-scene]), #sources-empty, #sources-export.
import {h, fill, download} from '../dom.js';
import {t, num, day} from '../i18n.js';
import {json} from '../api.js';
import {toCSV} from '../csv.js';
import {periodControl} from '../period.js';
import {barChart} from '../chart.js';
import {sceneHref} from '../codeview.js';

const pageLimit = 200, maxPages = 50; // up to 10,000 scenes

export async function render(root, {title}) {
  title.textContent = t('sources.title');
  const err = h('p', {id: 'sources-error', class: 'error', role: 'alert'});
  const chart = h('div', {id: 'sources-chart', class: 'chart'});
  const table = h('table', {id: 'sources-table', class: 'data'});
  const exportBtn = h('button', {type: 'button', id: 'sources-export', disabled: true}, t('sources.export'));
  const period = periodControl('sources', () => load());
  fill(root, period.el, err, chart, h('div', {class: 'row'}, exportBtn), h('div', {class: 'scroll'}, table));
  let destroy = null, lines = [], shown = null;

  exportBtn.addEventListener('click', () => {
    const rows = [['scene', 'from', 'to', 'new_followers', 'scans', 'unique_users', 'unsubscribes', 'net_gain',
      'total_new_followers', 'total_scans']];
    for (const s of lines) {
      rows.push([s.scene, shown.from, shown.to, s.period.subscribes, s.period.scans, s.period.unique_users,
        s.period.unsubscribes, s.period.subscribes - s.period.unsubscribes, s.totals.subscribes, s.totals.scans]);
    }
    download(new Blob([toCSV(rows)], {type: 'text/csv;charset=utf-8'}), 'sources-' + shown.from + '-' + shown.to + '.csv');
  });

  async function load() {
    err.textContent = '';
    let p;
    try { p = period.get(); } catch (e) { err.textContent = e.message; return; }
    lines = [];
    try {
      let cursor = '';
      for (let i = 0; i < maxPages; i++) {
        const q = new URLSearchParams({from: p.from, to: p.to, limit: String(pageLimit)});
        if (cursor) q.set('cursor', cursor);
        const page = await json('/stats/sources?' + q);
        lines.push(...page.sources);
        shown = {from: page.from, to: page.to};
        cursor = page.next_cursor || '';
        if (!cursor) break;
      }
    } catch (e) { err.textContent = e.message; return; }
    exportBtn.disabled = lines.length === 0;
    fill(table, h('caption', {}, t('sources.caption', {from: day(shown.from), to: day(shown.to)})),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('sources.rank')), h('th', {scope: 'col'}, t('codes.col.scene')),
        ['subscribes', 'scans', 'unique', 'unsubscribes', 'net'].map(k => h('th', {scope: 'col', class: 'num'}, t('total.' + k))),
        h('th', {scope: 'col', class: 'num'}, t('sources.totalSubs')))),
      h('tbody', {}, lines.map((s, i) => h('tr', {dataset: {test: 'source-row', scene: s.scene}},
        h('td', {class: 'num'}, num(i + 1)),
        h('th', {scope: 'row'}, h('a', {href: sceneHref(s.scene)}, s.scene)),
        [s.period.subscribes, s.period.scans, s.period.unique_users, s.period.unsubscribes, s.period.subscribes - s.period.unsubscribes, s.totals.subscribes]
          .map(v => h('td', {class: 'num'}, num(v)))))));
    const old = document.getElementById('sources-empty');
    if (old) old.remove();
    if (lines.length === 0) table.after(h('p', {id: 'sources-empty'}, t('sources.none')));
    if (destroy) destroy();
    fill(chart);
    destroy = null;
    const top = lines.slice(0, 20);
    if (top.length) {
      try {
        destroy = await barChart(chart, top.map(s => s.scene), top.map(s => s.period.subscribes), t('total.subscribes'),
          t('sources.chartTitle', {n: top.length}), t('codes.col.scene'));
      } catch (e) { err.textContent = e.message; }
    }
  }
  await load();
  return () => destroy && destroy();
}
