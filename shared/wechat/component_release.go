package wechat

import "strings"

// The messages of WeChat's full-network release test (全网发布, §13.6),
// which a platform's message URL must answer before the platform goes
// live. They arrive from one of the test accounts like any user's text.
const (
	// ReleaseTestText is answered passively (sealed) with
	// ReleaseTestTextReply.
	ReleaseTestText      = "TESTCOMPONENT_MSG_TYPE_TEXT"
	ReleaseTestTextReply = "TESTCOMPONENT_MSG_TYPE_TEXT_callback"
	// ReleaseTestQueryAuthPrefix starts a text that ends with an
	// authorization code: answer it empty at once, call QueryAuth with the
	// code, and send the sender ReleaseTestAPIText(code) as a
	// customer-service message with the authorizer token obtained.
	ReleaseTestQueryAuthPrefix = "QUERY_AUTH_CODE:"
	ReleaseTestAPISuffix       = "_from_api"
)

// ReleaseTestQueryAuthCode returns the authorization code of a release-test
// text that starts with ReleaseTestQueryAuthPrefix, and whether content is
// one with a non-empty code.
func ReleaseTestQueryAuthCode(content string) (code string, ok bool) {
	code, ok = strings.CutPrefix(content, ReleaseTestQueryAuthPrefix)
	if !ok || code == "" {
		return "", false
	}
	return code, true
}

// ReleaseTestAPIText is the customer-service text the release test expects
// after a ReleaseTestQueryAuthPrefix message with code.
func ReleaseTestAPIText(code string) string { return code + ReleaseTestAPISuffix }
