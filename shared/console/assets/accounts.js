// The official accounts the signed-in user may see (GET /accounts: all of them
// for the Cognito group admins, one for a group account-<appid>, none
// otherwise), and the one the console works on, which the route names
// (#/a/<appid>/…) and api.js prefixes the calls with.
import {json, useAccount} from './api.js';

let list = [];
let current = '';
const listeners = [];

// load reads the list again and tells the listeners (the header's switcher).
export async function load() {
  const body = await json('/accounts', {global: true});
  list = (body && body.accounts) || [];
  for (const f of listeners) f(list);
  return list;
}

// onChange runs f(list) after each load.
export function onChange(f) { listeners.push(f); }

export function all() { return list; }

export function find(appid) { return list.find(a => a.appid === appid) || null; }

// fallback is the account a link without one means: the default account, or
// the first listed when the user may not see the default; '' when none.
export function fallback() {
  const d = list.find(a => a.default) || list[0];
  return d ? d.appid : '';
}

// use makes appid the account of the pages and of their API calls.
export function use(appid) {
  current = appid;
  useAccount(appid);
}

// currentAccount is the appid the pages work on.
export function currentAccount() { return current; }

// href is the console's link to path (e.g. '/codes', '/code/x') of an account,
// the current one unless named.
export function href(path, appid = current) {
  return '#/a/' + encodeURIComponent(appid) + path;
}

// label is how an account is named in a list: its name and AppID, as text.
export function label(a) {
  return a.name && a.name !== a.appid ? a.name + ' (' + a.appid + ')' : a.appid;
}
