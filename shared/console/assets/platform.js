// The stack as a WeChat third-party platform, as app.js needs it at boot:
// whether it is one (config.json's "platform") and whether the reader may
// connect accounts through it (an administrator: the Cognito group admins, or
// everyone locally; the API decides on every request, this only spares others
// a button that would be refused), and the code WeChat's redirect brings back
// to /console/platform/return, kept for the return page. How an authorized
// account is shown is authorizer.js's, loaded with the pages that show one.

// The page WeChat sends the administrator back to (console.ReturnPath).
export const returnPath = '/console/platform/return';
// The console's route that completes it once the code is out of the address.
export const returnRoute = '#/platform/return';

const pendingKey = 'wechatqr.console.authCode';
let isPlatform = false;
let isAdmin = true;

// configure takes config.json and the session (null locally: everyone manages).
export function configure(config, session) {
  isPlatform = !!(config && config.platform);
  isAdmin = !session || !!session.admin;
}

// available: the Connect and Re-authorize buttons are offered.
export function available() { return isPlatform && isAdmin; }

// takeReturn runs first thing at boot: on WeChat's redirect
// (/console/platform/return?auth_code=…&expires_in=600) it keeps the code in
// this tab's sessionStorage and rewrites the address to /console#/platform/return,
// so that the code neither stays in the address bar and history nor reaches
// a sign-in redirect, which comes back to /console (auth.js) with the route.
export function takeReturn() {
  if (location.pathname !== returnPath) return;
  const q = new URLSearchParams(location.search);
  const code = q.get('auth_code');
  if (code) {
    try { sessionStorage.setItem(pendingKey, JSON.stringify({code, at: Date.now()})); } catch (_) { /* storage off: the page says so */ }
  }
  history.replaceState(null, '', '/console' + returnRoute);
}

// pendingCode returns the code takeReturn kept (once: it is forgotten), or ''.
export function pendingCode() {
  let p = null;
  try {
    p = JSON.parse(sessionStorage.getItem(pendingKey) || 'null');
    sessionStorage.removeItem(pendingKey);
  } catch (_) { /* none */ }
  // WeChat's auth_code lives 10 minutes (expires_in=600): an older one is no use.
  return p && p.code && Date.now() - p.at < 600e3 ? String(p.code) : '';
}
