package wechat

import (
	"errors"
	"net/http"
	"strconv"
)

// Errcodes the API client and the emulator use (§7, §8, §12, §13). WeChat answers
// every failure with HTTP 200 and {"errcode":N,"errmsg":"…"}; match on the
// code only, since errmsg carries suffixes such as " rid: …" and " hint: […]".
const (
	CodeSystemBusy            = -1    // system error: WeChat busy, retry with backoff
	CodeInvalidCredential     = 40001 // wrong AppSecret, or a superseded or expired token
	CodeInvalidGrantType      = 40002 // grant_type is not client_credential
	CodeInvalidOpenID         = 40003 // a malformed openid, or (custom/send) one that is not a follower
	CodeInvalidMediaID        = 40007 // custom/send: bad media_id
	CodeInvalidMessageType    = 40008 // custom/send: unknown msgtype
	CodeInvalidAppID          = 40013
	CodeInvalidAccessToken    = 40014 // malformed, unknown or another account's token
	CodeTooManyOpenIDs        = 40032 // batchtagging: openid_list empty or longer than 50
	CodeInvalidCharset        = 40033 // \uXXXX escapes in the body (§9)
	CodeInvalidActionInfo     = 40053 // qrcode/create: bad action_name or action_info
	CodeInvalidAppSecret      = 40125
	CodeIPNotWhitelisted      = 40164 // caller IP not in the API whitelist
	CodeAppSecretFrozen       = 40243
	CodeAccessTokenMissing    = 41001
	CodeAppIDMissing          = 41002
	CodeAppSecretMissing      = 41004
	CodeAccessTokenExpired    = 42001
	CodeRequirePOST           = 43002
	CodeEmptyNews             = 44003 // custom/send: news without an article
	CodeEmptyContent          = 44004 // custom/send: text without content
	CodeArticleLimit          = 45008 // custom/send: more than one news article
	CodeDailyQuota            = 45009 // reach max api daily quota limit
	CodeMinuteQuota           = 45011 // per-minute limit
	CodeOutOfWindow           = 45015 // custom/send: outside the user's customer-service window
	CodeQRCodeCountLimit      = 45029 // 100,000 permanent codes per account
	CodeResponseLimit         = 45047 // custom/send: the window's message count is used up
	CodeAccountTagLimit       = 45056 // tags/create: the account has 100 tags
	CodeUserTagLimit          = 45059 // batchtagging: a user would hold more than 20 tags
	CodeTagNameInvalid        = 45157 // tags/create: the name is taken (or empty)
	CodeTagNameTooLong        = 45158 // tags/create: the name is longer than 30 bytes
	CodeUnknownTag            = 45159 // batchtagging: no such tag
	CodeDataFormat            = 47001 // body is not parseable JSON
	CodeUnauthorized          = 48001 // the account lacks this API
	CodeOpenIDNotOfAccount    = 49003 // batchtagging: an openid of another AppID
	CodeClientIPNotRegistered = 61004 // IP whitelist, as named for some token APIs (§11.1)
)

// Errcodes of the third-party platform's component API (§13.4), and 40097,
// WeChat's general "invalid args".
const (
	CodeInvalidArgs            = 40097 // invalid args (api_get_authorizer_list's count out of 1..500)
	CodeComponentNotAuthorized = 61003 // the account revoked (or never gave) its authorization
	CodeTicketExpired          = 61005 // component_verify_ticket older than its 12 hours
	CodeTicketInvalid          = 61006 // component_verify_ticket unknown or missing
	CodeAPIUnauthorized        = 61007 // the authorizer did not grant the permission set the API needs (§13.5)
	CodeAuthCodeInvalid        = 61009 // authorization code unknown
	CodeAuthCodeExpired        = 61010 // authorization code expired
	CodeInvalidComponent       = 61011 // wrong component_appid
	CodeRefreshTokenInvalid    = 61023 // authorizer_refresh_token not (or no longer) valid
	CodeUseComponentToken      = 61024 // /cgi-bin/token called with the component appid
)

// APIError is an errcode answer from WeChat: HTTP 200 with a non-zero
// errcode. Match it with errors.As, or with the Is… helpers.
type APIError struct {
	Code    int    // errcode
	Message string // errmsg, as WeChat wrote it (safe to show: it holds no credentials)
}

func (e *APIError) Error() string {
	return "wechat: errcode " + strconv.Itoa(e.Code) + ": " + e.Message
}

// HTTPError is an answer that is not a WeChat API answer at all: a status
// other than 2xx (WeChat itself answers errors with 200, so this comes from
// a proxy, a load balancer or an outage).
type HTTPError struct {
	Method     string
	Path       string // the endpoint's path, without the query (which may hold credentials)
	StatusCode int
	// Body is the start of the response body (at most 512 bytes), for
	// logs, with the client's secret and the access token blanked out.
	Body []byte
}

func (e *HTTPError) Error() string {
	return "wechat: " + e.Method + " " + e.Path + ": HTTP " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
}

// ErrInvalidResponse: a 2xx answer whose body is not the JSON the endpoint
// documents (not JSON, too large, or missing its fields). Returned wrapped
// with detail.
var ErrInvalidResponse = errors.New("wechat: invalid response")

// ErrInvalidRequest: the client refused to send a request that WeChat would
// reject or misread (a QRCodeRequest out of range, a missing credential).
// Returned wrapped with detail, before any network traffic.
var ErrInvalidRequest = errors.New("wechat: invalid request")

