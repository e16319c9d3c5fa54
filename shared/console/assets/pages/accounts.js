// Accounts: every official account the user may see (GET /accounts), with
// today's scans and new followers (GET /stats/accounts, China time) and its
// token's health; a form to add a direct account (POST /accounts) and a
// remove button, confirmed, per account but the default (DELETE /accounts/{appid}).
// Adding and removing are for the Cognito group admins: anyone else gets the
// API's 403 message, shown like any other refusal. The secrets typed into the
// form are sent once and cleared from it; the API never echoes them.
//
// Stable ids: #accounts-error, #accounts-table (rows
// [data-test="account-row"][data-appid], cells [data-test="name" | "appid" |
// "kind" | "status" | "default" | "scans-today" | "subs-today" | "token"], a
// token's failure [data-test="token-error"] with its hint
// [data-test="token-hint"]), the remove button [data-test="account-remove"]
// then [data-test="account-remove-confirm"] and
// [data-test="account-remove-cancel"], #accounts-done (what was just added or
// removed); the form #account-form with #account-appid, #account-name,
// #account-app-secret, #account-token, #account-aes-key, #account-mode (each
// with #<id>-error), #account-submit and #account-form-error.
//
// On a third-party platform's stack, for administrators (platform.js,
// authorizer.js):
// #connect (the section) with #connect-start, #connect-error and
// #connect-result: #connect-link (WeChat's authorization page, href its URL),
// #connect-mobile-link and #connect-expires. An authorizer's row shows its
// avatar [data-test="avatar"], [data-test="user-name"], [data-test="type"],
// [data-test="permissions"] in the name cell, and in the status cell its
// warnings [data-test="permission-warning"] with [data-test="account-reauthorize"].
import {h, fill, field, setError} from '../dom.js';
import {t, num, dateTime, chinaToday, day} from '../i18n.js';
import {json} from '../api.js';
import * as accounts from '../accounts.js';
import * as platform from '../platform.js';
import * as authorizer from '../authorizer.js';

// kinds and statuses are named with literal keys, so that the catalogs' test sees them.
const kinds = {direct: () => t('accounts.kindDirect'), authorizer: () => t('accounts.kindAuthorizer')};
const statuses = {active: () => t('accounts.statusActive'), revoked: () => t('accounts.statusRevoked')};

// errcodeHint explains the WeChat refusals an account's owner can fix, by the
// errcode a message or a token failure names; '' for any other.
export function errcodeHint(errcode, text) {
  let code = Number(errcode) || 0;
  if (!code && text) {
    const m = /\b(40125|40164|61004|40013)\b/.exec(text);
    if (m) code = Number(m[1]);
  }
  switch (code) {
    case 40125: return t('accounts.hintSecret');
    case 40164: case 61004: return t('accounts.hintWhitelist');
    case 40013: return t('accounts.hintAppID');
  }
  return '';
}

