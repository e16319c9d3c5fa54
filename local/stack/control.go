package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/wechat/wechattest"
)

// ControlPath is where the front takes local-only commands (a simulated scan),
// so that `make scan` in another terminal can drive the emulator that lives in
// the `make run` process. Nothing under it exists when deployed.
const ControlPath = "/_local/"

// ScanResult is what a simulated scan did.
type ScanResult struct {
	Event  string `json:"event"`  // subscribe for a new follower, SCAN for a follower
	Mode   string `json:"mode"`   // plaintext, compatible, safe
	Status int    `json:"status"` // the callback's HTTP status
	Reply  string `json:"reply"`  // the reply, decrypted in safe mode
	// Followups are the customer-service messages the follower received from the scan
	// actions once the stream mapping had handed them the scan, as the follower sees them.
	Followups []string `json:"followups,omitempty"`
	// Tags are the names of the tags the follower holds afterwards.
	Tags []string `json:"tags,omitempty"`
	// Actions says why Followups and Tags may be missing ("" when the actions ran).
	Actions string `json:"actions,omitempty"`
}

// actionsAfter waits for the stream mappings to hand over what the scan wrote, then reads what
// the follower received from the scan actions: messages after the first before, and tags.
func (s *Stack) actionsAfter(ctx context.Context, p *wechattest.Platform, openid string, before int) (followups, tags []string, why string) {
	if s.aws == nil || len(s.aws.mappings) == 0 {
		return nil, nil, "no function on the stream runs in this stack"
	}
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.StreamIdle(wait); err != nil {
		why = "the stream mapping is still busy: " + err.Error()
	}
	msgs := p.Messages(openid)
	for _, m := range msgs[min(before, len(msgs)):] {
		followups = append(followups, m.String())
	}
	held := map[int64]bool{}
	for _, id := range p.UserTags(openid) {
		held[id] = true
	}
	for _, t := range p.Tags() {
		if held[t.ID] {
			tags = append(tags, t.Name)
		}
	}
	return followups, tags, why
}

// ParseMode reads a message mode's name.
func ParseMode(s string) (wechattest.Mode, error) {
	switch s {
	case "", "plaintext":
		return wechattest.Plaintext, nil
	case "compatible":
		return wechattest.Compatible, nil
	case "safe":
		return wechattest.Safe, nil
	}
	return 0, fmt.Errorf("mode %q is not plaintext, compatible or safe", s)
}

// Control serves ControlPath: POST scan?scene=&openid=&mode=[&appid=] has the
// emulator send the push WeChat would send for that scan to the account's
// callback URL under base (base/wechat for the default account, base/wechat/<appid>
// for another), and answers with the result.
func (s *Stack) Control(base string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ControlPath+"scan", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		scene, openid := q.Get("scene"), q.Get("openid")
		mode, err := ParseMode(q.Get("mode"))
		if scene == "" || openid == "" || err != nil {
			http.Error(w, "scan takes scene, openid and mode (plaintext, compatible or safe)", http.StatusBadRequest)
			return
		}
		p, callbackURL := s.Platform, base+"/wechat"
		if appID := q.Get("appid"); appID != "" && appID != p.Config().AppID {
			if p = s.Network.Platform(appID); p == nil {
				http.Error(w, fmt.Sprintf("the emulator has no account %q: it has %s", appID, strings.Join(s.Network.AppIDs(), ", ")), http.StatusBadRequest)
				return
			}
			callbackURL += "/" + appID
			if s.Component != nil {
				if _, ok := s.Component.Grants(appID); ok {
					// An authorizer's pushes come sealed with the platform's keys, always.
					mode = wechattest.Safe
				}
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		before := len(p.Messages(openid))
		push, err := p.ScanScene(ctx, callbackURL, openid, scene, mode)
		if err != nil {
			http.Error(w, "the emulator could not deliver the push: "+err.Error(), http.StatusBadGateway)
			return
		}
		res := ScanResult{Event: push.Event, Mode: mode.String(), Status: push.Status(), Reply: string(push.Reply())}
		res.Followups, res.Tags, res.Actions = s.actionsAfter(ctx, p, openid, before)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("POST "+ControlPath+"authorize", func(w http.ResponseWriter, r *http.Request) {
		appID := r.URL.Query().Get("appid")
		if !accounts.ValidAppID(appID) {
			http.Error(w, "authorize takes appid: wx and 16 letters or digits", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		a, err := s.Authorize(ctx, base, appID, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a)
	})
	return mux
}
