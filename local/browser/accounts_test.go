package browser_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wechatqr/local/moto"
	"wechatqr/shared/wechat/wechattest"
)

// account is an account as GET /accounts shows it, as far as these tests read it.
type account struct {
	AppID   string `json:"appid"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Default bool   `json:"default"`
}

// counts are a period's or all time's counts of GET /stats/accounts.
type counts struct {
	Scans        int `json:"scans"`
	Subscribes   int `json:"subscribes"`
	UniqueUsers  int `json:"unique_users"`
	Unsubscribes int `json:"unsubscribes"`
}

type accountStats struct {
	From     string        `json:"from"`
	To       string        `json:"to"`
	Accounts []accountStat `json:"accounts"`
}

type accountStat struct {
	AppID  string `json:"appid"`
	Name   string `json:"name"`
	Totals counts `json:"totals"`
	Period counts `json:"period"`
}

// accountsNow lists the stack's accounts (the local stack sees them all).
func accountsNow(t testing.TB) []account {
	t.Helper()
	var out struct {
		Accounts []account `json:"accounts"`
	}
	apiGet(t, "/accounts", &out)
	return out.Accounts
}

// twoAccounts is the local stack's default account and its second one.
func twoAccounts(t testing.TB) (def, second account) {
	t.Helper()
	for _, a := range accountsNow(t) {
		switch {
		case a.Default:
			def = a
		case second.AppID == "":
			second = a
		}
	}
	if def.AppID != defaultAppID || second.AppID == "" {
		t.Fatalf("the local stack serves %+v and %+v: want the default account %s and a second one", def, second, defaultAppID)
	}
	return def, second
}

// chinaDay is today in China time, as the statistics count days.
func chinaDay(offset int) string {
	return time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, offset).Format("2006-01-02")
}

// options is what the header's switcher offers: each option's value.
func options(t testing.TB, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `[...document.querySelectorAll('#account option:not([disabled])')].map(o => o.value)`)
}

func TestTheSwitcherChoosesTheAccountAndTheURLNamesIt(t *testing.T) {
	def, second := twoAccounts(t)
	apiPost(t, "/qrcodes", `{"scene":"switch-default-1","permanent":true}`)
	apiPost(t, "/accounts/"+second.AppID+"/qrcodes", `{"scene":"switch-second-1","permanent":true}`)
	row := func(scene string) string {
		return `document.querySelector('[data-test="code-row"][data-scene="` + scene + `"]')`
	}

	// An old link means the default account, and the address comes to say so.
	ctx := page(t, "/codes?q=switch-", "")
	waitFor(t, ctx, row("switch-default-1"))
	if got := eval[string](t, ctx, `location.hash`); got != "#/a/"+def.AppID+"/codes?q=switch-" {
		t.Errorf("an old link to the list: the address is %s", got)
	}
	if got := options(t, ctx); !slices.Contains(got, def.AppID) || !slices.Contains(got, second.AppID) {
		t.Errorf("the switcher offers %v, want both accounts", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('account').value`); got != def.AppID {
		t.Errorf("the switcher shows %s, want the default account", got)
	}
	if eval[bool](t, ctx, row("switch-second-1")+` !== null`) {
		t.Error("the default account's list shows the second account's code")
	}
	audit(t, ctx, "codes page with the switcher")

	// Switching keeps the page, for the other account.
	set(t, ctx, "account", second.AppID)
	waitFor(t, ctx, `location.hash === '#/a/`+second.AppID+`/codes'`)
	waitFor(t, ctx, row("switch-second-1"))
	if eval[bool](t, ctx, row("switch-default-1")+` !== null`) {
		t.Error("after switching, the list still shows the default account's code")
	}
	for _, id := range []string{"nav-codes", "nav-create", "nav-batch", "nav-sources"} {
		if got := eval[string](t, ctx, `document.getElementById('`+id+`').getAttribute('href')`); !strings.HasPrefix(got, "#/a/"+second.AppID+"/") {
			t.Errorf("after switching, #%s links to %s", id, got)
		}
	}
	// A code's page is the account's too; switching from it goes to the other list.
	do(t, ctx, chromedp.Click(chromedp.CSS(`[data-test="code-row"][data-scene="switch-second-1"] [data-test="code-link"]`)))
	waitFor(t, ctx, `document.getElementById('code-scene') && document.getElementById('code-scene').textContent === 'switch-second-1'`)
	if got := eval[string](t, ctx, `location.hash`); got != "#/a/"+second.AppID+"/code/switch-second-1" {
		t.Errorf("the second account's code page is at %s", got)
	}
	set(t, ctx, "account", def.AppID)
	waitFor(t, ctx, `location.hash === '#/a/`+def.AppID+`/codes'`)

	// A link naming the account opens it.
	linked := page(t, "/a/"+second.AppID+"/codes?q=switch-second-1", "")
	waitFor(t, linked, row("switch-second-1"))
	if got := eval[string](t, linked, `document.getElementById('account').value`); got != second.AppID {
		t.Errorf("a link to the second account: the switcher shows %s", got)
	}

	// Creating on the second account's form makes the code there, not in the default account.
	create := page(t, "/a/"+second.AppID+"/create", "")
	do(t, create, chromedp.SendKeys(chromedp.ID("create-scene"), "switch-second-created"), chromedp.Click(chromedp.ID("create-permanent")),
		chromedp.Click(chromedp.ID("create-submit")))
	waitFor(t, create, `document.getElementById('create-result-link') || document.getElementById('create-error').textContent`)
	if msg := text(t, create, "#create-error"); msg != "" {
		t.Fatalf("the API refused the form: %s", msg)
	}
	if got := eval[string](t, create, `document.getElementById('create-result-link').getAttribute('href')`); got != "#/a/"+second.AppID+"/code/switch-second-created" {
		t.Errorf("the new code's link is %s", got)
	}
	if s := apiStatus(t, "/accounts/"+second.AppID+"/qrcodes/switch-second-created"); s != 200 {
		t.Errorf("the code made on the second account's form: GET there is %d", s)
	}
	if s := apiStatus(t, "/qrcodes/switch-second-created"); s != http.StatusNotFound {
		t.Errorf("the code made on the second account's form: GET in the default account is %d, want 404", s)
	}
}

