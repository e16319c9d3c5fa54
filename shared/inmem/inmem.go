// Package inmem is an in-memory store with the same semantics as package dynamo:
// a claim and its counts are written together or not at all, a second claim of
// one push returns the first, users count once per scene and day, unsubscribes
// are charged to the scene that brought the follower, and a log-in session binds
// its first scanner. It serves benchmarks that measure compute alone and unit
// tests of the logic; it is never deployed. The suite of package storetest checks
// the claim, against this store and against DynamoDB Local.
package inmem

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"wechatqr/shared/qr"
)

// Store is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	codes    map[string]*qr.Code
	claims   map[string]*qr.Claim
	totals   map[string]qr.Counts
	days     map[string]map[string]qr.Counts // scene → day → counts
	seen     map[string]bool                 // scene|openid and scene|openid|day
	sources  map[string]string               // openid → scene
	sessions map[string]*qr.Session
	sigs     map[string][32]byte // a plain push's query signature → its body's hash
	scans    []qr.Scan
	accounts map[string]*Store // the other accounts' stores, by AppID
}

// Account returns the store of the account appID, which shares nothing with s
// or with any other account's; "" is s itself (the default account).
func (s *Store) Account(appID string) *Store {
	if appID == "" {
		return s
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts == nil {
		s.accounts = map[string]*Store{}
	}
	a, ok := s.accounts[appID]
	if !ok {
		a = New()
		s.accounts[appID] = a
	}
	return a
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		codes: map[string]*qr.Code{}, claims: map[string]*qr.Claim{}, totals: map[string]qr.Counts{},
		days: map[string]map[string]qr.Counts{}, seen: map[string]bool{}, sources: map[string]string{},
		sessions: map[string]*qr.Session{}, sigs: map[string][32]byte{},
	}
}

// PutCode stores a scene's mapping, replacing any earlier one.
func (s *Store) PutCode(_ context.Context, c *qr.Code) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *c
	s.codes[c.Scene] = &cp
	return nil
}

// Lookup returns what handling the push needs.
func (s *Store) Lookup(_ context.Context, q qr.Lookup) (qr.PushState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := qr.PushState{Claim: s.claims[q.PushKey], SignatureReused: s.reused(q.Signed)}
	if q.Event == qr.EventUnsubscribe {
		st.Source = s.sources[q.OpenID]
	}
	if q.Scene != "" {
		st.Code = s.codes[q.Scene]
		_, st.Registered = s.totals[q.Scene]
		st.Seen = s.seen[q.Scene+"|"+q.OpenID]
		st.SeenToday = s.seen[q.Scene+"|"+q.OpenID+"|"+qr.DayOf(q.At)]
	}
	return st, nil
}

// Record claims the push and counts it, or returns the earlier claim. The hints
// in scan are checked again here, as the DynamoDB store's conditions do.
func (s *Store) Record(_ context.Context, c qr.Claim, scan *qr.Scan) (*qr.Claim, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reused(c.Signed) {
		return nil, false, qr.ErrSignatureReused
	}
	if prior, ok := s.claims[c.Key]; ok {
		return prior, false, nil
	}
	s.claim(&c)
	if scan == nil {
		return &c, true, nil
	}
	s.scans = append(s.scans, *scan)
	day := qr.DayOf(scan.At)
	var delta, dayDelta qr.Counts
	charged := scan.Scene
	switch {
	case scan.Event == qr.EventUnsubscribe:
		charged = s.sources[scan.OpenID]
		delete(s.sources, scan.OpenID)
		delta.Unsubscribes, dayDelta.Unsubscribes = 1, 1
	case scan.Scene == "":
		delete(s.sources, scan.OpenID)
	default:
		delta.Scans = 1
		if scan.Event == qr.EventSubscribe {
			delta.Subscribes = 1
			s.sources[scan.OpenID] = scan.Scene
		}
		dayDelta = delta
		if k := scan.Scene + "|" + scan.OpenID; !s.seen[k] {
			s.seen[k], delta.UniqueUsers = true, 1
		}
		if k := scan.Scene + "|" + scan.OpenID + "|" + day; !s.seen[k] {
			s.seen[k], dayDelta.UniqueUsers = true, 1
		}
	}
	if charged != "" {
		t := s.totals[charged]
		t.Add(delta)
		s.totals[charged] = t
		if s.days[charged] == nil {
			s.days[charged] = map[string]qr.Counts{}
		}
		d := s.days[charged][day]
		d.Add(dayDelta)
		s.days[charged][day] = d
	}
	return &c, true, nil
}

// SceneStats returns a scene's totals and its days in [from, to] ("" for none).
func (s *Store) SceneStats(_ context.Context, scene, from, to string) (qr.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := qr.Stats{Scene: scene, Totals: s.totals[scene], Days: []qr.Day{}}
	for day, c := range s.days[scene] {
		if from != "" && day >= from && day <= to {
			st.Days = append(st.Days, qr.Day{Date: day, Counts: c})
		}
	}
	slices.SortFunc(st.Days, func(a, b qr.Day) int { return strings.Compare(a.Date, b.Date) })
	return st, nil
}

// CreateSession stores a new pending session; its id must be new (EConflict),
// so that a session once bound is never made pending again.
func (s *Store) CreateSession(_ context.Context, sess *qr.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess.ID]; ok {
		return qr.Errorf(qr.EConflict, "session %q exists", sess.ID)
	}
	cp := *sess
	cp.Status = qr.SessionPending
	s.sessions[sess.ID] = &cp
	return nil
}

// BindSession binds a pending, unexpired session to openid with the claim. A
// session someone bound answers LoginUsed, before or after its expiry; one never
// created answers LoginExpired.
func (s *Store) BindSession(_ context.Context, c qr.Claim, id, openid string, at time.Time) (string, *qr.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reused(c.Signed) {
		return "", nil, qr.ErrSignatureReused
	}
	if prior, ok := s.claims[c.Key]; ok {
		return "", prior, nil
	}
	sess, ok := s.sessions[id]
	switch {
	case !ok:
		return qr.LoginExpired, nil, nil
	case sess.Status != qr.SessionPending:
		return qr.LoginUsed, nil, nil
	case !at.Before(sess.ExpiresAt):
		return qr.LoginExpired, nil, nil
	}
	s.claim(&c)
	sess.Status, sess.OpenID, sess.ScannedAt = qr.SessionScanned, openid, at
	return qr.LoginBound, nil, nil
}

// reused tells whether sb's signature was recorded with another body.
func (s *Store) reused(sb *qr.SignedBody) bool {
	if sb == nil {
		return false
	}
	body, ok := s.sigs[sb.Signature]
	return ok && body != sb.Body
}

// claim writes c and the signature it came with. Signatures are never
// forgotten here (DynamoDB's TTL drops them past the window).
func (s *Store) claim(c *qr.Claim) {
	s.claims[c.Key] = c
	if c.Signed != nil {
		s.sigs[c.Signed.Signature] = c.Signed.Body
	}
}

// Scans returns a copy of every scan recorded.
func (s *Store) Scans() []qr.Scan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]qr.Scan(nil), s.scans...)
}