export async function render(root, {title}) {
  title.textContent = t('accounts.title');
  const err = h('p', {id: 'accounts-error', class: 'error', role: 'alert'});
  const done = h('p', {id: 'accounts-done', role: 'status'});
  const table = h('table', {id: 'accounts-table', class: 'data'});
  const form = addForm(async added => {
    done.textContent = t('accounts.added', {name: added.name, appid: added.appid});
    await load();
  });
  const connect = platform.available() ? connectSection() : null;
  fill(root, err, done, h('div', {class: 'scroll'}, table), connect && connect.el,
    h('section', {'aria-labelledby': 'account-add-h'}, h('h2', {id: 'account-add-h'}, t('accounts.addTitle')), form));

  async function load() {
    err.textContent = '';
    const today = chinaToday();
    // Both at once: the counts are one call for every account.
    const [listed, stats] = await Promise.allSettled([accounts.load(),
      json('/stats/accounts?' + new URLSearchParams({from: today, to: today}), {global: true})]);
    if (listed.status === 'rejected') { err.textContent = listed.reason.message; return; }
    let counts = null;
    if (stats.status === 'fulfilled') counts = Object.fromEntries(stats.value.accounts.map(a => [a.appid, a.period]));
    else err.textContent = stats.reason.message;
    fill(table, h('caption', {}, t('accounts.caption', {day: day(today)})),
      h('thead', {}, h('tr', {}, [t('accounts.name'), t('accounts.appid'), t('accounts.kind'), t('accounts.status'), t('accounts.default')]
        .map(s => h('th', {scope: 'col'}, s)),
      h('th', {scope: 'col', class: 'num'}, t('codes.col.scansToday')), h('th', {scope: 'col', class: 'num'}, t('codes.col.subsToday')),
      h('th', {scope: 'col'}, t('accounts.token')), h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, t('accounts.actions'))))),
      h('tbody', {}, listed.value.map(a => row(a, counts && counts[a.appid]))));
  }

  function row(a, today) {
    const count = k => (today ? num(today[k] || 0) : '–');
    const status = statuses[a.status] ? statuses[a.status]() : a.status;
    const authorized = a.kind === 'authorizer';
    const warnings = authorized ? authorizer.warnings(a) : [];
    const notes = authorized ? authorizer.notes(a) : [];
    return h('tr', {dataset: {test: 'account-row', appid: a.appid}},
      h('th', {scope: 'row', dataset: {test: 'name'}},
        h('span', {class: 'with-avatar'}, authorized ? authorizer.avatar(a) : null, h('a', {href: accounts.href('/codes', a.appid)}, a.name || a.appid)),
        authorized ? about(a) : null),
      h('td', {dataset: {test: 'appid'}}, h('code', {}, a.appid)),
      h('td', {dataset: {test: 'kind'}}, kinds[a.kind] ? kinds[a.kind]() : a.kind),
      h('td', {class: a.status === 'active' ? null : 'error'}, h('span', {dataset: {test: 'status'}}, status), warnings, notes,
        (warnings.length || notes.length) && connect ? h('button', {type: 'button', class: 'secondary', dataset: {test: 'account-reauthorize', appid: a.appid},
          'aria-label': t('accounts.reauthorizeNamed', {name: a.name || a.appid}), on: {click: () => connect.start()}}, t('accounts.reauthorize')) : null),
      h('td', {dataset: {test: 'default'}}, a.default ? t('accounts.isDefault') : ''),
      h('td', {class: 'num', dataset: {test: 'scans-today'}}, count('scans')),
      h('td', {class: 'num', dataset: {test: 'subs-today'}}, count('subscribes')),
      h('td', {dataset: {test: 'token'}, class: 'token'}, health(a.token)),
      h('td', {}, a.default ? null : removeControl(a)));
  }

  // removeControl is a remove button that asks once more before removing.
  function removeControl(a) {
    const cell = h('div', {class: 'row remove'});
    const ask = h('button', {type: 'button', class: 'secondary', dataset: {test: 'account-remove', appid: a.appid},
      'aria-label': t('accounts.removeNamed', {name: a.name || a.appid}), on: {click: confirm}}, t('accounts.remove'));
    fill(cell, ask);
    function confirm() {
      const yes = h('button', {type: 'button', dataset: {test: 'account-remove-confirm', appid: a.appid}, on: {click: remove}},
        t('accounts.removeConfirm'));
      const no = h('button', {type: 'button', class: 'secondary', dataset: {test: 'account-remove-cancel', appid: a.appid},
        on: {click: () => { fill(cell, ask); ask.focus(); }}}, t('accounts.removeCancel'));
      fill(cell, h('span', {role: 'alert'}, t('accounts.removeAsk', {name: a.name || a.appid, appid: a.appid})), yes, no);
      yes.focus();
      async function remove() {
        yes.disabled = no.disabled = true;
        err.textContent = '';
        try {
          await json('/accounts/' + encodeURIComponent(a.appid), {method: 'DELETE', global: true});
        } catch (e) {
          err.textContent = e.message;
          fill(cell, ask);
          ask.focus();
          return;
        }
        done.textContent = t('accounts.removed', {name: a.name || a.appid, appid: a.appid});
        await load();
      }
    }
    return cell;
  }

  // connectSection starts an authorization of the platform: WeChat's pages
  // where the account's administrator grants it (once, for a few minutes).
  // Re-authorizing an account is the same authorization, granted again.
  function connectSection() {
    const error = h('p', {id: 'connect-error', class: 'error', role: 'alert'});
    const result = h('div', {id: 'connect-result', role: 'status'});
    const button = h('button', {type: 'button', id: 'connect-start', on: {click: () => start()}}, t('connect.start'));
    const el = h('section', {id: 'connect', 'aria-labelledby': 'connect-h'}, h('h2', {id: 'connect-h'}, t('connect.heading')),
      h('p', {}, t('connect.intro')), h('div', {class: 'row'}, button), error, result);
    async function start() {
      button.disabled = true;
      error.textContent = '';
      fill(result);
      try {
        const page = await authorizer.start();
        // referrerpolicy: WeChat's authorization page is reported to refuse a
        // visit without a Referer from the platform's authorization domain,
        // and the console sends none (no-referrer) unless told: the origin
        // alone, never the path or the hash.
        fill(result,
          h('p', {}, t('connect.linkIntro')),
          h('p', {}, h('a', {id: 'connect-link', class: 'button', href: page.url, referrerpolicy: 'origin'}, t('connect.link'))),
          h('p', {}, t('connect.mobileIntro'), ' ',
            h('a', {id: 'connect-mobile-link', href: page.mobile_url, referrerpolicy: 'origin'}, t('connect.mobileLink'))),
          h('p', {id: 'connect-expires', class: 'hint'}, t('connect.expires', {at: dateTime(page.expires_at)})));
        el.scrollIntoView({block: 'nearest'});
        document.getElementById('connect-link').focus();
      } catch (e) {
        error.textContent = e.message;
      } finally { button.disabled = false; }
    }
    return {el, start};
  }

  await load();
}

