package wechattest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"wechatqr/shared/wechat"
)

// TestAccount is one of the accounts WeChat's full-network release test
// (全网发布) uses (§13.6).
type TestAccount struct {
	AppID       string
	UserName    string // the original ID, gh_…
	MiniProgram bool
}

// ReleaseTestAccounts are §13.6's test accounts: five Official Accounts,
// then five mini programs. WeChat picks among them at random, so a
// platform must accept them all. The second account's user name is the
// Chinese doc's (the English one repeats the fourth's, §13.9).
var ReleaseTestAccounts = []TestAccount{
	{"wx570bc396a51b8ff8", "gh_3c884a361561", false},
	{"wx9252c5e0bb1836fc", "gh_c0f28a78b318", false},
	{"wx8e1097c5bc82cde9", "gh_3f222ed8d140", false},
	{"wx14550af28c71a144", "gh_26128078e9ab", false},
	{"wxa35b9c23cfe664eb", "gh_2b3713f184a6", false},
	{"wxd101a85aa106f53e", "gh_8dad206e9538", true},
	{"wxc39235c15087f6f3", "gh_905ae9d01059", true},
	{"wx7720d01d4b2a4500", "gh_393666f1fdf4", true},
	{"wx05d483572dcd5d8b", "gh_39abb5d4e1b7", true},
	{"wx5910277cae6fd970", "gh_7818dcb60240", true},
}

// ReleaseTestOpenID is the openid of the test user who writes to the test
// accounts. §13.6 does not give WeChat's; this one is made up in the shape
// of an openid.
const ReleaseTestOpenID = "oRelTst0Ab3dEf6hIj9kLm2nOp5q"

// ErrNotReleaseTestAccount: the appid is not one of the release test's
// Official Accounts (the mini programs' steps are not emulated).
var ErrNotReleaseTestAccount = errors.New("wechattest: not a release-test Official Account")

// ErrNoMessageSet: the release test's messages run only when the platform
// has permission set 1 (message management, §13.6).
var ErrNoMessageSet = errors.New("wechattest: permission set 1 not granted: the release test sends no messages")

func releaseOfficialAccount(appID string) bool {
	return slices.ContainsFunc(ReleaseTestAccounts, func(a TestAccount) bool { return a.AppID == appID && !a.MiniProgram })
}

// SendReleaseTestText is step 2 of the release test (§13.6): the test
// user writes wechat.ReleaseTestText to the test account appID, whose message
// WeChat pushes, sealed in safe mode with the platform's keys (§13.2), to
// the message-and-event URL (MessageURLFor). The account is authorized
// first (all the platform's sets, with its authorized push) when it has
// not authorized already. The push's Reply() is the opened passive reply,
// which should be the text wechat.ReleaseTestTextReply.
func (c *Component) SendReleaseTestText(ctx context.Context, appID string, opts ...PushOption) (Push, error) {
	if !releaseOfficialAccount(appID) {
		return Push{}, fmt.Errorf("%w: %s", ErrNotReleaseTestAccount, appID)
	}
	if _, ok := c.Grants(appID); !ok {
		if _, _, err := c.authorize(ctx, appID, nil, ""); err != nil && !errors.Is(err, ErrNoURL) {
			return Push{}, err
		}
	}
	return c.sendReleaseText(ctx, appID, wechat.ReleaseTestText, opts)
}

// SendReleaseTestQueryAuthCode is step 3 of the release test (§13.6):
// WeChat authorizes the test account appID automatically (an authorized
// push with a new queryauthcode@@@… code, all the platform's sets), then
// the test user writes wechat.ReleaseTestQueryAuthPrefix+code. It returns the
// code and the text's push, whose reply should be empty or "success". The
// platform then has to call api_query_auth with the code and send
// code+wechat.ReleaseTestAPISuffix to ReleaseTestOpenID by message/custom/send:
// see ReleaseTestMessages. The test user's customer-service window opens
// with the text (Platform.Follow: Limits.WindowMessages within
// Limits.Window; §13.9 leaves the deadline of step 3 open).
func (c *Component) SendReleaseTestQueryAuthCode(ctx context.Context, appID string, opts ...PushOption) (code string, push Push, err error) {
	if !releaseOfficialAccount(appID) {
		return "", Push{}, fmt.Errorf("%w: %s", ErrNotReleaseTestAccount, appID)
	}
	code, _, err = c.authorize(ctx, appID, nil, "")
	if err != nil && !errors.Is(err, ErrNoURL) {
		return code, Push{}, err
	}
	push, err = c.sendReleaseText(ctx, appID, wechat.ReleaseTestQueryAuthPrefix+code, opts)
	return code, push, err
}

// sendReleaseText pushes content from ReleaseTestOpenID to appID's
// message-and-event URL.
func (c *Component) sendReleaseText(ctx context.Context, appID, content string, opts []PushOption) (Push, error) {
	grants, ok := c.Grants(appID)
	if !ok {
		return Push{}, ErrNotAuthorized
	}
	if !slices.Contains(grants, 1) {
		return Push{}, ErrNoMessageSet
	}
	target := c.MessageURLFor(appID)
	if target == "" {
		return Push{}, ErrNoURL
	}
	p := c.Authorizer(appID)
	p.Follow(ReleaseTestOpenID)
	var id [8]byte
	rand.Read(id[:])
	msg := p.Signer().TextXML(ReleaseTestOpenID, content, c.now().Unix(), binary.BigEndian.Uint64(id[:])>>1)
	return p.Send(ctx, target, msg, Safe, opts...)
}

// ReleaseTestMessages returns the customer-service messages the test user
// received from the test account appID, oldest first.
func (c *Component) ReleaseTestMessages(appID string) []ReceivedMessage {
	p := c.Authorizer(appID)
	if p == nil {
		return nil
	}
	return p.Messages(ReleaseTestOpenID)
}
