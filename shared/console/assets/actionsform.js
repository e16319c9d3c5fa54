// A scene's scan actions: its tag and up to 3 follow-ups (each a reply editor),
// checked as the API checks them (shared/qr: ValidateTag, ValidateFollowups),
// and the API's own message shown beside the field it names.
//
// Controls: #<prefix>-tag (with -error), #<prefix>-followups (the list), one
// reply editor per follow-up with the prefix <prefix>-followup-<i> (i from 0,
// so #<prefix>-followup-1-content is the second one's text) and its remove
// button #<prefix>-followup-<i>-remove, #<prefix>-add, #<prefix>-error.
import {h, fill, field, setError, bytes} from './dom.js';
import {t} from './i18n.js';
import {replyEditor} from './replyform.js';

export const maxTagBytes = 30, maxFollowups = 3;

// WeChat's tag names are printable (Go's unicode.IsPrint: letters, marks,
// numbers, punctuation, symbols and the ASCII space).
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

// checkTag mirrors qr.ValidateTag for a tag that is set ('' is no tag); it
// returns an error message or ''.
export function checkTag(tag) {
  if (tag === '') return '';
  if (bytes(tag) > maxTagBytes) return t('actions.errTagLong', {n: bytes(tag), max: maxTagBytes});
  if (tag.trim() !== tag) return t('actions.errTagSpaces');
  for (const c of tag) {
    if (!printable.test(c)) return t('actions.errTagChar', {c: JSON.stringify(c)});
  }
  return '';
}

// actionsEditor edits {tag, followups}; get() returns them checked (tag ''
// for none) or throws after marking the field.
export function actionsEditor(prefix, initial) {
  const tag = h('input', {type: 'text', id: prefix + '-tag', value: (initial && initial.tag) || '', autocomplete: 'off'});
  const list = h('div', {id: prefix + '-followups'});
  const add = h('button', {type: 'button', id: prefix + '-add', class: 'secondary'}, t('actions.add'));
  const general = h('p', {class: 'error', role: 'alert', id: prefix + '-error'});
  let editors = [];

  // draw builds one editor per follow-up, numbered by position, so that the
  // API's "followups[1]" is always the second one shown.
  function draw(replies) {
    editors = replies.map((r, i) => replyEditor(prefix + '-followup-' + i, r, false,
      {legend: t('actions.followup', {n: i + 1}), name: 'followups[' + i + ']'}));
    fill(list, editors.map((ed, i) => h('div', {class: 'followup'}, ed.el,
      h('button', {type: 'button', id: prefix + '-followup-' + i + '-remove', class: 'secondary',
        on: {click: () => { draw(editors.filter((_, j) => j !== i).map(x => x.raw())); add.focus(); }}},
      t('actions.remove', {n: i + 1})))));
    add.disabled = editors.length >= maxFollowups;
  }
  add.addEventListener('click', () => {
    if (editors.length >= maxFollowups) return;
    draw([...editors.map(x => x.raw()), {type: 'text'}]);
    document.getElementById(prefix + '-followup-' + (editors.length - 1) + '-content').focus();
  });
  draw((initial && initial.followups) || []);

  const el = h('fieldset', {class: 'actions', id: prefix},
    h('legend', {}, t('actions.legend')),
    field(t('actions.tag'), tag, t('actions.tagHint', {max: maxTagBytes})),
    h('p', {class: 'hint'}, t('actions.followupsHint', {max: maxFollowups})),
    list, h('div', {class: 'row'}, add), general);

  function clear() { setError(tag, ''); general.textContent = ''; editors.forEach(ed => ed.clear()); }

  function get() {
    clear();
    const msg = checkTag(tag.value);
    if (msg) { setError(tag, msg); tag.focus(); throw new Error(msg); }
    if (editors.length > maxFollowups) {
      general.textContent = t('actions.errTooMany', {max: maxFollowups});
      throw new Error(general.textContent);
    }
    const followups = editors.map(ed => ed.get());
    return {tag: tag.value, followups};
  }

  // showError puts an API message ("tag: …", "followups[1].content: …",
  // "followups: …") beside the field it names; false when it names none of them.
  function showError(message) {
    if (message.startsWith('tag:')) { setError(tag, message); return true; }
    for (const ed of editors) if (ed.showError(message)) return true;
    if (message.startsWith('followups')) { general.textContent = message; return true; }
    return false;
  }

  return {el, get, showError, clear};
}
