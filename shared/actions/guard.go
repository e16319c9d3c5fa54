package actions

import (
	"context"

	"wechatqr/shared/wechat"
)

// Permissions checks an authorizer's calls (an account that authorized the
// stack's third-party platform grants it permission sets, docs/platform.md).
type Permissions interface {
	// MayCall returns nil when the account may call path now, else why not.
	MayCall(ctx context.Context, path string) error
	// Refused notes that WeChat refused path for a missing permission set
	// (61007), so that the next call is refused before WeChat is asked.
	Refused(ctx context.Context, path string) error
}

// The paths of the calls the actions make, as wechat.PermissionsFor names them.
const (
	pathTagsGet      = "/cgi-bin/tags/get"
	pathTagsCreate   = "/cgi-bin/tags/create"
	pathBatchTag     = "/cgi-bin/tags/members/batchtagging"
	pathCustomSend   = "/cgi-bin/message/custom/send"
	errmsgNotGranted = "api is unauthorized to component (refused here, before WeChat was asked): "
)

// Guard returns w with every call checked by p first. A call p refuses fails
// as WeChat itself would refuse it, with 61007: the actions then count it as
// refused (a tag failed, a follow-up not sent) and do not retry it, exactly
// as after WeChat's answer. WeChat's own 61007 is passed to p.Refused.
func Guard(w WeChat, p Permissions) WeChat { return guarded{w, p} }

type guarded struct {
	next WeChat
	p    Permissions
}

func (g guarded) check(ctx context.Context, path string) error {
	if err := g.p.MayCall(ctx, path); err != nil {
		return &wechat.APIError{Code: wechat.CodeAPIUnauthorized, Message: errmsgNotGranted + err.Error()}
	}
	return nil
}

func (g guarded) observe(ctx context.Context, path string, err error) error {
	if wechat.IsPermissionMissing(err) {
		_ = g.p.Refused(ctx, path) // best effort: the refusal stands either way
	}
	return err
}

func (g guarded) Tags(ctx context.Context, accessToken string) ([]wechat.Tag, error) {
	if err := g.check(ctx, pathTagsGet); err != nil {
		return nil, err
	}
	tags, err := g.next.Tags(ctx, accessToken)
	return tags, g.observe(ctx, pathTagsGet, err)
}

func (g guarded) CreateTag(ctx context.Context, accessToken, name string) (wechat.Tag, error) {
	if err := g.check(ctx, pathTagsCreate); err != nil {
		return wechat.Tag{}, err
	}
	tag, err := g.next.CreateTag(ctx, accessToken, name)
	return tag, g.observe(ctx, pathTagsCreate, err)
}

func (g guarded) BatchTag(ctx context.Context, accessToken string, tagID int64, openids []string) error {
	if err := g.check(ctx, pathBatchTag); err != nil {
		return err
	}
	return g.observe(ctx, pathBatchTag, g.next.BatchTag(ctx, accessToken, tagID, openids))
}

func (g guarded) SendCustomMessage(ctx context.Context, accessToken string, msg wechat.CustomMessage) error {
	if err := g.check(ctx, pathCustomSend); err != nil {
		return err
	}
	return g.observe(ctx, pathCustomSend, g.next.SendCustomMessage(ctx, accessToken, msg))
}
