// The console's entry module: reads /console/config.json, signs in when the
// deployment asks for it, and routes #/… to the page modules.
//
// Contract with auth.js (the sign-in module; loaded only when config.json's
// "auth" is not "none", by the fingerprinted URL config.json names in
// "auth_module"): it exports `async start(config)`, which either navigates away
// to sign in (and never resolves) or returns a session
// {authorize(headers), onUnauthorized(), user?, signOut?()}; see api.js.
//
// Stable ids (for the browser tests): #nav, #nav-codes, #nav-create, #nav-batch,
// #nav-sources, #lang, #session, #main, #page-title, #app-error.
import {h, fill} from './dom.js';
import {t, pickLocale, setLocale, currentLocale} from './i18n.js';
import {useSession} from './api.js';
import * as codes from './pages/codes.js';
import * as code from './pages/code.js';
import * as create from './pages/create.js';
import * as batch from './pages/batch.js';
import * as sources from './pages/sources.js';

const pages = [
  {id: 'codes', path: /^\/(?:codes)?$/, mod: codes, nav: true},
  {id: 'code', path: /^\/code\/(.+)$/, mod: code},
  {id: 'create', path: /^\/create$/, mod: create, nav: true},
  {id: 'batch', path: /^\/batch$/, mod: batch, nav: true},
  {id: 'sources', path: /^\/sources$/, mod: sources, nav: true},
];

let session = null;
let leave = null; // the current page's cleanup

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  for (const p of pages) {
    const m = p.path.exec(path);
    if (!m) continue;
    return {page: p, arg: m[1] === undefined ? undefined : safeDecode(m[1]), params};
  }
  return {page: pages[0], params};
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch (_) { return s; }
}

function renderNav(active) {
  const nav = document.getElementById('nav');
  fill(nav, h('ul', {}, pages.filter(p => p.nav).map(p =>
    h('li', {}, h('a', {id: 'nav-' + p.id, href: '#/' + p.id, 'aria-current': p.id === active ? 'page' : null}, t('nav.' + p.id))))));
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

async function render() {
  if (leave) { try { leave(); } catch (_) { /* ignore */ } leave = null; }
  const {page, arg, params} = route();
  document.documentElement.lang = currentLocale();
  renderNav(page.id === 'code' ? 'codes' : page.id);
  const main = document.getElementById('main');
  const title = h('h1', {id: 'page-title'});
  const body = h('div', {id: 'page', dataset: {page: page.id}});
  fill(main, title, body);
  try {
    leave = await page.mod.render(body, {arg, params, title}) || null;
  } catch (e) {
    body.append(h('p', {class: 'error', role: 'alert', id: 'app-error'}, t('app.failed', {message: e.message || String(e)})));
  }
  document.title = title.textContent + ' · ' + t('app.title');
}

async function boot() {
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
  window.addEventListener('hashchange', render);
  await render();
}

boot().catch(e => {
  const main = document.getElementById('main');
  fill(main, h('p', {class: 'error', role: 'alert', id: 'app-error'}, String(e && e.message || e)));
});
