// The console's entry module: reads /console/config.json, signs in when the
// deployment asks for it, and routes #/… to the page modules.
//
// Contract with auth.js (the sign-in module; loaded only when config.json's
// "auth" is not "none", by the fingerprinted URL config.json names in
// "auth_module"): it exports `async start(config)`, which either navigates away
// to sign in (and never resolves) or returns a session
// {authorize(headers), onUnauthorized(), user?, signOut?()}; see api.js.
//
// Routes: an account's pages are #/a/<appid>/codes, …/code/<scene>, …/create,
// …/batch and …/sources; a link without /a/<appid> (#/codes, #/code/x, as
// before there were accounts) means the default account, or the first listed
// when the user may not see the default, and is rewritten in place to name it.
// #/accounts and #/all-sources are about every account the user may see.
// #/platform/return completes an authorization of the stack's third-party
// platform: WeChat sends the administrator to /console/platform/return?auth_code=…,
// which serves this shell; platform.js moves the code out of the address
// before anything else (sign-in included) and the route picks it up.
//
// Stable ids (for the browser tests): #nav, #nav-codes, #nav-create, #nav-batch,
// #nav-sources, #nav-accounts, #nav-all-sources, #account (the switcher, in
// #account-field), #lang, #session, #main, #page-title, #app-error,
// #no-account (the user may see no account).
import {h, fill} from './dom.js';
import {t, pickLocale, setLocale, currentLocale} from './i18n.js';
import {useSession} from './api.js';
import * as accounts from './accounts.js';
import * as platform from './platform.js';
import * as codes from './pages/codes.js';
import * as code from './pages/code.js';
import * as create from './pages/create.js';
import * as batch from './pages/batch.js';
import * as sources from './pages/sources.js';

// scoped: a page of one account. nav: its label in the header. The pages about
// every account are imported on first use (load): the list never pays for them.
const pages = [
  {id: 'codes', path: /^\/(?:codes)?$/, mod: codes, scoped: true, nav: () => t('nav.codes')},
  {id: 'code', path: /^\/code\/(.+)$/, mod: code, scoped: true},
  {id: 'create', path: /^\/create$/, mod: create, scoped: true, nav: () => t('nav.create')},
  {id: 'batch', path: /^\/batch$/, mod: batch, scoped: true, nav: () => t('nav.batch')},
  {id: 'sources', path: /^\/sources$/, mod: sources, scoped: true, nav: () => t('nav.sources')},
  {id: 'accounts', path: /^\/accounts$/, load: () => import('./pages/accounts.js'), nav: () => t('nav.accounts')},
  {id: 'all-sources', path: /^\/all-sources$/, load: () => import('./pages/allsources.js'), nav: () => t('nav.allSources')},
  {id: 'platform-return', path: /^\/platform\/return$/, load: () => import('./pages/connect.js'), navAs: 'accounts'},
];

const accountPath = /^\/a\/([^/?]+)(\/[^?]*)?$/;

let session = null;
let leave = null; // the current page's cleanup

// route reads the hash: the page, its argument, its query, the account it
// names (appid; '' when the link names none) and the page's path within it.
function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const q = hash.indexOf('?');
  let path = q < 0 ? hash : hash.slice(0, q);
  const query = q < 0 ? '' : hash.slice(q);
  const params = new URLSearchParams(query.slice(1));
  let appid = '';
  const a = accountPath.exec(path);
  if (a) {
    appid = safeDecode(a[1]);
    path = a[2] && a[2] !== '/' ? a[2] : '/codes';
  }
  for (const p of pages) {
    if (appid && !p.scoped) continue;
    const m = p.path.exec(path);
    if (!m) continue;
    return {page: p, arg: m[1] === undefined ? undefined : safeDecode(m[1]), params, appid, path, query, known: true};
  }
  // Anything else shows the list, and keeps its address (#/signed-out).
  return {page: pages[0], params, appid, path: '/codes', query, known: false};
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch (_) { return s; }
}

function renderNav(active) {
  const nav = document.getElementById('nav');
  const list = accounts.all();
  // No account to see: no page to go to either.
  fill(nav, h('ul', {}, pages.filter(p => p.nav && list.length).map(p =>
    h('li', {}, h('a', {id: 'nav-' + p.id, href: p.scoped ? accounts.href('/' + p.id) : '#/' + p.id,
      'aria-current': p.id === active ? 'page' : null}, p.nav())))));
  renderSwitcher();
  document.getElementById('brand').textContent = t('app.title');
  document.getElementById('lang-label').textContent = t('app.language');
  document.querySelector('.skip').textContent = t('app.skip');
  const s = document.getElementById('session');
  fill(s);
  if (session && session.user) s.append(h('span', {class: 'user'}, session.user));
  if (session && session.signOut) {
    s.append(h('button', {type: 'button', id: 'sign-out', class: 'link', on: {click: () => session.signOut()}}, t('app.signOut')));
  }
}

