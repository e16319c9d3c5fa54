// A reply editor (text, news, image) with WeChat's limits checked as the API
// checks them (shared/qr: Reply.Validate), and the API's own message shown
// beside the field it names.
import {h, field, setError, bytes} from './dom.js';
import {t} from './i18n.js';

export const limits = {text: 2048, title: 64, description: 256, url: 1024, mediaID: 128};

// replyEditor: prefix names the controls (#<prefix>-type, -content, -title,
// -description, -pic-url, -url, -media-id). allowNone adds "no reply".
// opts.legend titles the fieldset (default: the scan's reply); opts.name is
// the field the API names in its messages ("reply", "followups[1]").
export function replyEditor(prefix, initial, allowNone, opts = {}) {
  const name = opts.name || 'reply';
  const r = initial || {type: allowNone ? '' : 'text'};
  const art = (r.articles && r.articles[0]) || {};
  const type = h('select', {id: prefix + '-type'},
    allowNone ? h('option', {value: ''}, t('reply.typeNone')) : null,
    ['text', 'news', 'image'].map(v => h('option', {value: v, selected: r.type === v}, t('reply.type.' + v))));
  const content = h('textarea', {id: prefix + '-content', rows: 4, value: r.content || ''});
  const title = h('input', {type: 'text', id: prefix + '-title', value: art.title || ''});
  const description = h('textarea', {id: prefix + '-description', rows: 2, value: art.description || ''});
  const picURL = h('input', {type: 'url', id: prefix + '-pic-url', value: art.pic_url || ''});
  const url = h('input', {type: 'url', id: prefix + '-url', value: art.url || ''});
  const mediaID = h('input', {type: 'text', id: prefix + '-media-id', value: r.media_id || ''});
  const parts = {
    text: h('div', {class: 'reply-part'}, field(t('reply.content'), content, t('reply.contentHint', {n: limits.text}))),
    news: h('div', {class: 'reply-part'},
      field(t('reply.title'), title, t('reply.bytesHint', {n: limits.title})),
      field(t('reply.description'), description, t('reply.bytesHint', {n: limits.description})),
      field(t('reply.picURL'), picURL), field(t('reply.url'), url)),
    image: h('div', {class: 'reply-part'}, field(t('reply.mediaID'), mediaID, t('reply.mediaIDHint'))),
  };
  const general = h('p', {class: 'error', role: 'alert', id: prefix + '-error'});
  const el = h('fieldset', {class: 'reply', id: prefix},
    h('legend', {}, opts.legend || t('reply.legend')), field(t('reply.typeLabel'), type), parts.text, parts.news, parts.image, general);
  const show = () => { for (const [k, p] of Object.entries(parts)) p.hidden = type.value !== k; };
  type.addEventListener('change', show);
  show();

  const controls = [type, content, title, description, picURL, url, mediaID];
  function clear() { controls.forEach(c => setError(c, '')); general.textContent = ''; }

  // get returns the reply (null for none) or throws after marking the field.
  function get() {
    clear();
    const fail = (c, msg) => { setError(c, msg); c.focus(); throw new Error(msg); };
    switch (type.value) {
      case '': return null;
      case 'text':
        if (!content.value) fail(content, t('reply.errContent', {n: limits.text}));
        if (bytes(content.value) > limits.text) fail(content, t('reply.errTooLong', {n: bytes(content.value), max: limits.text}));
        return {type: 'text', content: content.value};
      case 'news': {
        if (!title.value || bytes(title.value) > limits.title) fail(title, t('reply.errTitle', {max: limits.title}));
        if (bytes(description.value) > limits.description) fail(description, t('reply.errTooLong', {n: bytes(description.value), max: limits.description}));
        for (const c of [picURL, url]) if (bytes(c.value) > limits.url) fail(c, t('reply.errTooLong', {n: bytes(c.value), max: limits.url}));
        const a = {title: title.value};
        if (description.value) a.description = description.value;
        if (picURL.value) a.pic_url = picURL.value;
        if (url.value) a.url = url.value;
        return {type: 'news', articles: [a]};
      }
      case 'image':
        if (!mediaID.value || bytes(mediaID.value) > limits.mediaID) fail(mediaID, t('reply.errMediaID', {max: limits.mediaID}));
        return {type: 'image', media_id: mediaID.value};
    }
    return {type: type.value}; // a type this editor does not know: the API says why not
  }

  // showError puts an API message beside the field it names ("reply.content: …").
  function showError(message) {
    const byField = [['.content', content], ['.articles[0].title', title], ['.articles[0].description', description],
      ['.articles[0].url', url], ['.media_id', mediaID], ['.type', type]];
    for (const [f, c] of byField) {
      if (message.startsWith(name + f + ':')) { setError(c, message); return true; }
    }
    if (message.startsWith(name + ':') || message.startsWith(name + '.')) { general.textContent = message; return true; }
    return false;
  }

  // raw is what the controls hold, unchecked, shaped like a reply: to rebuild
  // an editor elsewhere (a follow-up moving up a place) without losing input.
  function raw() {
    return {type: type.value, content: content.value, media_id: mediaID.value,
      articles: [{title: title.value, description: description.value, pic_url: picURL.value, url: url.value}]};
  }

  return {el, get, showError, clear, raw};
}
