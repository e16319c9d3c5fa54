// A period picker (7 / 30 / 90 days or from–to), in China time like the
// statistics: a day is YYYY-MM-DD in UTC+8 whatever the browser's zone.
import {h, field} from './dom.js';
import {t, chinaToday, addDays} from './i18n.js';

// periodControl returns {el, get()}; get() is {from, to} or throws with a
// message naming the problem. onChange runs when the choice changes.
export function periodControl(prefix, onChange, initial = '30') {
  const choice = h('select', {id: prefix + '-period', dataset: {test: prefix + '-period'}},
    ['7', '30', '90'].map(n => h('option', {value: n, selected: n === initial}, t('period.days', {n}))),
    h('option', {value: 'custom'}, t('period.custom')));
  const today = chinaToday();
  const from = h('input', {type: 'date', id: prefix + '-from', value: addDays(today, -29), max: today});
  const to = h('input', {type: 'date', id: prefix + '-to', value: today, max: today});
  const custom = h('div', {class: 'row', hidden: initial !== 'custom'}, field(t('period.from'), from), field(t('period.to'), to));
  const apply = h('button', {type: 'submit', id: prefix + '-apply'}, t('period.apply'));
  const form = h('form', {class: 'period row', on: {submit: e => { e.preventDefault(); onChange(); }}},
    field(t('period.label'), choice), custom, h('div', {class: 'field'}, apply));
  choice.addEventListener('change', () => {
    custom.hidden = choice.value !== 'custom';
    if (choice.value !== 'custom') onChange();
  });
  function get() {
    if (choice.value !== 'custom') {
      const end = chinaToday();
      return {from: addDays(end, -(Number(choice.value) - 1)), to: end};
    }
    if (!from.value || !to.value) throw new Error(t('period.bad'));
    if (from.value > to.value) throw new Error(t('period.order'));
    return {from: from.value, to: to.value};
  }
  return {el: form, get};
}

// days lists every day from..to inclusive.
export function days(from, to) {
  const out = [];
  for (let d = from; d <= to && out.length < 400; d = addDays(d, 1)) out.push(d);
  return out;
}
