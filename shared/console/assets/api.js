// The QR management API, as the console reaches it: under /console/api, with
// the signed-in user's credentials when the console is deployed (auth.js).

const base = '/console/api';
let session = null;

// useSession installs what auth.js's start() returned: {authorize(headers) →
// Promise, onUnauthorized() → Promise<boolean> (true: retry once)}.
export function useSession(s) { session = s; }

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

async function send(path, opts, retried) {
  const headers = Object.assign({}, opts.headers || {});
  if (session) await session.authorize(headers);
  let res;
  try {
    res = await fetch(base + path, {method: opts.method || 'GET', headers, body: opts.body, credentials: 'same-origin', cache: 'no-store'});
  } catch (e) {
    throw new ApiError(0, {error: 'network', message: String(e && e.message || e)});
  }
  if (res.status === 401 && session && session.onUnauthorized && !retried) {
    if (await session.onUnauthorized()) return send(path, opts, true);
  }
  return res;
}

async function fail(res) {
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON: a gateway error */ }
  throw new ApiError(res.status, body);
}

// json calls the API and returns its JSON answer, or throws ApiError.
export async function json(path, opts = {}) {
  const o = Object.assign({}, opts);
  if (o.data !== undefined) {
    o.body = JSON.stringify(o.data);
    o.headers = Object.assign({'Content-Type': 'application/json'}, o.headers || {});
  }
  const res = await send(path, o);
  if (!res.ok) await fail(res);
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
