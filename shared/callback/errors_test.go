package callback

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// TestStatusOfOurFailuresIsNever2xx: whatever fails on our side, WeChat gets no
// 2xx and retries the push; a 503 only when storage is down, a 500 otherwise.
func TestStatusOfOurFailuresIsNever2xx(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"storage down", fmt.Errorf("dynamo: record: %w: %w", qr.Errorf(qr.EUnavailable, "the database is unavailable; retry shortly"), errors.New("ThrottlingException")), http.StatusServiceUnavailable},
		{"a missing table", errors.New("dynamo: record: a table does not exist"), http.StatusInternalServerError},
		{"internal", qr.Errorf(qr.EInternal, "a bug"), http.StatusInternalServerError},
		{"a refusal keeps its status", reject(http.StatusRequestEntityTooLarge, "too big"), http.StatusRequestEntityTooLarge},
		{"a bad signature", fmt.Errorf("push: %w", wechat.ErrSignature), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, msg := statusOf(tt.err); got != tt.status {
				t.Errorf("statusOf(%v) = %d %q, want %d", tt.err, got, msg, tt.status)
			}
		})
	}
}
