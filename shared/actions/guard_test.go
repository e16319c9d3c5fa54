package actions

import (
	"context"
	"errors"
	"testing"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// grantsOf allows the paths in ok and records what WeChat refused.
type grantsOf struct {
	ok      map[string]bool
	refused []string
}

func (g *grantsOf) MayCall(_ context.Context, path string) error {
	if g.ok[path] {
		return nil
	}
	return qr.Errorf(qr.EPermissionMissing, "not granted: %s", path)
}

func (g *grantsOf) Refused(_ context.Context, path string) error {
	g.refused = append(g.refused, path)
	return nil
}

// callsOf counts the calls that reach WeChat and answers each with err.
type callsOf struct {
	n   int
	err error
}

func (c *callsOf) Tags(context.Context, string) ([]wechat.Tag, error) { c.n++; return nil, c.err }
func (c *callsOf) CreateTag(context.Context, string, string) (wechat.Tag, error) {
	c.n++
	return wechat.Tag{}, c.err
}
func (c *callsOf) BatchTag(context.Context, string, int64, []string) error { c.n++; return c.err }
func (c *callsOf) SendCustomMessage(context.Context, string, wechat.CustomMessage) error {
	c.n++
	return c.err
}

func TestGuardRefusesUngrantedCallsAsWeChatWouldWithoutCallingIt(t *testing.T) {
	calls := map[string]func(w WeChat) error{
		pathTagsGet:    func(w WeChat) error { _, err := w.Tags(context.Background(), "t"); return err },
		pathTagsCreate: func(w WeChat) error { _, err := w.CreateTag(context.Background(), "t", "n"); return err },
		pathBatchTag:   func(w WeChat) error { return w.BatchTag(context.Background(), "t", 1, []string{"o"}) },
		pathCustomSend: func(w WeChat) error {
			return w.SendCustomMessage(context.Background(), "t", wechat.CustomMessage{ToUser: "o", MsgType: wechat.MsgText, Content: "hi"})
		},
	}
	for path, call := range calls {
		t.Run(path, func(t *testing.T) {
			next := &callsOf{}
			err := call(Guard(next, &grantsOf{}))
			if !wechat.IsPermissionMissing(err) || next.n != 0 {
				t.Fatalf("an ungranted call: %v after %d calls to WeChat; want 61007 and none", err, next.n)
			}
			if classify(err) != qr.FollowupRefused {
				t.Errorf("the refusal classifies as %v; want refused (counted, not retried)", classify(err))
			}
			next = &callsOf{}
			if err := call(Guard(next, &grantsOf{ok: map[string]bool{path: true}})); err != nil || next.n != 1 {
				t.Fatalf("a granted call: %v after %d calls; want one call", err, next.n)
			}
			g := &grantsOf{ok: map[string]bool{path: true}}
			next = &callsOf{err: &wechat.APIError{Code: wechat.CodeAPIUnauthorized, Message: "api is unauthorized to component"}}
			if err := call(Guard(next, g)); !wechat.IsPermissionMissing(err) || len(g.refused) != 1 || g.refused[0] != path {
				t.Errorf("WeChat's 61007: %v, noted %v; want it passed on and %s noted", err, g.refused, path)
			}
			next = &callsOf{err: errors.New("boom")}
			_ = call(Guard(next, g))
			if len(g.refused) != 1 {
				t.Errorf("another failure was noted as a missing set: %v", g.refused)
			}
		})
	}
}
