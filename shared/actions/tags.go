package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// tag gives the followers of the batch's scans their scenes' tags: grouped by
// tag, at most 50 openids a batchtagging call. Tagging someone who has the tag
// already is no error on WeChat, so a retry may tag again; the marker written
// afterwards counts each push once and spares redeliveries the call.
func (a *Actions) tag(ctx context.Context, b *batch, recs []qr.ScanRecord) {
	byTag := map[string][]qr.ScanRecord{}
	var names []string
	for _, r := range recs {
		c := b.codes[r.Scene]
		if kindOf(r) != kindScan || c == nil || c.Tag == "" || b.progress[r.PushID].Tagged || b.stopped(r) {
			continue
		}
		if _, ok := byTag[c.Tag]; !ok {
			names = append(names, c.Tag)
		}
		byTag[c.Tag] = append(byTag[c.Tag], r)
	}
	for _, name := range names {
		group := byTag[name]
		if why := a.halt(ctx, b); why != "" {
			failAll(b, group, why+"; tagging waits for the retry")
			continue
		}
		id, err := a.tagID(ctx, name)
		if err != nil {
			a.tagFailed(ctx, b, group, name, err)
			continue
		}
		for start := 0; start < len(group); start += wechat.MaxBatchTagging {
			a.tagChunk(ctx, b, name, id, group[start:min(start+wechat.MaxBatchTagging, len(group))], true)
		}
	}
}

// tagChunk tags one call's worth of followers. WeChat refuses a whole list for
// one follower who holds 20 tags (45059) or one bad openid (40003, 49003)
// without saying which: the list is halved until the culprit is alone, so the
// others still get the tag (at most 2n-1 calls for n openids, and only then).
func (a *Actions) tagChunk(ctx context.Context, b *batch, name string, id int64, recs []qr.ScanRecord, retryUnknown bool) {
	if why := a.halt(ctx, b); why != "" {
		failAll(b, recs, why+"; tagging waits for the retry")
		return
	}
	openids := make([]string, 0, len(recs))
	dup := map[string]bool{}
	for _, r := range recs {
		if !dup[r.OpenID] {
			dup[r.OpenID] = true
			openids = append(openids, r.OpenID)
		}
	}
	err := a.call(ctx, func(tok string) error { return a.wx.BatchTag(ctx, tok, id, openids) })
	switch {
	case err == nil:
		for _, r := range recs {
			if _, err := a.store.MarkTagged(ctx, r, true); err != nil {
				// The follower has the tag; the retry tags again (harmless) and counts.
				// Erased meanwhile: the tag is theirs on WeChat, nothing is stored.
				a.refused(b, r, "marking tagged", err)
			}
		}
		a.log.Info("followers tagged", slog.String("tag", name), slog.Int64("tag_id", id), slog.Int("openids", len(openids)))
	case wechat.IsUnknownTag(err) && retryUnknown:
		// Deleted in WeChat's console since we kept its id: make it again.
		a.forgetTagID(name)
		nid, cerr := a.createTag(ctx, name)
		if cerr != nil {
			a.tagFailed(ctx, b, recs, name, cerr)
			return
		}
		a.tagChunk(ctx, b, name, nid, recs, false)
	case (wechat.IsUserTagLimit(err) || wechat.IsInvalidOpenID(err) || errors.Is(err, wechat.ErrInvalidRequest)) && len(openids) > 1:
		half := len(recs) / 2
		a.tagChunk(ctx, b, name, id, recs[:half], retryUnknown)
		a.tagChunk(ctx, b, name, id, recs[half:], retryUnknown)
	default:
		a.tagFailed(ctx, b, recs, name, err)
	}
}

// tagFailed reports a tagging failure: WeChat's refusals (limits, names, bad
// openids) are logged and counted as tag_failed, for good; anything else fails
// the records so that Lambda delivers them again.
func (a *Actions) tagFailed(ctx context.Context, b *batch, recs []qr.ScanRecord, name string, err error) {
	if unwell(err) {
		b.down.Store(true)
	}
	if classify(err) != qr.FollowupRefused || wechat.IsTokenError(err) {
		failAll(b, recs, fmt.Sprintf("tagging with %q: %v", name, err))
		return
	}
	a.log.Warn("tagging refused by WeChat; not retried", slog.String("tag", name), slog.Int("records", len(recs)), slog.String("error", err.Error()))
	for _, r := range recs {
		if _, merr := a.store.MarkTagged(ctx, r, false); merr != nil {
			a.refused(b, r, "marking a refused tagging", merr)
		}
	}
}

func failAll(b *batch, recs []qr.ScanRecord, why string) {
	for _, r := range recs {
		b.fail(r, why)
	}
}

// tagID finds the WeChat id of a tag name: from memory, from the scenes
// table, from WeChat's list, or by creating the tag.
func (a *Actions) tagID(ctx context.Context, name string) (int64, error) {
	a.mu.Lock()
	id, ok := a.tagIDs[name]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	id, ok, err := a.store.TagID(ctx, name)
	if err != nil {
		return 0, err
	}
	if ok {
		a.remember(name, id)
		return id, nil
	}
	// Made in WeChat's console, or by an instance that crashed before keeping it.
	if id, ok, err = a.lookupTag(ctx, name); err != nil || ok {
		return id, err
	}
	return a.createTag(ctx, name)
}

func (a *Actions) createTag(ctx context.Context, name string) (int64, error) {
	var t wechat.Tag
	err := a.call(ctx, func(tok string) (err error) { t, err = a.wx.CreateTag(ctx, tok, name); return err })
	if wechat.IsTagNameTaken(err) {
		// Another instance created it a moment ago (or the console did).
		id, ok, lerr := a.lookupTag(ctx, name)
		if lerr != nil || ok {
			return id, lerr
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	a.log.Info("tag created", slog.String("tag", name), slog.Int64("tag_id", t.ID))
	return t.ID, a.keep(ctx, name, t.ID)
}

func (a *Actions) lookupTag(ctx context.Context, name string) (int64, bool, error) {
	var tags []wechat.Tag
	err := a.call(ctx, func(tok string) (err error) { tags, err = a.wx.Tags(ctx, tok); return err })
	if err != nil {
		return 0, false, err
	}
	for _, t := range tags {
		if t.Name == name {
			return t.ID, true, a.keep(ctx, name, t.ID)
		}
	}
	return 0, false, nil
}

func (a *Actions) keep(ctx context.Context, name string, id int64) error {
	if err := a.store.SaveTagID(ctx, name, id); err != nil {
		return err
	}
	a.remember(name, id)
	return nil
}

func (a *Actions) remember(name string, id int64) {
	a.mu.Lock()
	a.tagIDs[name] = id
	a.mu.Unlock()
}

func (a *Actions) forgetTagID(name string) {
	a.mu.Lock()
	delete(a.tagIDs, name)
	a.mu.Unlock()
}
