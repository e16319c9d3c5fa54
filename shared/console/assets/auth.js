// Sign-in for the deployed console: Amazon Cognito's hosted sign-in with the
// authorization code flow and PKCE (S256), for a public app client (no secret).
//
// For app.js / api.js (console-ui): app.js imports this module by the URL
// config.json names in "auth_module" and calls `await start(config)`. It either
// navigates to the sign-in page (and never resolves) or returns the session
// api.js's useSession() takes: {authorize(headers), onUnauthorized(), user,
// admin (the access token names the group admins), signOut()}. Every data
// request must go through api.js's send(), which calls
// `await session.authorize(headers)` (adds `Authorization: Bearer <access
// token>`, refreshing it first when it is about to expire) and, on a 401,
// `await session.onUnauthorized()` (true: retry once with a refreshed token;
// otherwise it has gone to sign in). Do not call fetch() on /console/api/
// directly.
//
// config.json (written by the qrcode function from shared/consoleauth):
// {"auth":"cognito","domain":"https://<prefix>.auth.<region>.amazoncognito.com",
//  "client_id":"…","scopes":"openid email","token_endpoint":"<domain>/oauth2/token",
//  "auth_module":"/console/assets/auth.<hash>.js"}
//
// Tokens live in sessionStorage (this tab only, gone when it closes), never in a
// cookie: the API reads only the Authorization header, so there is no CSRF
// surface. The id token is read for the user's email to display, nothing else:
// the function verifies the access token on every request.

const KEY = 'console.auth';       // {access, id, refresh, expires} in sessionStorage
const PENDING = 'console.auth.pending'; // {state, verifier, hash} during a sign-in
const SKEW_MS = 60 * 1000;        // refresh this long before the access token expires

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return b64url(a);
}

async function challenge(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

function load(key) {
  try { return JSON.parse(sessionStorage.getItem(key) || 'null'); } catch (_) { return null; }
}

function save(key, value) {
  if (value === null) sessionStorage.removeItem(key);
  else sessionStorage.setItem(key, JSON.stringify(value));
}

// claims decodes a JWT's payload for display; it proves nothing.
function claims(jwt) {
  try {
    const p = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(Array.from(atob(p), c => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('')));
  } catch (_) { return {}; }
}

function redirectURI() { return location.origin + location.pathname; }

function waitForever() { return new Promise(() => {}); }

async function signIn(config) {
  const verifier = random(48); // 64 characters, within RFC 7636's 43..128
  const state = random(24);
  save(PENDING, {state, verifier, hash: location.hash});
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: config.client_id,
    redirect_uri: redirectURI(),
    scope: config.scopes || 'openid email',
    state,
    code_challenge: await challenge(verifier),
    code_challenge_method: 'S256',
  });
  location.assign(config.domain + '/oauth2/authorize?' + q);
  return waitForever();
}

async function tokenRequest(config, params) {
  const res = await fetch(config.token_endpoint || config.domain + '/oauth2/token', {
    method: 'POST',
    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams(Object.assign({client_id: config.client_id}, params)),
    cache: 'no-store',
    credentials: 'omit',
  });
  let body = {};
  try { body = await res.json(); } catch (_) { /* keep {} */ }
  if (!res.ok) {
    const err = new Error('sign-in failed: ' + (body.error_description || body.error || 'HTTP ' + res.status));
    err.code = body.error || '';
    throw err;
  }
  return body;
}

function store(body, previous) {
  const t = {
    access: body.access_token,
    id: body.id_token || (previous && previous.id) || '',
    // A refresh answer carries no new refresh token: keep the one we have.
    refresh: body.refresh_token || (previous && previous.refresh) || '',
    expires: Date.now() + (Number(body.expires_in) || 3600) * 1000,
  };
  save(KEY, t);
  return t;
}

async function refresh(config, t) {
  if (!t || !t.refresh) return null;
  try {
    return store(await tokenRequest(config, {grant_type: 'refresh_token', refresh_token: t.refresh}), t);
  } catch (_) {
    save(KEY, null);
    return null;
  }
}

// finishSignIn takes the code the hosted sign-in sent back, checks the state,
// and trades the code and the PKCE verifier for tokens.
async function finishSignIn(config, params) {
  const pending = load(PENDING);
  save(PENDING, null);
  const clean = () => history.replaceState(null, '', location.pathname + ((pending && pending.hash) || ''));
  if (params.get('error')) {
    clean();
    throw new Error('sign-in refused: ' + (params.get('error_description') || params.get('error')));
  }
  if (!pending || params.get('state') !== pending.state) {
    clean();
    return null; // a stale or forged answer: start over
  }
  const body = await tokenRequest(config, {
    grant_type: 'authorization_code',
    code: params.get('code'),
    redirect_uri: redirectURI(),
    code_verifier: pending.verifier,
  });
  clean();
  return store(body, null);
}

export async function start(config) {
  // "unconfigured": the function has no user pool; its message says what is missing.
  if (config.auth !== 'cognito') throw new Error(config.message || 'sign-in "' + config.auth + '" is not supported');
  if (!config.domain || !config.client_id) throw new Error('config.json lacks the sign-in domain or client id');
  const params = new URLSearchParams(location.search);
  let t = null;
  if (params.has('code') || params.has('error')) t = await finishSignIn(config, params);
  if (!t) t = load(KEY);
  if (t && t.expires - SKEW_MS <= Date.now()) t = await refresh(config, t);
  if (!t || !t.access) return signIn(config);

  const user = claims(t.id).email || claims(t.access).username || '';
  // For what to offer (platform.js: connecting accounts), not for what is
  // allowed: the function checks the groups of the token on every request.
  const groups = claims(t.access)['cognito:groups'];
  return {
    user,
    admin: Array.isArray(groups) && groups.includes('admins'),
    async authorize(headers) {
      let cur = load(KEY);
      if (cur && cur.expires - SKEW_MS <= Date.now()) cur = await refresh(config, cur);
      if (!cur) return signIn(config);
      headers.Authorization = 'Bearer ' + cur.access;
    },
    async onUnauthorized() {
      const cur = await refresh(config, load(KEY));
      if (cur) return true;
      await signIn(config);
      return false;
    },
    async signOut() {
      const cur = load(KEY);
      save(KEY, null);
      if (cur && cur.refresh) {
        // Revoke the refresh token so a copy of it is useless; best effort.
        try {
          await fetch(config.domain + '/oauth2/revoke', {
            method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
            body: new URLSearchParams({token: cur.refresh, client_id: config.client_id}), credentials: 'omit',
          });
        } catch (_) { /* signing out locally is what matters */ }
      }
      location.assign(config.domain + '/logout?' + new URLSearchParams({client_id: config.client_id, logout_uri: redirectURI()}));
      return waitForever();
    },
  };
}
