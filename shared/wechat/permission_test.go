package wechat_test

import (
	"testing"

	"wechatqr/shared/wechat"
)

func TestPermissionsForTheAPIsCalledForAnAuthorizer(t *testing.T) {
	tests := []struct {
		path     string
		funcInfo []int
		want     bool
	}{
		{"/cgi-bin/qrcode/create", []int{1, 2, 3}, true},
		{"/cgi-bin/qrcode/create", []int{1, 2}, false},
		{"/cgi-bin/message/custom/send", []int{1}, true},
		{"/cgi-bin/message/custom/send", []int{6}, true},
		{"/cgi-bin/message/custom/send", []int{101}, true},
		{"/cgi-bin/message/custom/send", []int{2, 3}, false},
		{"/cgi-bin/tags/create", []int{2}, true},
		{"/cgi-bin/tags/members/batchtagging", []int{100}, true},
		{"/cgi-bin/tags/get", []int{2}, true},
		{"/cgi-bin/tags/create", []int{1, 3}, false},
		{"/cgi-bin/tags/create", nil, false},
		{"/cgi-bin/menu/create", []int{1, 2, 3}, false}, // not a path this package knows
	}
	for _, tt := range tests {
		if got := wechat.PermissionsFor(tt.path).GrantedBy(tt.funcInfo); got != tt.want {
			t.Errorf("%s with %v: %v, want %v", tt.path, tt.funcInfo, got, tt.want)
		}
	}
	sets := wechat.PermissionsFor("/cgi-bin/qrcode/create")
	sets[0] = wechat.PermissionMessages
	if !wechat.PermissionsFor("/cgi-bin/qrcode/create").GrantedBy([]int{3}) {
		t.Error("PermissionsFor returned the package's own slice: a caller changed the requirement")
	}
}

func TestReleaseTestHelpers(t *testing.T) {
	tests := []struct {
		content string
		code    string
		ok      bool
	}{
		{"QUERY_AUTH_CODE:queryauthcode@@@abc", "queryauthcode@@@abc", true},
		{"QUERY_AUTH_CODE:", "", false},
		{"TESTCOMPONENT_MSG_TYPE_TEXT", "", false},
		{"query_auth_code:x", "", false},
	}
	for _, tt := range tests {
		code, ok := wechat.ReleaseTestQueryAuthCode(tt.content)
		if code != tt.code || ok != tt.ok {
			t.Errorf("ReleaseTestQueryAuthCode(%q) = %q, %v; want %q, %v", tt.content, code, ok, tt.code, tt.ok)
		}
	}
	if got := wechat.ReleaseTestAPIText("queryauthcode@@@abc"); got != "queryauthcode@@@abc_from_api" {
		t.Errorf("ReleaseTestAPIText = %q", got)
	}
	if wechat.ReleaseTestTextReply != wechat.ReleaseTestText+"_callback" {
		t.Errorf("reply %q", wechat.ReleaseTestTextReply)
	}
}

func TestComponentErrcodeHelpers(t *testing.T) {
	tests := []struct {
		is   func(error) bool
		yes  []int
		name string
	}{
		{wechat.IsTicketError, []int{61005, 61006}, "IsTicketError"},
		{wechat.IsAuthCodeError, []int{61009, 61010}, "IsAuthCodeError"},
		{wechat.IsRefreshTokenInvalid, []int{61023}, "IsRefreshTokenInvalid"},
		{wechat.IsAuthorizationRevoked, []int{61003}, "IsAuthorizationRevoked"},
		{wechat.IsPermissionMissing, []int{61007}, "IsPermissionMissing"},
	}
	all := []int{40001, 40097, 61003, 61005, 61006, 61007, 61009, 61010, 61011, 61023, 61024}
	for _, tt := range tests {
		for _, code := range all {
			want := false
			for _, y := range tt.yes {
				want = want || y == code
			}
			if got := tt.is(&wechat.APIError{Code: code}); got != want {
				t.Errorf("%s(%d) = %v", tt.name, code, got)
			}
		}
	}
}
