// How the console starts an authorization of the stack's third-party platform
// (POST /platform/authorizations) and shows an authorized account: its
// avatar, its type and verification, its permission sets and what stops the
// stack acting for it. Imported by the Accounts and return pages only.
import {h} from './dom.js';
import {t} from './i18n.js';
import {json} from './api.js';
import {returnPath} from './platform.js';

// start asks for a fresh authorization page, coming back to the return page
// of the console the reader is on: {url, mobile_url, expires_at}.
export function start() {
  return json('/platform/authorizations', {method: 'POST', data: {redirect_uri: location.origin + returnPath}, global: true});
}

// avatarURL is an account's head_img as the CSP lets it load: WeChat's avatars
// are on wx.qlogo.cn, given as http: (mixed content on an https console), and
// served there over https too; '' for anything else.
export function avatarURL(headImg) {
  let u;
  try { u = new URL(headImg); } catch (_) { return ''; }
  if (u.hostname !== 'wx.qlogo.cn' || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.port || u.username) return '';
  u.protocol = 'https:';
  return u.href;
}

// avatar is the account's image, decorative beside its name ('' alt), or null.
export function avatar(a, size = 32) {
  const src = a.head_img ? avatarURL(a.head_img) : '';
  return src ? h('img', {class: 'avatar', src, alt: '', width: size, height: size, loading: 'lazy', referrerpolicy: 'no-referrer',
    dataset: {test: 'avatar'}}) : null;
}

// Named with literal keys, so that the catalogs' test sees them.
const serviceTypes = {0: () => t('platform.typeSubscription'), 1: () => t('platform.typeUpgraded'), 2: () => t('platform.typeService')};
const setNames = {1: () => t('platform.set.messages'), 2: () => t('platform.set.users'), 3: () => t('platform.set.accountService')};

// typeLabel is an authorizer's type and verification, e.g. "Service account, WeChat-verified".
export function typeLabel(a) {
  const st = a.service_type;
  const kind = st === undefined || st === null ? '' : serviceTypes[st] ? serviceTypes[st]() : t('platform.typeOther', {n: st});
  const vt = a.verify_type;
  let verified = '';
  if (vt === -1) verified = t('platform.unverified');
  else if (vt === 0) verified = t('platform.verifiedWeChat');
  else if (vt !== undefined && vt !== null) verified = t('platform.verifiedOther', {n: vt});
  return kind && verified ? t('platform.typeAndVerified', {type: kind, verified}) : kind || verified;
}

// setName names a permission set (funcscope id): the three the stack's calls
// need by name, others by number.
export function setName(id) {
  return setNames[id] ? t('platform.setNamed', {name: setNames[id](), n: id}) : t('platform.setNumber', {n: id});
}

// setList names permission sets, e.g. "Message management (1), User management (2)".
export function setList(ids) {
  return (ids || []).map(setName).join(t('platform.listSeparator'));
}

// warnings are what stops the stack acting for an authorizer, as the Accounts
// page shows them: sets WeChat refused since it was granted, a needed
// re-authorization, a revoked authorization.
export function warnings(a) {
  const out = [];
  if (a.status === 'revoked') out.push(t('accounts.revokedWarning'));
  if (a.missing_permissions && a.missing_permissions.length) {
    out.push(t('accounts.missingWarning', {sets: setList(a.missing_permissions)}));
  }
  if (a.needs_reauthorization) {
    out.push(a.reauthorization_reason ? t('accounts.reauthorizeWarningWhy', {reason: a.reauthorization_reason}) : t('accounts.reauthorizeWarning'));
  }
  return out.map(s => h('p', {class: 'warning', dataset: {test: 'permission-warning'}}, s));
}

// features are what the stack does for an account and the permission sets
// each needs (any one of them), as the API checks them (docs/platform.md).
const features = [
  {key: 'platform.featureCodes', sets: [3]},
  {key: 'platform.featureTags', sets: [2, 100]},
  {key: 'platform.featureMessages', sets: [1, 6, 19, 100, 101]},
];

// notes say, before anything is refused, which of the stack's features an
// active authorizer has not granted the sets for: its administrator may
// re-authorize and grant them.
export function notes(a) {
  if (a.status !== 'active') return [];
  const granted = a.permissions || [];
  return features.filter(f => !f.sets.some(s => granted.includes(s)))
    .map(f => h('p', {class: 'note', dataset: {test: 'permission-note'}}, t('platform.notGranted', {feature: t(f.key), set: setName(f.sets[0])})));
}