func TestTheAccountsPageListsAddsAndRemoves(t *testing.T) {
	def, second := twoAccounts(t)
	ctx := page(t, "/accounts", "")
	listed := accountsNow(t)
	waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('[data-test="account-row"]').length === %d`, len(listed)))
	cell := func(appid, k string) string {
		return text(t, ctx, `[data-test="account-row"][data-appid="`+appid+`"] [data-test="`+k+`"]`)
	}
	if got := cell(def.AppID, "default"); got == "" {
		t.Error("the default account's row does not say it is the default")
	}
	if got := cell(second.AppID, "appid"); got != second.AppID {
		t.Errorf("the second account's AppID reads %q", got)
	}
	if got := cell(second.AppID, "name"); got != second.Name {
		t.Errorf("the second account's name reads %q, want %q", got, second.Name)
	}
	removable := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-test="account-remove"]')].map(b => b.dataset.appid)`)
	if slices.Contains(removable, def.AppID) || !slices.Contains(removable, second.AppID) {
		t.Errorf("remove buttons for %v: want every account but the default", removable)
	}
	// Today's counts are /stats/accounts's for today (China time).
	var today accountStats
	apiGet(t, "/stats/accounts?from="+chinaDay(0)+"&to="+chinaDay(0), &today)
	for _, a := range today.Accounts {
		if got, want := cell(a.AppID, "scans-today"), strconv.Itoa(a.Period.Scans); got != want {
			t.Errorf("%s: scans today %q, want %q", a.AppID, got, want)
		}
		if got, want := cell(a.AppID, "subs-today"), strconv.Itoa(a.Period.Subscribes); got != want {
			t.Errorf("%s: new followers today %q, want %q", a.AppID, got, want)
		}
	}
	audit(t, ctx, "accounts page")

	fillForm := func(appid, secret string) {
		set(t, ctx, "account-appid", appid)
		set(t, ctx, "account-name", "浏览器测试 <b>号</b>")
		set(t, ctx, "account-app-secret", secret)
		set(t, ctx, "account-token", "browsertoken1")
		do(t, ctx, chromedp.Click(chromedp.ID("account-submit")))
	}

	// A bad AppID: the API's own message, beside the field.
	body := func(appid, secret string) string {
		return `{"appid":"` + appid + `","name":"x","app_secret":"` + secret + `","token":"browsertoken1"}`
	}
	api := apiRefusal(t, "POST", "/accounts", body("wx123", strings.Repeat("a", 32)))
	fillForm("wx123", strings.Repeat("a", 32))
	waitFor(t, ctx, `document.getElementById('account-appid-error').textContent !== ''`)
	if got := text(t, ctx, "#account-appid-error"); got != api.Message || api.Status != http.StatusBadRequest || !strings.Contains(got, "appid") {
		t.Errorf("a bad AppID: the form says %q, the API %d %q", got, api.Status, api.Message)
	}
	if got := eval[string](t, ctx, `document.getElementById('account-appid').getAttribute('aria-invalid') || ''`); got != "true" {
		t.Error("the refused AppID is not marked invalid")
	}

	// An AppID WeChat does not know: WeChat's refusal and what to do about it.
	api = apiRefusal(t, "POST", "/accounts", body("wx00000000000000aa", strings.Repeat("b", 32)))
	if api.Status != http.StatusBadGateway || api.Errcode != 40013 {
		t.Fatalf("an AppID WeChat does not know: the API answers %+v, want 502 with errcode 40013", api)
	}
	fillForm("wx00000000000000aa", strings.Repeat("b", 32))
	waitFor(t, ctx, `document.getElementById('account-form-error').textContent !== ''`)
	// (WeChat's message ends in a request id of its own for each call.)
	withoutRID := func(s string) string { return regexp.MustCompile(` rid: \S+$`).ReplaceAllString(s, "") }
	if got := text(t, ctx, "#account-form-error > span"); withoutRID(got) != withoutRID(api.Message) {
		t.Errorf("WeChat's refusal of an unknown AppID shows as %q, want the API's %q", got, api.Message)
	}
	if got := text(t, ctx, `[data-test="account-form-hint"]`); !strings.Contains(got, "40013") {
		t.Errorf("WeChat's refusal of an unknown AppID comes with the hint %q", got)
	}
	audit(t, ctx, "accounts page, WeChat's refusal")

	// An account WeChat knows: added, listed, in the switcher, and its
	// secrets are nowhere in the page.
	app := emulatedAccount(t)
	fillForm(app.appID, app.secret)
	added := `[data-test="account-row"][data-appid="` + app.appID + `"]`
	waitFor(t, ctx, `document.querySelector('`+added+`') || document.getElementById('account-form-error').textContent`)
	if msg := text(t, ctx, "#account-form-error, #account-form .error:not(:empty)"); msg != "" {
		t.Fatalf("adding the account: %s", msg)
	}
	if got := cell(app.appID, "name"); got != "浏览器测试 <b>号</b>" {
		t.Errorf("the added account's name reads %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#main b').length`); n != 0 {
		t.Errorf("the account's name became %d elements", n)
	}
	if left := eval[[]string](t, ctx, `['account-appid', 'account-name', 'account-app-secret', 'account-token', 'account-aes-key']
		.filter(id => document.getElementById(id).value !== '')`); len(left) != 0 {
		t.Errorf("after adding, the form still holds %v", left)
	}
	if eval[bool](t, ctx, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, app.secret)) {
		t.Error("the AppSecret is still in the page")
	}
	waitFor(t, ctx, `[...document.querySelectorAll('#account option')].some(o => o.value === '`+app.appID+`')`)
	audit(t, ctx, "accounts page after adding")

	// Removing asks first; cancelling keeps it.
	do(t, ctx, chromedp.Click(chromedp.CSS(`[data-test="account-remove"][data-appid="`+app.appID+`"]`)))
	waitFor(t, ctx, `document.querySelector('[data-test="account-remove-confirm"][data-appid="`+app.appID+`"]')`)
	audit(t, ctx, "accounts page, confirming a removal")
	do(t, ctx, chromedp.Click(chromedp.CSS(`[data-test="account-remove-cancel"][data-appid="`+app.appID+`"]`)))
	waitFor(t, ctx, `document.querySelector('[data-test="account-remove"][data-appid="`+app.appID+`"]')`)
	if !slices.ContainsFunc(accountsNow(t), func(a account) bool { return a.AppID == app.appID }) {
		t.Fatal("cancelling removed the account")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`[data-test="account-remove"][data-appid="`+app.appID+`"]`)))
	do(t, ctx, chromedp.Click(chromedp.CSS(`[data-test="account-remove-confirm"][data-appid="`+app.appID+`"]`)))
	waitFor(t, ctx, `!document.querySelector('`+added+`') || document.getElementById('accounts-error').textContent`)
	if msg := text(t, ctx, "#accounts-error"); msg != "" {
		t.Fatalf("removing the account: %s", msg)
	}
	if slices.ContainsFunc(accountsNow(t), func(a account) bool { return a.AppID == app.appID }) {
		t.Error("the account removed on the page is still listed by the API")
	}
	waitFor(t, ctx, `![...document.querySelectorAll('#account option')].some(o => o.value === '`+app.appID+`')`)
}