// about is an authorizer's original ID, type and permission sets, under its name.
function about(a) {
  return h('div', {class: 'about'},
    a.user_name ? h('div', {class: 'muted', dataset: {test: 'user-name'}}, h('code', {}, a.user_name)) : null,
    h('div', {dataset: {test: 'type'}}, authorizer.typeLabel(a) || '–'),
    h('div', {dataset: {test: 'permissions'}}, t('accounts.permissions', {sets: authorizer.setList(a.permissions) || t('connect.noPermissions')})));
}

// health shows a token's last refresh and, standing out, its last failure
// with a hint for the causes an owner can fix.
function health(tok) {
  if (!tok) return '–';
  const out = [h('div', {}, tok.refreshed_at ? t('accounts.refreshed', {at: dateTime(tok.refreshed_at)}) : t('accounts.neverRefreshed'))];
  if (tok.expires_at) out.push(h('div', {class: 'muted'}, t('accounts.validUntil', {at: dateTime(tok.expires_at)})));
  if (tok.last_error) {
    const hint = errcodeHint(0, tok.last_error);
    out.push(h('div', {class: 'token-error', dataset: {test: 'token-error'}},
      h('strong', {}, tok.last_error_at ? t('accounts.tokenErrorAt', {at: dateTime(tok.last_error_at)}) : t('accounts.tokenError')),
      ' ', tok.last_error,
      hint ? h('p', {class: 'hint', dataset: {test: 'token-hint'}}, hint) : null));
  }
  return out;
}

// The fields of POST /accounts, as the API names them in its messages.
const fieldNames = [['appid', 'account-appid'], ['name', 'account-name'], ['app_secret', 'account-app-secret'],
  ['token', 'account-token'], ['encoding_aes_key', 'account-aes-key'], ['message_mode', 'account-mode']];

// addForm adds a direct account; onAdded(account) runs after the API took it.
function addForm(onAdded) {
  const text = (id, extra) => h('input', Object.assign({type: 'text', id, autocomplete: 'off', spellcheck: 'false'}, extra));
  const appid = text('account-appid', {required: true, maxlength: 18});
  const name = text('account-name', {required: true, maxlength: 64, spellcheck: null});
  const secret = h('input', {type: 'password', id: 'account-app-secret', required: true, autocomplete: 'new-password'});
  const token = text('account-token', {required: true, maxlength: 32});
  const aesKey = text('account-aes-key', {maxlength: 43});
  const mode = h('select', {id: 'account-mode'},
    h('option', {value: ''}, t('accounts.modeDefault')), h('option', {value: 'plaintext'}, t('accounts.modePlaintext')),
    h('option', {value: 'compatible'}, t('accounts.modeCompatible')), h('option', {value: 'safe'}, t('accounts.modeSafe')));
  const controls = [appid, name, secret, token, aesKey, mode];
  const submit = h('button', {type: 'submit', id: 'account-submit'}, t('accounts.add'));
  const error = h('div', {id: 'account-form-error', class: 'error', role: 'alert'});
  const form = h('form', {id: 'account-form', novalidate: true, on: {submit: async e => {
    e.preventDefault();
    fill(error);
    controls.forEach(c => setError(c, ''));
    // The API checks every field and says what is wrong: its message is shown
    // beside the field it names, so the rules live in one place.
    const body = {appid: appid.value.trim(), name: name.value.trim(), app_secret: secret.value, token: token.value};
    if (aesKey.value) body.encoding_aes_key = aesKey.value;
    if (mode.value) body.message_mode = mode.value;
    submit.disabled = true;
    try {
      const added = await json('/accounts', {method: 'POST', data: body, global: true});
      // The secrets go no further than that request: nothing of them stays in the page.
      for (const c of controls) c.value = '';
      await onAdded(added);
    } catch (e2) {
      const named = fieldNames.find(([f]) => e2.message.startsWith(f + ' ') || e2.message.startsWith(f + ':'));
      const hint = errcodeHint(e2.errcode, '');
      if (named && !hint) {
        const c = document.getElementById(named[1]);
        setError(c, e2.message);
        c.focus();
      } else {
        fill(error, h('span', {}, e2.message), hint ? h('p', {class: 'hint', dataset: {test: 'account-form-hint'}}, hint) : null);
      }
    } finally { submit.disabled = false; }
  }}},
  h('p', {}, t('accounts.addIntro')),
  h('div', {class: 'row'}, field(t('accounts.appid'), appid, t('accounts.appidHint')), field(t('accounts.name'), name, t('accounts.nameHint'))),
  h('div', {class: 'row'}, field(t('accounts.appSecret'), secret, t('accounts.appSecretHint')),
    field(t('accounts.tokenField'), token, t('accounts.tokenHint'))),
  h('div', {class: 'row'}, field(t('accounts.aesKey'), aesKey, t('accounts.aesKeyHint')), field(t('accounts.mode'), mode, t('accounts.modeHint'))),
  error, h('div', {class: 'row'}, submit));
  return form;
}
