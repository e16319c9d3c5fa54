package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

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

// Control serves ControlPath: POST scan?scene=&openid=&mode= has the emulator send
// the push WeChat would send for that scan to callbackURL, and answers with the result.
func (s *Stack) Control(callbackURL string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ControlPath+"scan", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		scene, openid := q.Get("scene"), q.Get("openid")
		mode, err := ParseMode(q.Get("mode"))
		if scene == "" || openid == "" || err != nil {
			http.Error(w, "scan takes scene, openid and mode (plaintext, compatible or safe)", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		push, err := s.Platform.ScanScene(ctx, callbackURL, openid, scene, mode)
		if err != nil {
			http.Error(w, "the emulator could not deliver the push: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ScanResult{Event: push.Event, Mode: mode.String(), Status: push.Status(), Reply: string(push.Reply())})
	})
	return mux
}
