package wechattest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// ErrDuplicateAppID: Network.Add got the AppID of an account already on the
// Network.
var ErrDuplicateAppID = errors.New("wechattest: AppID already on the network")

// Network emulates WeChat's API host as a deployment with many Official
// Accounts meets it: one base URL serving every account, each a Platform of
// its own with its own credentials, tokens, quotas, codes, tags, followers,
// faults and call records. A stack that serves many AppIDs talks to one
// host, so its tests must too; and because each account keeps its own
// records, they can prove that one account's token never acted on another
// (B's CallLog holds only calls made with B's tokens) and that one account's
// traffic never spends another's quota.
//
// It routes as WeChat's host does: the token endpoints by their appid (the
// query's for /cgi-bin/token, the body's for /cgi-bin/stable_token),
// showqrcode by the account that created the ticket, every other call by the
// account that issued its access_token. A call that names no account on the
// Network (an unknown appid, a token no account issued or one forgotten a
// day past its expiry, an unknown ticket) gets the answer a single Platform
// gives for it: 40013, 40014, 41001, 41002, a 404, and so on. The Network's
// CallLog shows which account took each call, "" for none.
//
// Faults, state and pushes stay per account: reach them through
// Platform(appid). Like Platform it is a working fake: serve it with Start
// or from any http.Server. It is safe for concurrent use.
type Network struct {
	// nobody answers the calls no account takes: it has no AppID and issues
	// no tokens, so it answers them as a Platform answers what is not its
	// own.
	nobody *Platform

	mu       sync.Mutex
	accounts map[string]*Platform
	baseURL  string
	srv      *httptest.Server
	calls    map[string][]networkCall
	// components are the third-party platforms mounted on the Network
	// (AddComponent); they take the /cgi-bin/component/… calls (component.go).
	components []*Component
}

// networkCall is a call in the Network's log: the account that took it
// (nobody for none), whose lock guards the record's Status and ErrCode.
type networkCall struct {
	p    *Platform
	call *Call
}

// NetworkCall is a request the Network received: the AppID of the account
// it was routed to ("" when it matched none) and the account's record of it.
type NetworkCall struct {
	AppID string
	Call
}

// NewNetwork returns a Network with an account for each of cfgs (empty
// fields take the Default… values, as in NewPlatform). A config whose AppID
// is already there is skipped: the first one wins. Use Add to be told.
func NewNetwork(cfgs ...PlatformConfig) *Network {
	nobody := NewPlatform(PlatformConfig{})
	nobody.cfg.AppID = "" // no appid matches it: 40013, or 41002 without one
	n := &Network{
		nobody:   nobody,
		accounts: map[string]*Platform{},
		calls:    map[string][]networkCall{},
	}
	for _, cfg := range cfgs {
		n.Add(cfg) // a duplicate is skipped, as documented
	}
	return n
}

// Add puts a new account with cfg's settings on the Network and returns
// it. Its BaseURL is the Network's, once the Network has one. It fails with
// ErrDuplicateAppID when an account with the same AppID (after defaults) is
// already there.
func (n *Network) Add(cfg PlatformConfig) (*Platform, error) {
	p := NewPlatform(cfg)
	appID := p.cfg.AppID
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.accounts[appID]; ok {
		return nil, fmt.Errorf("%w: %s", ErrDuplicateAppID, appID)
	}
	if n.baseURL != "" {
		p.SetBaseURL(n.baseURL)
	}
	n.accounts[appID] = p
	return p, nil
}

// Platform returns the account with this AppID, nil if there is none.
func (n *Network) Platform(appID string) *Platform {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.accounts[appID]
}

// Remove takes the account with this AppID off the Network, if it is
// there: its appid, tokens and tickets become unknown, and requests held by
// its hang faults are dropped (Platform.Close). Its state stays readable
// through a *Platform kept from before.
func (n *Network) Remove(appID string) {
	n.mu.Lock()
	p := n.accounts[appID]
	delete(n.accounts, appID)
	n.mu.Unlock()
	if p != nil {
		p.Close()
	}
}

// AppIDs returns the AppIDs of the accounts on the Network, sorted.
func (n *Network) AppIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.accounts))
	for id := range n.accounts {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Start serves the Network on a new loopback httptest.Server, sets every
// account's BaseURL to it, and returns it. Once started, it returns the
// same server.
func (n *Network) Start() *httptest.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		n.srv = httptest.NewServer(n)
		n.setBaseURL(n.srv.URL)
	}
	return n.srv
}

