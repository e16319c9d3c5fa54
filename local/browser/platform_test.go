package browser_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wechatqr/shared/wechat/wechattest"
)

// connectedAppID is the official account TestConnectAnAccountThroughThePlatform
// connects: after the local stack's two direct accounts in AppID order, so the
// other tests' "second account" stays theirs.
const connectedAppID = "wxd4d4d4d4d4d4d4d4"

// revokedAppID is the account TestPlatformReauthorizesARevokedAccount connects, withdraws
// and re-authorizes.
const revokedAppID = "wxe5e5e5e5e5e5e5e5"

// TestConnectAnAccountThroughThePlatform: an administrator connects an
// official account "with a click". The Accounts page starts an authorization
// and offers WeChat's page; the account's administrator grants the message
// and user management sets there (not account service: no codes); WeChat
// sends the browser back to /console/platform/return?auth_code=…, where the
// console completes the authorization and shows the account, its type and its
// permission sets, and takes the code out of the address. The create page of
// the account then shows the API's permission_missing message, and the
// Accounts page lists the account with its avatar and permissions, in Chinese.
func TestConnectAnAccountThroughThePlatform(t *testing.T) {
	console(t)
	if platformErr != nil {
		t.Fatal(platformErr)
	}
	ctx := page(t, "/accounts", "")
	waitFor(t, ctx, `document.getElementById('connect-start')`)
	audit(t, ctx, "accounts page of a platform")
	do(t, ctx, chromedp.Click(chromedp.ID("connect-start")))
	waitFor(t, ctx, `document.getElementById('connect-link') || document.getElementById('connect-error').textContent`)
	if msg := text(t, ctx, "#connect-error"); msg != "" {
		t.Fatalf("Connect: the page shows %q", msg)
	}
	href := eval[string](t, ctx, `document.getElementById('connect-link').href`)
	mobile := eval[string](t, ctx, `document.getElementById('connect-mobile-link').href`)
	if !strings.HasPrefix(href, wechattest.ComponentLoginPage+"?") || !strings.HasPrefix(mobile, wechattest.BindComponentPage+"?") {
		t.Errorf("the links offered: %s and %s, want WeChat's PC page and mobile link", href, mobile)
	}
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Query().Get("redirect_uri"), front.URL+"/console/platform/return"; got != want {
		t.Errorf("redirect_uri %q, want the console's return page %q", got, want)
	}
	if got := text(t, ctx, "#connect-expires"); got == "" {
		t.Error("the links' expiry is not shown")
	}
	audit(t, ctx, "accounts page with the authorization links")

	// The account's administrator on WeChat's page, granting sets 1 and 2.
	redirect, push, err := st.Component.VisitAuthPage(ctx, href, connectedAppID, []int{1, 2})
	if err != nil {
		t.Fatalf("WeChat's authorization page: %v", err)
	}
	if push.Status() != 200 {
		t.Logf("the authorized push was answered %d (the redirect completes the authorization alone)", push.Status())
	}
	do(t, ctx, chromedp.Navigate(redirect))
	waitFor(t, ctx, `document.getElementById('connected') || document.getElementById('connect-return-error').textContent`)
	if msg := text(t, ctx, "#connect-return-error"); msg != "" {
		t.Fatalf("the return page shows %q", msg)
	}
	if got := eval[string](t, ctx, `location.href`); strings.Contains(got, "auth_code") || strings.Contains(got, "queryauthcode") {
		t.Errorf("the address still carries the code: %s", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('connected').dataset.appid`); got != connectedAppID {
		t.Errorf("the return page shows %s, want %s", got, connectedAppID)
	}
	info := wechattest.DefaultAuthorizerInfo(connectedAppID)
	if got := text(t, ctx, "#connected-name"); got != info.NickName {
		t.Errorf("the connected account's name: %q, want %q", got, info.NickName)
	}
	if got := text(t, ctx, "#connected-type"); got != "Service account, WeChat-verified" {
		t.Errorf("the connected account's type: %q", got)
	}
	if got := text(t, ctx, "#connected-permissions"); got != "Message management (1), User management (2)" {
		t.Errorf("the connected account's permissions: %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#connected [data-test="permission-warning"]').length`); n != 0 {
		t.Errorf("the connected account shows %d warnings: set 3 was never granted, so nothing WeChat refused is missing", n)
	}
	wantAvatar := "https://wx.qlogo.cn/mmopen/" + connectedAppID + "/0"
	if got := eval[string](t, ctx, `(document.querySelector('#connected img[data-test="avatar"]') || {}).src || ''`); got != wantAvatar {
		t.Errorf("the connected account's avatar: %q, want %q", got, wantAvatar)
	}
	if got := eval[string](t, ctx, `document.getElementById('connected-codes').getAttribute('href')`); got != "#/a/"+connectedAppID+"/codes" {
		t.Errorf("the link to the account's pages: %q", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('connected-accounts').getAttribute('href')`); got != "#/accounts" {
		t.Errorf("the link to the Accounts page: %q", got)
	}
	if n := eval[int](t, ctx, `window.__csp.length`); n != 0 {
		t.Errorf("the return page broke the CSP %d times: %v", n, eval[[]string](t, ctx, `window.__csp`))
	}
	audit(t, ctx, "return page")

	// A reload shows the account again: the code is spent, the address names the account.
	do(t, ctx, chromedp.Reload())
	waitFor(t, ctx, `document.getElementById('connected') || document.getElementById('connect-return-error').textContent`)
	if got := text(t, ctx, "#connected-name"); got != info.NickName {
		t.Errorf("after a reload the return page shows %q (error %q)", got, text(t, ctx, "#connect-return-error"))
	}

	// Its pages: creating a code needs set 3, which was not granted.
	do(t, ctx, chromedp.Click(chromedp.ID("connected-codes")))
	waitFor(t, ctx, `location.hash === '#/a/`+connectedAppID+`/codes' && document.querySelector('#codes-table, #codes-empty')`)
	do(t, ctx, chromedp.Navigate(front.URL+"/console#/a/"+connectedAppID+"/create"))
	waitFor(t, ctx, `document.getElementById('create-scene')`)
	set(t, ctx, "create-scene", "connected-1")
	do(t, ctx, chromedp.Click(chromedp.ID("create-submit")))
	waitFor(t, ctx, `document.getElementById('create-error').textContent || document.getElementById('create-result').textContent`)
	got := text(t, ctx, "#create-error")
	if !strings.Contains(got, "permission set 3 (account service)") || !strings.Contains(got, connectedAppID) {
		t.Errorf("creating a code for an account without set 3 shows %q, want the API's permission_missing message", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#create-error a[href="#/accounts"]').length`); n != 1 {
		t.Error("the refusal does not link the Accounts page, where the account is authorized again")
	}
	audit(t, ctx, "create page refused for a missing permission set")

	// The Accounts page, in Chinese: the authorizer's row.
	zh := page(t, "/accounts", "zh-CN")
	row := `[data-test="account-row"][data-appid="` + connectedAppID + `"]`
	waitFor(t, zh, `document.querySelector('`+row+`')`)
	cell := func(k string) string { return text(t, zh, row+` [data-test="`+k+`"]`) }
	if got := cell("kind"); got != "授权接入（第三方平台）" {
		t.Errorf("kind: %q", got)
	}
	if got := cell("type"); got != "服务号，微信认证" {
		t.Errorf("type in Chinese: %q", got)
	}
	if got := cell("permissions"); !strings.Contains(got, "消息管理（1）、用户管理（2）") || strings.Contains(got, "帐号服务") {
		t.Errorf("permissions in Chinese: %q", got)
	}
	if got := cell("user-name"); got != info.UserName {
		t.Errorf("original ID: %q, want %q", got, info.UserName)
	}
	if got := eval[string](t, zh, fmt.Sprintf(`(document.querySelector('%s img[data-test="avatar"]') || {}).src || ''`, row)); got != wantAvatar {
		t.Errorf("the row's avatar: %q, want %q", got, wantAvatar)
	}
	if n := eval[int](t, zh, `document.querySelectorAll('`+row+` [data-test="permission-warning"]').length`); n != 0 {
		t.Errorf("the authorizer's row shows %d warnings: nothing was refused yet", n)
	}
	// Set 3 was never granted: a note says new codes need it, before any is
	// refused, and re-authorizing is offered.
	if got := text(t, zh, row+` [data-test="permission-note"]`); !strings.Contains(got, "新建二维码") || !strings.Contains(got, "帐号服务") {
		t.Errorf("the note on the set never granted: %q", got)
	}
	if n := eval[int](t, zh, `document.querySelectorAll('`+row+` [data-test="account-reauthorize"]').length`); n != 1 {
		t.Errorf("the authorizer's row offers %d re-authorize buttons, want 1", n)
	}
	if got := cell("status"); got != "正常" {
		t.Errorf("status: %q", got)
	}
	audit(t, zh, "accounts page with an authorizer, in Chinese")
}

// TestPlatformReauthorizesARevokedAccount: an authorized account's administrator
// withdraws the authorization (WeChat's unauthorized push). Its create page
// shows the API's account_revoked message; its row on the Accounts page says
// so and offers Re-authorize, which is the Connect flow: granting set 3 this
// time makes the account active again, and a code is made.
func TestPlatformReauthorizesARevokedAccount(t *testing.T) {
	console(t)
	if platformErr != nil {
		t.Fatal(platformErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := st.Authorize(ctx, front.URL, revokedAppID, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := st.Component.Unauthorize(revokedAppID); err != nil {
		t.Fatal(err)
	}
	pushes := st.Component.Pushes()
	if last := pushes[len(pushes)-1]; last.Status() != 200 {
		var body []byte
		if len(last.Deliveries) > 0 {
			body = last.Deliveries[0].Body
		}
		t.Fatalf("the callback answered WeChat's unauthorized push %d %q: the account is not revoked", last.Status(), body)
	}

	create := page(t, "/a/"+revokedAppID+"/create", "")
	set(t, create, "create-scene", "revoked-1")
	do(t, create, chromedp.Click(chromedp.ID("create-submit")))
	waitFor(t, create, `document.getElementById('create-error').textContent || document.getElementById('create-result').textContent`)
	if got := text(t, create, "#create-error"); !strings.Contains(got, "withdrew its authorization") {
		t.Errorf("creating a code for a revoked account shows %q, want the API's account_revoked message", got)
	}
	audit(t, create, "create page refused for a revoked account")

	tab := page(t, "/accounts", "")
	row := `[data-test="account-row"][data-appid="` + revokedAppID + `"]`
	waitFor(t, tab, `document.querySelector('`+row+` [data-test="account-reauthorize"]')`)
	if got := text(t, tab, row+` [data-test="status"]`); got != "Revoked" {
		t.Errorf("a revoked account's status: %q", got)
	}
	if got := text(t, tab, row+` [data-test="permission-warning"]`); !strings.Contains(got, "withdrew its authorization") {
		t.Errorf("a revoked account's warning: %q", got)
	}
	audit(t, tab, "accounts page with a revoked authorizer")
	do(t, tab, chromedp.Click(chromedp.CSS(row+` [data-test="account-reauthorize"]`)))
	waitFor(t, tab, `document.getElementById('connect-link') || document.getElementById('connect-error').textContent`)
	if msg := text(t, tab, "#connect-error"); msg != "" {
		t.Fatalf("Re-authorize: the page shows %q", msg)
	}
	href := eval[string](t, tab, `document.getElementById('connect-link').href`)
	redirect, _, err := st.Component.VisitAuthPage(ctx, href, revokedAppID, []int{1, 2, 3})
	if err != nil {
		t.Fatalf("WeChat's authorization page, again: %v", err)
	}
	do(t, tab, chromedp.Navigate(redirect))
	waitFor(t, tab, `document.getElementById('connected') || document.getElementById('connect-return-error').textContent`)
	if got := text(t, tab, "#connected-permissions"); got != "Message management (1), User management (2), Account service (3)" {
		t.Errorf("re-authorized with set 3: the return page shows %q (error %q)", got, text(t, tab, "#connect-return-error"))
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#connected [data-test="permission-warning"]').length`); n != 0 {
		t.Errorf("the re-authorized account still shows %d warnings", n)
	}
	do(t, tab, chromedp.Navigate(front.URL+"/console#/a/"+revokedAppID+"/create"))
	waitFor(t, tab, `document.getElementById('create-scene')`)
	set(t, tab, "create-scene", "revoked-2")
	do(t, tab, chromedp.Click(chromedp.ID("create-submit")))
	waitFor(t, tab, `document.getElementById('create-error').textContent || document.getElementById('create-result').textContent`)
	if got := text(t, tab, "#create-error"); got != "" {
		t.Errorf("creating a code once set 3 is granted: %q", got)
	}
}
