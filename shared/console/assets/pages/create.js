// Create: one code, with every rule of POST /qrcodes checked before submit and
// the API's message shown when it refuses.
//
// Stable ids: #create-form, #create-scene, #create-scene-kind (string/number),
// #create-permanent, #create-expire, #create-reply (editor: #create-reply-type,
// #create-reply-content, …), #create-actions (tag and follow-ups:
// #create-actions-tag, #create-actions-add, #create-actions-followup-<i>-…;
// actionsform.js), #create-submit, #create-error, #create-result,
// #create-result-link; each control's error is #<id>-error. An authorizer's
// refusal (permission_missing, account_revoked) links #create-error-accounts.
import {h, fill, field, setError, bytes} from '../dom.js';
import {t} from '../i18n.js';
import {json} from '../api.js';
import {replyEditor} from '../replyform.js';
import {actionsEditor} from '../actionsform.js';
import {sceneHref} from '../codeview.js';

export const maxSceneBytes = 64, maxPermanentID = 100000, maxTemporaryID = 4294967295, maxExpire = 2592000;

// checkScene mirrors the API's rules (shared/api: validate, checkSceneStr);
// it returns an error message or ''.
export function checkScene(value, numeric, permanent) {
  if (numeric) {
    if (!/^[1-9][0-9]*$/.test(value)) return t('create.errSceneNumber');
    const n = Number(value);
    if (permanent && n > maxPermanentID) return t('create.errScenePermanent', {max: maxPermanentID});
    if (!permanent && n > maxTemporaryID) return t('create.errSceneTemporary', {max: maxTemporaryID});
    return '';
  }
  if (!value) return t('create.errSceneEmpty', {max: maxSceneBytes});
  if (bytes(value) > maxSceneBytes) return t('create.errSceneLong', {n: bytes(value), max: maxSceneBytes});
  if (value.trim() !== value) return t('create.errSceneSpaces');
  if (value.startsWith('login:')) return t('create.errSceneLogin');
  // eslint-disable-next-line no-control-regex
  const bad = value.match(/[<>&\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffd]/);
  if (bad) return t('create.errSceneChar', {c: JSON.stringify(bad[0])});
  return '';
}

export async function render(root, {title}) {
  title.textContent = t('create.title');
  const scene = h('input', {type: 'text', id: 'create-scene', required: true, autocomplete: 'off', spellcheck: 'false'});
  const sceneKind = h('select', {id: 'create-scene-kind'},
    h('option', {value: 'string'}, t('create.sceneString')), h('option', {value: 'number'}, t('create.sceneNumber')));
  const permanent = h('input', {type: 'checkbox', id: 'create-permanent'});
  const expire = h('input', {type: 'number', id: 'create-expire', min: 1, max: maxExpire, step: 1, value: 604800});
  const expireField = field(t('create.expire'), expire, t('create.expireHint'));
  permanent.addEventListener('change', () => { expireField.hidden = permanent.checked; });
  const editor = replyEditor('create-reply', null, true);
  const actions = actionsEditor('create-actions', null);
  const submit = h('button', {type: 'submit', id: 'create-submit'}, t('create.submit'));
  const error = h('p', {id: 'create-error', class: 'error', role: 'alert'});
  const result = h('div', {id: 'create-result', role: 'status'});
  const form = h('form', {id: 'create-form', novalidate: true, on: {submit: async e => {
    e.preventDefault();
    error.textContent = '';
    fill(result);
    for (const c of [scene, expire]) setError(c, '');
    const numeric = sceneKind.value === 'number';
    const msg = checkScene(scene.value, numeric, permanent.checked);
    if (msg) { setError(scene, msg); scene.focus(); return; }
    const body = {scene: numeric ? Number(scene.value) : scene.value, permanent: permanent.checked};
    if (!permanent.checked) {
      const n = Number(expire.value);
      if (!Number.isInteger(n) || n < 1 || n > maxExpire) { setError(expire, t('create.errExpire')); expire.focus(); return; }
      body.expire_seconds = n;
    }
    let reply;
    try { reply = editor.get(); } catch (_) { return; }
    if (reply) body.reply = reply;
    let acts;
    try { acts = actions.get(); } catch (_) { return; }
    if (acts.tag) body.tag = acts.tag; // "" is refused on create: no tag is no field
    if (acts.followups.length) body.followups = acts.followups;
    submit.disabled = true;
    try {
      const c = await json('/qrcodes', {method: 'POST', data: body});
      fill(result, h('p', {}, t('create.done', {scene: c.scene}), ' ',
        h('a', {id: 'create-result-link', href: sceneHref(c.scene)}, t('create.open'))));
    } catch (e2) {
      const m = e2.message;
      if (m.startsWith('scene')) setError(scene, m);
      else if (m.startsWith('expire_seconds')) setError(expire, m);
      else if (!editor.showError(m) && !actions.showError(m)) {
        error.textContent = m;
        // An authorizer that has not granted codes, or withdrew: its
        // administrator authorizes the platform again, from the Accounts page.
        if (e2.code === 'permission_missing' || e2.code === 'account_revoked') {
          error.append(' ', h('a', {id: 'create-error-accounts', href: '#/accounts'}, t('create.toAccounts')));
        }
      }
    } finally { submit.disabled = false; }
  }}},
  h('fieldset', {}, h('legend', {}, t('create.codeLegend')),
    field(t('create.scene'), scene, t('create.sceneHint')),
    field(t('create.sceneKind'), sceneKind),
    h('div', {class: 'field check'}, permanent, h('label', {for: 'create-permanent'}, t('create.permanent')),
      h('p', {class: 'hint'}, t('create.permanentHint'))),
    expireField),
  editor.el, actions.el, error, h('div', {class: 'row'}, submit));
  fill(root, form, result);
}
