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

// Each §12 helper recognises its codes and nothing else.
func TestSection12HelpersClassifyCodes(t *testing.T) {
	helpers := map[string]struct {
		is    func(error) bool
		codes []int
	}{
		"IsOutOfWindow":     {wechat.IsOutOfWindow, []int{45015}},
		"IsResponseLimit":   {wechat.IsResponseLimit, []int{45047}},
		"IsAccountTagLimit": {wechat.IsAccountTagLimit, []int{45056}},
		"IsUserTagLimit":    {wechat.IsUserTagLimit, []int{45059}},
		"IsTagNameTaken":    {wechat.IsTagNameTaken, []int{45157}},
		"IsTagNameTooLong":  {wechat.IsTagNameTooLong, []int{45158}},
		"IsUnknownTag":      {wechat.IsUnknownTag, []int{45159}},
		"IsTooManyOpenIDs":  {wechat.IsTooManyOpenIDs, []int{40032}},
		"IsInvalidOpenID":   {wechat.IsInvalidOpenID, []int{40003, 49003}},
		"IsUnauthorized":    {wechat.IsUnauthorized, []int{48001}},
	}
	all := []int{-1, 40001, 40003, 40032, 42001, 45009, 45015, 45047, 45056, 45059, 45157, 45158, 45159, 48001, 49003}
	for name, h := range helpers {
		for _, code := range all {
			err := fmt.Errorf("wrapped: %w", &wechat.APIError{Code: code, Message: "m"})
			want := false
			for _, c := range h.codes {
				want = want || c == code
			}
			if got := h.is(err); got != want {
				t.Errorf("%s(errcode %d) = %v, want %v", name, code, got, want)
			}
		}
		if h.is(errors.New("errcode 45015")) || h.is(nil) {
			t.Errorf("%s matched something that is not an *APIError", name)
		}
	}
}