// renderSwitcher lists the accounts the user may see, the current one chosen.
// An account the URL names but the list lacks (typed, or not the user's) is
// shown as such: its pages show the API's refusal.
function renderSwitcher() {
  const list = accounts.all();
  const cur = accounts.currentAccount();
  const select = document.getElementById('account');
  document.getElementById('account-label').textContent = t('app.account');
  document.getElementById('account-field').hidden = list.length === 0;
  fill(select, list.map(a => h('option', {value: a.appid, selected: a.appid === cur}, accounts.label(a))),
    cur && !accounts.find(cur) ? h('option', {value: cur, selected: true, disabled: true}, t('app.accountUnlisted', {appid: cur})) : null);
}

// switchAccount keeps the page the reader is on, for the account chosen: a
// code's page becomes the new account's list (the scene is the old one's).
function switchAccount() {
  const appid = document.getElementById('account').value;
  const {page} = route();
  if (page.scoped) {
    location.hash = accounts.href(page.id === 'code' ? '/codes' : '/' + page.id, appid);
    return;
  }
  accounts.use(appid); // a page about every account: the nav's links follow the choice
  renderNav(page.id);
}

async function render() {
  if (leave) { try { leave(); } catch (_) { /* ignore */ } leave = null; }
  const r = route();
  const {page, arg, params} = r;
  let appid = r.appid;
  const main = document.getElementById('main');
  document.documentElement.lang = currentLocale();
  if (accounts.all().length === 0) {
    // The user may see no account: no page, but whom to ask.
    accounts.use('');
    renderNav('');
    fill(main, h('h1', {id: 'page-title'}, t('app.noAccountTitle')),
      h('div', {id: 'no-account'}, h('p', {}, t('app.noAccount')), h('p', {}, t('app.noAccountAsk'))));
    document.title = t('app.noAccountTitle') + ' · ' + t('app.title');
    return;
  }
  if (page.scoped) {
    if (!appid) {
      // A link from before accounts: it means the default account, and now says so.
      appid = accounts.fallback();
      if (r.known) history.replaceState(null, '', location.pathname + location.search + accounts.href(r.path === '/' ? '/codes' : r.path, appid) + r.query);
    }
    accounts.use(appid);
  } else if (!accounts.find(accounts.currentAccount())) {
    accounts.use(accounts.fallback());
  }
  renderNav(page.id === 'code' ? 'codes' : page.navAs || page.id);
  const title = h('h1', {id: 'page-title'});
  const body = h('div', {id: 'page', dataset: {page: page.id}});
  fill(main, title, body);
  try {
    const mod = page.mod || await page.load();
    leave = await mod.render(body, {arg, params, title}) || null;
  } catch (e) {
    body.append(h('p', {class: 'error', role: 'alert', id: 'app-error'}, t('app.failed', {message: e.message || String(e)})));
  }
  document.title = title.textContent + ' · ' + t('app.title');
}

async function boot() {
  platform.takeReturn();
  pickLocale();
  const lang = document.getElementById('lang');
  lang.value = currentLocale();
  lang.addEventListener('change', () => { setLocale(lang.value); render(); });
  let config = {auth: 'none'};
  try {
    const res = await fetch('/console/config.json', {cache: 'no-store'});
    if (res.ok) config = await res.json();
  } catch (_) { /* keep the local default */ }
  if (config.auth && config.auth !== 'none') {
    // "unconfigured": the function lacks its sign-in settings and says which.
    if (!config.auth_module) throw new Error(config.message || 'config.json asks for sign-in (' + config.auth + ') but names no auth_module');
    const auth = await import(config.auth_module);
    session = await auth.start(config);
    useSession(session);
  }
  platform.configure(config, session);
  await accounts.load();
  // The Accounts page adds and removes accounts: the header follows, and a
  // page about every account drops a choice that was just removed.
  accounts.onChange(() => {
    const {page} = route();
    if (!page.scoped && !accounts.find(accounts.currentAccount())) accounts.use(accounts.fallback());
    renderNav(page.id === 'code' ? 'codes' : page.id);
  });
  document.getElementById('account').addEventListener('change', switchAccount);
  window.addEventListener('hashchange', render);
  await render();
}

boot().catch(e => {
  const main = document.getElementById('main');
  fill(main, h('p', {class: 'error', role: 'alert', id: 'app-error'}, String(e && e.message || e)));
});
