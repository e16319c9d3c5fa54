// The return page of an authorization (#/platform/return): WeChat sent the
// administrator to /console/platform/return?auth_code=…, and platform.js kept
// the code and moved the address here. The page completes the authorization
// (POST /platform/authorizations/complete) and shows the account it made:
// name, avatar, type and permission sets, with links to its pages and to the
// Accounts page. A 409 conflict means WeChat's push of the same authorization
// is completing it: the page then reads GET /accounts for a short while
// until the account appears. Any other refusal shows the API's message.
// Once done, the address names the account (#/platform/return?appid=…), so
// that a reload shows it again without the code, which is spent.
//
// Stable ids: #connect-return-status, #connect-return-error, #connected
// (the account: [data-appid], #connected-name, #connected-appid,
// #connected-user-name, #connected-type, #connected-permissions, an avatar
// [data-test="avatar"], warnings [data-test="permission-warning"]),
// #connected-codes (its pages), #connected-accounts (the Accounts page).
import {h, fill} from '../dom.js';
import {t} from '../i18n.js';
import {json} from '../api.js';
import * as accounts from '../accounts.js';
import * as platform from '../platform.js';
import * as authorizer from '../authorizer.js';

// How long a 409 waits for the push to make the account, and how often it looks.
const waitMs = 20000, everyMs = 1000;

export async function render(root, {params, title}) {
  title.textContent = t('connect.title');
  const status = h('p', {id: 'connect-return-status', role: 'status'});
  const error = h('div', {id: 'connect-return-error', class: 'error', role: 'alert'});
  const result = h('div', {});
  const back = h('p', {}, h('a', {id: 'connected-accounts', href: '#/accounts'}, t('connect.toAccounts')));
  fill(root, status, error, result, back);
  // The reader may leave while the authorization completes (app.js learns of
  // the cleanup only when render returns): nothing is shown, and the address
  // not rewritten, once this page is no longer the one on screen.
  let stopped = false;
  const gone = () => stopped || !root.isConnected;

  const code = platform.pendingCode();
  const named = params.get('appid') || '';
  if (!code && named) {
    // A reload after completing: the account, read again.
    try {
      show(await json('/accounts/' + encodeURIComponent(named), {global: true}));
    } catch (e) { error.textContent = e.message; }
    return () => { stopped = true; };
  }
  if (!code) {
    error.textContent = t('connect.noCode');
    return () => { stopped = true; };
  }

  // What the accounts were before: a 409 waits for one that is new, or
  // authorized anew, since.
  const before = new Map(accounts.all().map(a => [a.appid, a.authorized_at || '']));
  status.textContent = t('connect.completing');
  try {
    show(await json('/platform/authorizations/complete', {method: 'POST', data: {auth_code: code}, global: true}));
  } catch (e) {
    if (e.code !== 'conflict') {
      status.textContent = '';
      error.textContent = e.message;
      return () => { stopped = true; };
    }
    status.textContent = t('connect.waiting');
    const until = Date.now() + waitMs;
    while (!gone() && Date.now() < until) {
      await new Promise(r => setTimeout(r, everyMs));
      if (gone()) break;
      let list;
      try { list = await accounts.load(); } catch (_) { continue; }
      const made = list.find(a => a.kind === 'authorizer' && (!before.has(a.appid) || (a.authorized_at || '') !== before.get(a.appid)));
      if (made) { show(made); return () => { stopped = true; }; }
    }
    if (!gone()) {
      status.textContent = '';
      fill(error, h('span', {}, e.message), ' ', h('span', {}, t('connect.stillWaiting')));
    }
  }
  return () => { stopped = true; };

  function show(a) {
    if (gone()) return;
    title.textContent = t('connect.doneTitle', {name: a.name || a.appid});
    document.title = title.textContent + ' · ' + t('app.title');
    status.textContent = t('connect.done', {name: a.name || a.appid});
    // The header's switcher lists the new account too.
    accounts.load().catch(() => {});
    history.replaceState(null, '', location.pathname + platform.returnRoute + '?' + new URLSearchParams({appid: a.appid}));
    const facts = [
      [t('accounts.appid'), h('code', {id: 'connected-appid'}, a.appid)],
      a.user_name ? [t('connect.userName'), h('code', {id: 'connected-user-name'}, a.user_name)] : null,
      a.principal_name ? [t('connect.principal'), h('span', {}, a.principal_name)] : null,
      [t('connect.type'), h('span', {id: 'connected-type'}, authorizer.typeLabel(a) || '–')],
      [t('connect.permissions'), h('span', {id: 'connected-permissions'}, authorizer.setList(a.permissions) || t('connect.noPermissions'))],
    ].filter(Boolean);
    fill(result, h('section', {id: 'connected', class: 'connected', dataset: {appid: a.appid}, 'aria-labelledby': 'connected-name'},
      h('h2', {id: 'connected-name', class: 'with-avatar'}, authorizer.avatar(a, 48), h('span', {}, a.name || a.appid)),
      h('dl', {class: 'facts'}, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      authorizer.warnings(a), authorizer.notes(a),
      h('p', {}, h('a', {id: 'connected-codes', class: 'button', href: accounts.href('/codes', a.appid)}, t('connect.open', {name: a.name || a.appid})))));
  }
}
