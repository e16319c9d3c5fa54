package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"wechatqr/shared/qr"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// TestFailAnswersOnlyOutagesWith503 is the table from an error to what the
// caller sees: 503 only for a dependency that is down, WeChat's refusals as 502
// with their errcode, the caller's mistakes as 4xx, and anything unclassified as
// a 500 that shows nothing of the error (which is logged).
func TestFailAnswersOnlyOutagesWith503(t *testing.T) {
	connRefused := &url.Error{Op: "Post", URL: "https://api.weixin.qq.com/cgi-bin/qrcode/create", Err: errors.New("dial tcp: connection refused")}
	tests := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		// Outages: retrying shortly may work.
		{"WeChat busy (-1)", fmt.Errorf("create: %w", &wechat.APIError{Code: wechat.CodeSystemBusy, Message: "system error"}),
			503, `{"error":"unavailable","message":"WeChat is busy (errcode -1); retry shortly","errcode":-1,"errmsg":"system error"}`},
		{"WeChat's way answers 503", &wechat.HTTPError{Method: "POST", Path: "/cgi-bin/qrcode/create", StatusCode: 503},
			503, `{"error":"unavailable","message":"WeChat did not answer; retry shortly"}`},
		{"WeChat's way answers 500", fmt.Errorf("create: %w", &wechat.HTTPError{StatusCode: 500}),
			503, `{"error":"unavailable","message":"WeChat did not answer; retry shortly"}`},
		{"WeChat's way answers 429", &wechat.HTTPError{StatusCode: 429},
			503, `{"error":"unavailable","message":"WeChat did not answer; retry shortly"}`},
		{"WeChat unreachable", fmt.Errorf("create: %w", connRefused),
			503, `{"error":"unavailable","message":"WeChat did not answer; retry shortly"}`},
		{"WeChat out of time", fmt.Errorf("create: %w", context.DeadlineExceeded),
			503, `{"error":"unavailable","message":"WeChat did not answer; retry shortly"}`},
		{"no access token yet", fmt.Errorf("token: %w", token.ErrUnavailable),
			503, `{"error":"unavailable","message":"no WeChat access token is available yet; retry shortly"}`},
		// The store's outage names the database, though a network error is in its chain.
		{"DynamoDB outage", fmt.Errorf("dynamo: get code: %w: %w", qr.Errorf(qr.EUnavailable, "the database is unavailable; retry shortly"), connRefused),
			503, `{"error":"unavailable","message":"the database is unavailable; retry shortly"}`},

		// WeChat answered, and refused.
		{"WeChat's daily quota", &wechat.APIError{Code: wechat.CodeDailyQuota, Message: "reach max api daily quota limit"},
			502, `{"error":"wechat","message":"WeChat refused the request: wechat: errcode 45009: reach max api daily quota limit","errcode":45009,"errmsg":"reach max api daily quota limit"}`},
		{"WeChat's permanent-code limit", &wechat.APIError{Code: wechat.CodeQRCodeCountLimit, Message: "qrcode count out of limit"},
			409, `{"error":"quota","message":"WeChat says the account holds its limit of permanent codes","errcode":45029,"errmsg":"qrcode count out of limit"}`},
		{"a 404 on the way to WeChat", &wechat.HTTPError{StatusCode: 404},
			502, `{"error":"wechat","message":"WeChat did not answer properly"}`},
		{"an answer that is not WeChat's JSON", fmt.Errorf("%w: not JSON", wechat.ErrInvalidResponse),
			502, `{"error":"wechat","message":"WeChat did not answer properly"}`},

		// The caller's mistakes.
		{"invalid", qr.Errorf(qr.EInvalid, "scene is empty"), 400, `{"error":"invalid","message":"scene is empty"}`},
		{"not found", qr.Errorf(qr.ENotFound, "no scene x"), 404, `{"error":"not_found","message":"no scene x"}`},
		{"conflict", qr.Errorf(qr.EConflict, "x exists"), 409, `{"error":"conflict","message":"x exists"}`},
		{"quota", qr.Errorf(qr.EQuota, "100,000 codes"), 409, `{"error":"quota","message":"100,000 codes"}`},
		{"a request WeChat would refuse", fmt.Errorf("%w: expire_seconds", wechat.ErrInvalidRequest), 400, `{"error":"invalid","message":"wechat: invalid request: expire_seconds"}`},
		{"too large", &tooLarge{max: 10}, 413, `{"error":"too_large","message":"body: over 10 bytes"}`},

		// Ours: nothing shown.
		{"unclassified", errors.New("dynamo: put code: AccessDeniedException: table arn:aws:dynamodb:secret"),
			500, `{"error":"internal","message":"internal error"}`},
		{"internal, with a message", qr.Errorf(qr.EInternal, "a detail for the log"), 500, `{"error":"internal","message":"internal error"}`},
		{"an unknown code", &qr.Error{Code: "strange", Message: "a detail for the log"}, 500, `{"error":"internal","message":"internal error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := &Handler{log: slog.New(slog.NewJSONHandler(&logs, nil))}
			w := httptest.NewRecorder()
			h.fail(w, httptest.NewRequest("POST", "/qrcodes", nil), tt.err)
			if w.Code != tt.status || strings.TrimSpace(w.Body.String()) != tt.body {
				t.Errorf("got %d %s\nwant %d %s", w.Code, w.Body, tt.status, tt.body)
			}
			var line struct {
				Level  string
				Status int
				Error  string
			}
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			wantLevel := "INFO"
			if tt.status >= 500 {
				wantLevel = "ERROR"
			}
			if line.Level != wantLevel || line.Status != tt.status || line.Error != tt.err.Error() {
				t.Errorf("logged %s, want level %s, status %d and the whole error %q", logs.String(), wantLevel, tt.status, tt.err)
			}
		})
	}
}