func TestAllAccountsShowsEachAccountAndItsCSV(t *testing.T) {
	_, second := twoAccounts(t)
	apiPost(t, "/accounts/"+second.AppID+"/qrcodes", `{"scene":"all-sources-1","permanent":true}`)
	for i := range 2 {
		scanOf(t, second.AppID, fmt.Sprintf("all-sources-fan-%d", i), "all-sources-1")
	}
	ctx := page(t, "/all-sources", "")
	var want accountStats
	apiGet(t, "/stats/accounts?from="+chinaDay(-29)+"&to="+chinaDay(0), &want)
	if i := slices.IndexFunc(want.Accounts, func(a accountStat) bool { return a.AppID == second.AppID }); i < 0 || want.Accounts[i].Period.Subscribes < 2 {
		t.Fatalf("after 2 new followers of the second account, /stats/accounts says %+v", want.Accounts)
	}
	waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('[data-test="account-source-row"]').length === %d`, len(want.Accounts)))
	for _, a := range want.Accounts {
		r := `[data-test="account-source-row"][data-appid="` + a.AppID + `"] `
		for k, v := range map[string]int{"scans": a.Period.Scans, "subscribes": a.Period.Subscribes, "unique": a.Period.UniqueUsers,
			"unsubscribes": a.Period.Unsubscribes, "total-scans": a.Totals.Scans, "total-subscribes": a.Totals.Subscribes} {
			if got := text(t, ctx, r+`[data-test="`+k+`"]`); got != strconv.Itoa(v) {
				t.Errorf("%s: %s reads %q, want %d", a.AppID, k, got, v)
			}
		}
	}
	// The chart is drawn once uPlot, loaded on first use, is in.
	waitFor(t, ctx, `document.querySelector('#all-sources-chart canvas')`)
	audit(t, ctx, "all-accounts page")

	data, name, err := chrom.Download(ctx, chromedp.Click(chromedp.ID("all-sources-export")), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if name != "accounts-"+want.From+"-"+want.To+".csv" {
		t.Errorf("downloaded as %q", name)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want.Accounts)+1 || strings.Join(rows[0][:4], ",") != "appid,name,from,to" {
		t.Fatalf("the CSV: %q", rows)
	}
	for i, a := range want.Accounts {
		r := rows[i+1]
		if r[0] != a.AppID || strings.TrimPrefix(r[1], "'") != a.Name || r[2] != want.From || r[3] != want.To ||
			r[4] != strconv.Itoa(a.Period.Scans) || r[5] != strconv.Itoa(a.Period.Subscribes) {
			t.Errorf("CSV row %d is %q, want %s's", i+1, r, a.AppID)
		}
	}
}

// refusal is the API's answer to a request it refused.
type refusal struct {
	Status  int
	Error   string `json:"error"`
	Message string `json:"message"`
	Errcode int    `json:"errcode"`
}

// apiRefusal sends body to the API and returns its refusal.
func apiRefusal(t testing.TB, method, path, body string) refusal {
	t.Helper()
	console(t)
	req, _ := http.NewRequest(method, front.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := refusal{Status: res.StatusCode}
	if res.StatusCode < 400 || json.Unmarshal(b, &r) != nil {
		t.Fatalf("%s %s: %d %s, want a refusal", method, path, res.StatusCode, b)
	}
	return r
}

// emulatedApp is an account on the emulator's WeChat that no stack serves yet.
type emulatedApp struct{ appID, secret string }

// emulatedAccount puts a new account on the local stack's WeChat, for the
// Accounts page to add: WeChat accepts its AppSecret. It leaves with the test.
func emulatedAccount(t *testing.T) emulatedApp {
	t.Helper()
	p, err := st.Network.Add(wechattest.PlatformConfig{AppID: "wx3d3d3d3d3d3d3d3d", AppSecret: "3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.Config()
	t.Cleanup(func() { st.Network.Remove(cfg.AppID) })
	return emulatedApp{appID: cfg.AppID, secret: cfg.AppSecret}
}

// TestAUserOfOneAccountSeesOnlyIt signs in a user of the console group
// account-<A> only, where A is the second account: the switcher offers A
// alone, a link without an account opens A (the user may not see the
// default), and the default account is out of reach both by a typed link (the
// page shows the API's refusal and none of its data) and by the API with the
// user's token; adding an account is refused with the API's message. Then a
// user of no group is told whom to ask, and shown nothing else.
func TestAUserOfOneAccountSeesOnlyIt(t *testing.T) {
	def, second := twoAccounts(t)
	srv := moto.ForTest(t)
	pool := newUserPool(t, cognito(srv), "access")
	pool.addToGroup(t, "account-"+second.AppID)
	sc := startSigned(t, srv, pool, "access-")
	// Data of both accounts, through the management API (IAM; unchecked locally).
	for _, path := range []string{"/qrcodes", "/accounts/" + second.AppID + "/qrcodes"} {
		res, err := http.Post(sc.gw.URL+path, "application/json", strings.NewReader(`{"scene":"access-1","permanent":true}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}

	ctx, access := sc.signIn(t, "/codes")
	waitFor(t, ctx, `document.querySelector('[data-test="code-row"][data-scene="access-1"]')`)
	if got := eval[string](t, ctx, `location.hash`); got != "#/a/"+second.AppID+"/codes" {
		t.Errorf("an old link, for a user who may not see the default account: the address is %s, want the first listed account's", got)
	}
	if got := options(t, ctx); len(got) != 1 || got[0] != second.AppID {
		t.Errorf("the switcher offers %v, want %s alone", got, second.AppID)
	}
	audit(t, ctx, "codes page of a one-account user")

	// A typed link to the default account: the API's refusal, no data.
	status, body := sc.call(t, http.MethodGet, "/accounts/"+def.AppID+"/qrcodes?include=stats&limit=20", access)
	var refusal struct{ Error, Message string }
	if err := json.Unmarshal([]byte(body), &refusal); err != nil || status != http.StatusForbidden || refusal.Error != "forbidden" {
		t.Fatalf("the API with the user's token, on the default account: %d %s, want 403 forbidden", status, body)
	}
	do(t, ctx, chromedp.Navigate(sc.gw.URL+"/console#/a/"+def.AppID+"/codes"))
	waitFor(t, ctx, `document.getElementById('codes-error') && document.getElementById('codes-error').textContent !== ''`)
	if got := text(t, ctx, "#codes-error"); got != refusal.Message {
		t.Errorf("a typed link to the default account shows %q, want the API's %q", got, refusal.Message)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-test="code-row"]').length`); n != 0 {
		t.Errorf("a typed link to the default account shows %d codes", n)
	}
	if got := options(t, ctx); len(got) != 1 || got[0] != second.AppID {
		t.Errorf("on the default account's link the switcher offers %v, want %s alone", got, second.AppID)
	}
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/accounts/" + def.AppID + "/qrcodes", http.StatusForbidden},
		{"/qrcodes", http.StatusForbidden}, // the default account, spelled the old way
		{"/accounts/" + def.AppID + "/stats/sources", http.StatusForbidden},
		{"/accounts/" + second.AppID + "/qrcodes", http.StatusOK},
	} {
		if got, body := sc.call(t, http.MethodGet, tt.path, access); got != tt.status {
			t.Errorf("GET /console/api%s with the user's token: %d %s, want %d", tt.path, got, body, tt.status)
		}
	}
	// Adding an account is for admins: the page shows the API's refusal.
	do(t, ctx, chromedp.Navigate(sc.gw.URL+"/console#/accounts"))
	waitFor(t, ctx, `document.querySelectorAll('[data-test="account-row"]').length === 1`)
	set(t, ctx, "account-appid", "wx00000000000000bb")
	set(t, ctx, "account-name", "x")
	set(t, ctx, "account-app-secret", strings.Repeat("c", 32))
	set(t, ctx, "account-token", "browsertoken1")
	do(t, ctx, chromedp.Click(chromedp.ID("account-submit")))
	waitFor(t, ctx, `document.getElementById('account-form-error').textContent !== ''`)
	if got := text(t, ctx, "#account-form-error"); !strings.Contains(got, "admins") {
		t.Errorf("a non-admin adding an account reads %q, want the API's 403 message naming the group admins", got)
	}

	// A user of no group: the console says so and whom to ask, and shows no page.
	sc.ui.signInAs(pool.withUser(t, "nobody@example.com"))
	none, _ := sc.signIn(t, "/a/"+second.AppID+"/codes")
	waitFor(t, none, `document.getElementById('no-account')`)
	if got := text(t, none, "#no-account"); !strings.Contains(got, "account-<AppID>") || !strings.Contains(got, "admins") {
		t.Errorf("a user of no group reads %q", got)
	}
	if n := eval[int](t, none, `document.querySelectorAll('#nav a, [data-test="code-row"], #codes-table').length`); n != 0 {
		t.Errorf("a user of no group is shown %d links or tables", n)
	}
	if eval[bool](t, none, `!document.getElementById('account-field').hidden`) {
		t.Error("a user of no group is shown the account switcher")
	}
	audit(t, none, "a user of no group")
}
