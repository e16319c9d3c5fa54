// Small views of a code shared by the pages.
import {t} from './i18n.js';
import {href} from './accounts.js';

// sceneHref is the link to a code's page, in the account the console works on.
export function sceneHref(scene) { return href('/code/' + encodeURIComponent(scene)); }

// replySummary is one line of a reply, as text.
export function replySummary(r) {
  if (!r) return t('reply.none');
  switch (r.type) {
    case 'text': return oneLine(r.content || '');
    case 'news': return t('reply.newsSummary', {title: oneLine((r.articles && r.articles[0] && r.articles[0].title) || '')});
    case 'image': return t('reply.imageSummary', {id: r.media_id || ''});
  }
  return r.type;
}

function oneLine(s) {
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > 60 ? s.slice(0, 59) + '…' : s;
}

// sceneValue is the scene as POST /qrcodes takes it: a number for numeric actions.
export function sceneValue(c) {
  return c.action_name === 'QR_SCENE' || c.action_name === 'QR_LIMIT_SCENE' ? Number(c.scene) : c.scene;
}
