// The QR management API, as the console reaches it: under /console/api, with
// the signed-in user's credentials when the console is deployed (auth.js), and
// for the official account the console works on: every call is prefixed with
// /accounts/<appid> (the default account's too: both spellings are served),
// except the calls about every account ({global: true}: /accounts, /stats/accounts).

const base = '/console/api';
let session = null;
let account = '';

// useSession installs what auth.js's start() returned: {authorize(headers) →
// Promise, onUnauthorized() → Promise<boolean> (true: retry once)}.
export function useSession(s) { session = s; }

// useAccount names the account the calls of the pages are about (app.js, from
// the route: #/a/<appid>/…).
export function useAccount(appid) { account = appid || ''; }

function url(path, global) {
  return base + (account && !global ? '/accounts/' + encodeURIComponent(account) : '') + path;
}

// ApiError carries the API's own answer: status, error code, message, and
// WeChat's errcode when WeChat refused.
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ('HTTP ' + status));
    this.status = status;
    this.code = (body && body.error) || '';
    this.errcode = body && body.errcode;
  }
}

async function send(path, opts) {
  // The URL is taken before any await: a call started for one account stays
  // with it (its retry too), even if the reader switches meanwhile.
  const target = url(path, opts.global);
  for (let retried = false; ; retried = true) {
    const headers = Object.assign({}, opts.headers || {});
    if (session) await session.authorize(headers);
    let res;
    try {
      res = await fetch(target, {method: opts.method || 'GET', headers, body: opts.body, credentials: 'same-origin', cache: 'no-store'});
    } catch (e) {
      throw new ApiError(0, {error: 'network', message: String(e && e.message || e)});
    }
    if (res.status === 401 && session && session.onUnauthorized && !retried && await session.onUnauthorized()) continue;
    return res;
  }
}

async function fail(res) {
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON: a gateway error */ }
  throw new ApiError(res.status, body);
}

// json calls the API and returns its JSON answer (null for 204 No Content),
// or throws ApiError. opts: method, data (sent as JSON), global (a call about
// every account: no account prefix).
export async function json(path, opts = {}) {
  const o = Object.assign({}, opts);
  if (o.data !== undefined) {
    o.body = JSON.stringify(o.data);
    o.headers = Object.assign({'Content-Type': 'application/json'}, o.headers || {});
  }
  const res = await send(path, o);
  if (!res.ok) await fail(res);
  if (res.status === 204) return null;
  return res.json();
}

// blob fetches a binary answer (an image) as a Blob, or throws ApiError.
export async function blob(path) {
  const res = await send(path, {});
  if (!res.ok) await fail(res);
  return res.blob();
}

// post sends a raw body (a CSV) and returns the JSON answer.
export async function postRaw(path, body, type) {
  const res = await send(path, {method: 'POST', body, headers: {'Content-Type': type}});
  if (!res.ok) await fail(res);
  return res.json();
}

export function scenePath(scene) { return '/qrcodes/' + encodeURIComponent(scene); }
