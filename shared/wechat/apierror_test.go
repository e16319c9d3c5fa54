package wechat_test

import (
	"errors"
	"fmt"
	"testing"

	"wechatqr/shared/wechat"
)

func TestHelpersSeeThroughWrapping(t *testing.T) {
	err := fmt.Errorf("refreshing: %w", &wechat.APIError{Code: 42001, Message: "access_token expired"})
	if !wechat.IsTokenError(err) || wechat.IsQuotaError(err) || wechat.IsBusy(err) || wechat.IsIPNotWhitelisted(err) {
		t.Error("helpers misclassify a wrapped 42001")
	}
	if wechat.IsTokenError(errors.New("errcode 42001")) {
		t.Error("a string is not an *APIError")
	}
	if _, ok := wechat.ErrCode(nil); ok {
		t.Error("ErrCode(nil) found a code")
	}
}

func TestAPIErrorHelpersClassifyCodes(t *testing.T) {
	tests := []struct {
		code                      int
		token, quota, busy, ipErr bool
	}{
		{-1, false, false, true, false},
		{40001, true, false, false, false},
		{40014, true, false, false, false},
		{42001, true, false, false, false},
		{41001, true, false, false, false},
		{45009, false, true, false, false},
		{45011, false, true, false, false},
		{45029, false, true, false, false},
		{40164, false, false, false, true},
		{61004, false, false, false, true},
		{40013, false, false, false, false},
		{40125, false, false, false, false},
		{48001, false, false, false, false},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &wechat.APIError{Code: tt.code, Message: "m"})
		got := [4]bool{wechat.IsTokenError(err), wechat.IsQuotaError(err), wechat.IsBusy(err), wechat.IsIPNotWhitelisted(err)}
		want := [4]bool{tt.token, tt.quota, tt.busy, tt.ipErr}
		if got != want {
			t.Errorf("errcode %d: token/quota/busy/ip = %v, want %v", tt.code, got, want)
		}
		if code, ok := wechat.ErrCode(err); !ok || code != tt.code {
			t.Errorf("ErrCode = %d, %v", code, ok)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&wechat.APIError{Code: 40001, Message: "invalid credential, access_token is invalid or not latest rid: 1-2"},
			"wechat: errcode 40001: invalid credential, access_token is invalid or not latest rid: 1-2"},
		{&wechat.APIError{Code: -1, Message: "system error"}, "wechat: errcode -1: system error"},
		{&wechat.HTTPError{Method: "POST", Path: "/cgi-bin/qrcode/create", StatusCode: 502}, "wechat: POST /cgi-bin/qrcode/create: HTTP 502 Bad Gateway"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