// ErrCode returns the errcode of an *APIError in err's chain, and whether
// there was one.
func ErrCode(err error) (int, bool) {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

func hasCode(err error, codes ...int) bool {
	c, ok := ErrCode(err)
	if !ok {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// IsTokenError reports whether WeChat rejected the access token (invalid,
// superseded, expired or missing): fetch a fresh one and try again once.
func IsTokenError(err error) bool {
	return hasCode(err, CodeInvalidCredential, CodeInvalidAccessToken, CodeAccessTokenExpired, CodeAccessTokenMissing)
}

// IsQuotaError reports whether a call limit was reached: the daily quota
// (45009), the per-minute limit (45011) or the account's cap on permanent
// QR codes (45029). Retrying soon does not help.
func IsQuotaError(err error) bool {
	return hasCode(err, CodeDailyQuota, CodeMinuteQuota, CodeQRCodeCountLimit)
}

// IsBusy reports whether WeChat answered "system error" (-1), the one
// errcode worth retrying as is.
func IsBusy(err error) bool { return hasCode(err, CodeSystemBusy) }

// IsIPNotWhitelisted reports whether the caller's IP is not in the
// account's API whitelist. Both codes are seen for it (§11.1).
func IsIPNotWhitelisted(err error) bool {
	return hasCode(err, CodeIPNotWhitelisted, CodeClientIPNotRegistered)
}

// IsOutOfWindow reports whether custom/send was refused because the user
// has no open customer-service window (45015): a scan's window lasts one
// minute (§12). Nothing was shown; a retry cannot succeed until the user
// acts again, so skip the message.
func IsOutOfWindow(err error) bool { return hasCode(err, CodeOutOfWindow) }

// IsResponseLimit reports whether custom/send was refused because the
// window's message count is used up (45047: 3 after a scan, §12). Skip the
// message; do not retry it.
func IsResponseLimit(err error) bool { return hasCode(err, CodeResponseLimit) }

// IsAccountTagLimit reports whether tags/create was refused because the
// account holds the most tags it may (45056: 100).
func IsAccountTagLimit(err error) bool { return hasCode(err, CodeAccountTagLimit) }

// IsUserTagLimit reports whether batchtagging was refused because a user in
// the list already holds the most tags a user may (45059: 20). WeChat does
// not say which user.
func IsUserTagLimit(err error) bool { return hasCode(err, CodeUserTagLimit) }

// IsTagNameTaken reports whether tags/create was refused because a tag of
// that name exists (45157, which WeChat also answers to an invalid name):
// look the tag up with Tags.
func IsTagNameTaken(err error) bool { return hasCode(err, CodeTagNameInvalid) }

// IsTagNameTooLong reports whether tags/create was refused because the name
// is longer than 30 bytes (45158).
func IsTagNameTooLong(err error) bool { return hasCode(err, CodeTagNameTooLong) }

// IsUnknownTag reports whether batchtagging named a tag the account does
// not have (45159): deleted in the console, say. Create it again.
func IsUnknownTag(err error) bool { return hasCode(err, CodeUnknownTag) }

// IsTooManyOpenIDs reports whether batchtagging got an openid list WeChat
// refuses for its length (40032: more than 50). BatchTag refuses such a
// list before sending, so this comes only from other callers.
func IsTooManyOpenIDs(err error) bool { return hasCode(err, CodeTooManyOpenIDs) }

// IsInvalidOpenID reports whether WeChat refused an openid: malformed, not
// a follower (40003), or of another account (49003). Repeating the call
// with the same list fails the same way.
func IsInvalidOpenID(err error) bool { return hasCode(err, CodeInvalidOpenID, CodeOpenIDNotOfAccount) }

// IsUnauthorized reports whether the account lacks the API (48001): an
// unverified account cannot send customer-service messages or, depending
// on its type, create QR codes.
func IsUnauthorized(err error) bool { return hasCode(err, CodeUnauthorized) }

// IsTicketError reports whether api_component_token refused the
// component_verify_ticket (61005 expired, 61006 invalid): use the newest
// ticket pushed, and if none is recent, StartPushTicket.
func IsTicketError(err error) bool { return hasCode(err, CodeTicketExpired, CodeTicketInvalid) }

// IsAuthCodeError reports whether api_query_auth refused the authorization
// code (61009 invalid, 61010 expired): only a new authorization by the
// account's administrator gives another.
func IsAuthCodeError(err error) bool { return hasCode(err, CodeAuthCodeInvalid, CodeAuthCodeExpired) }

// IsRefreshTokenInvalid reports whether api_authorizer_token refused the
// authorizer_refresh_token (61023): reload it from AuthorizerList or
// AuthorizerInfo, which show the current one, else ask the account to
// authorize again.
func IsRefreshTokenInvalid(err error) bool { return hasCode(err, CodeRefreshTokenInvalid) }

// IsAuthorizationRevoked reports whether the account no longer authorizes
// the platform (61003): stop calling for it until it authorizes again.
func IsAuthorizationRevoked(err error) bool { return hasCode(err, CodeComponentNotAuthorized) }

// IsPermissionMissing reports whether an API called with an authorizer
// token needs a permission set the account did not grant (61007, §13.5):
// retrying cannot help; the account must authorize again with the set.
func IsPermissionMissing(err error) bool { return hasCode(err, CodeAPIUnauthorized) }
