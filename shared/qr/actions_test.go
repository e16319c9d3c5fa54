package qr_test

import (
	"strings"
	"testing"

	"wechatqr/shared/qr"
)

func TestValidateTag(t *testing.T) {
	tests := []struct {
		tag, wantErr string
	}{
		{"北京海报", ""},
		{"Beijing poster 2026", ""},
		{strings.Repeat("x", 30), ""},
		{"北京海报北京海报北京", ""}, // 10 characters, 30 bytes
		{"", "1 to 30 bytes"},
		{strings.Repeat("x", 31), "31 bytes is over"},
		{"北京海报北京海报北京海", "33 bytes is over"},
		{"a\tb", "not allowed"},
		{"a\u2028b", "not allowed"},
		{"a\u200bb", "not allowed"}, // zero-width space: invisible in the console
		{" a", "leading or trailing"},
		{"a\xffb", "UTF-8"},
	}
	for _, tt := range tests {
		err := qr.ValidateTag(tt.tag)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateTag(%q) = %v, want nil", tt.tag, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "tag")):
			t.Errorf("ValidateTag(%q) = %v, want an error naming tag and saying %q", tt.tag, err, tt.wantErr)
		}
	}
}

func TestValidateFollowupsNamesTheMessage(t *testing.T) {
	ok := *qr.TextReply("hi")
	tests := []struct {
		name    string
		fs      []qr.Reply
		wantErr string
	}{
		{"none", nil, ""},
		{"three", []qr.Reply{ok, {Type: qr.ReplyImage, MediaID: "M"}, {Type: qr.ReplyNews, Articles: []qr.Article{{Title: "T"}}}}, ""},
		{"four", []qr.Reply{ok, ok, ok, ok}, "followups: 4 messages"},
		{"second empty", []qr.Reply{ok, {Type: qr.ReplyText}}, "followups[1].content"},
		{"third of no type", []qr.Reply{ok, ok, {}}, "followups[2].type"},
		{"news title missing", []qr.Reply{{Type: qr.ReplyNews, Articles: []qr.Article{{URL: "u"}}}}, "followups[0].articles[0].title"},
	}
	for _, tt := range tests {
		err := qr.ValidateFollowups(tt.fs)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	// A reply keeps its own field names.
	if err := (&qr.Reply{Type: qr.ReplyText}).Validate(); err == nil || !strings.Contains(err.Error(), "reply.content") {
		t.Errorf("reply: %v", err)
	}
}