// SetBaseURL sets the address every account's ShowQRCodeURL points at, for
// a Network served by an http.Server of your own.
func (n *Network) SetBaseURL(u string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.setBaseURL(u)
}

// setBaseURL: callers hold n.mu.
func (n *Network) setBaseURL(u string) {
	n.baseURL = strings.TrimRight(u, "/")
	for _, p := range n.accounts {
		p.SetBaseURL(n.baseURL)
	}
}

// URL is the Network's base URL: what every account's wechat.Client takes
// as baseURL.
func (n *Network) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.baseURL
}

// Close closes every account on the Network (releasing requests held by
// hang faults) and the server Start made, if any. It is safe to call more
// than once.
func (n *Network) Close() {
	n.mu.Lock()
	ps := n.platforms()
	srv := n.srv
	n.mu.Unlock()
	for _, p := range ps {
		p.Close()
	}
	for _, c := range n.mounted() {
		c.shutdown()
	}
	n.nobody.Close()
	if srv != nil {
		srv.Close()
	}
}

// Calls returns how many requests reached path on the Network, whichever
// account took them, including those that matched none.
func (n *Network) Calls(path string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.calls[path])
}

// CallLog returns copies of the requests that reached path, oldest first,
// each with the AppID of the account that took it ("" for none). An
// account's Reset does not clear it.
func (n *Network) CallLog(path string) []NetworkCall {
	n.mu.Lock()
	log := slices.Clone(n.calls[path])
	n.mu.Unlock()
	out := make([]NetworkCall, len(log))
	for i, c := range log {
		c.p.mu.Lock()
		out[i] = NetworkCall{AppID: c.p.cfg.AppID, Call: *c.call}
		c.p.mu.Unlock()
		out[i].Body = append([]byte(nil), out[i].Body...)
	}
	return out
}

// platforms returns the accounts. Callers hold n.mu.
func (n *Network) platforms() []*Platform {
	out := make([]*Platform, 0, len(n.accounts))
	for _, p := range n.accounts {
		out = append(out, p)
	}
	return out
}

// ServeHTTP answers r at the account it names (see Network), logging it on
// the Network too.
func (n *Network) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readRequestBody(r)
	if c := n.component(r, body); c != nil {
		c.serve(w, r, body, err, n.logger(r, c.rec))
		return
	}
	p := n.route(r, body)
	p.serve(w, r, body, err, n.logger(r, p))
}

// logger is the hook with which the account (or Component records) p that
// takes r logs it on the Network too.
func (n *Network) logger(r *http.Request, p *Platform) func(*Call) {
	return func(c *Call) {
		n.mu.Lock()
		n.calls[r.URL.Path] = append(n.calls[r.URL.Path], networkCall{p, c})
		n.mu.Unlock()
	}
}

// route picks the account that takes r, nobody when none does.
func (n *Network) route(r *http.Request, body []byte) *Platform {
	q := r.URL.Query()
	switch r.URL.Path {
	case PathToken:
		return n.byAppID(q.Get("appid"))
	case PathStableToken:
		var req struct {
			AppID string `json:"appid"`
		}
		if json.Unmarshal(body, &req) != nil {
			return n.nobody // it answers 47001, as the account would
		}
		return n.byAppID(req.AppID)
	case PathShowQRCode:
		ticket := q.Get("ticket")
		return n.find(ticket != "", func(p *Platform) bool { return p.hasTicket(ticket) })
	}
	tok := q.Get("access_token")
	return n.find(tok != "", func(p *Platform) bool { return p.ownsToken(tok) })
}

func (n *Network) byAppID(appID string) *Platform {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.accounts[appID]; ok {
		return p
	}
	return n.nobody
}

// find returns the account for which owns is true, nobody when none is or
// when there is nothing to look for. The accounts are asked without n.mu
// held, so that a slow account does not hold up the others.
func (n *Network) find(lookup bool, owns func(*Platform) bool) *Platform {
	if !lookup {
		return n.nobody
	}
	n.mu.Lock()
	ps := n.platforms()
	n.mu.Unlock()
	for _, p := range ps {
		if owns(p) {
			return p
		}
	}
	return n.nobody
}

// ownsToken reports whether p issued access token tok and still remembers
// it (a day past its expiry), valid or not: a token it answers with its
// own errcode rather than 40014.
func (p *Platform) ownsToken(tok string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.tokens[tok]
	return ok
}

// hasTicket reports whether p created the code with this ticket, expired
// or not.
func (p *Platform) hasTicket(ticket string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.codes[ticket]
	return ok
}
