// Package inmem is an in-memory store with the same semantics as package dynamo:
// a claim and its counts are written together or not at all, and a second claim of
// one push returns the first. It serves benchmarks that measure compute alone and
// unit tests of the logic; it is never deployed.
package inmem

import (
	"context"
	"sync"

	"wechatqr/shared/qr"
)

// Store is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	codes  map[string]*qr.Code
	claims map[string]*qr.Claim
	stats  map[string]qr.Stats
	scans  []qr.Scan
}

// New returns an empty Store.
func New() *Store {
	return &Store{codes: map[string]*qr.Code{}, claims: map[string]*qr.Claim{}, stats: map[string]qr.Stats{}}
}

// PutCode stores a scene's mapping, replacing any earlier one.
func (s *Store) PutCode(_ context.Context, c *qr.Code) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *c
	s.codes[c.Scene] = &cp
	return nil
}

// Lookup returns the scene's mapping and the push's earlier claim, if any.
func (s *Store) Lookup(_ context.Context, pushKey, scene string) (*qr.Code, *qr.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[scene], s.claims[pushKey], nil
}

// Record claims the push and counts its scan, or returns the earlier claim.
func (s *Store) Record(_ context.Context, c qr.Claim, scan *qr.Scan) (*qr.Claim, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prior, ok := s.claims[c.Key]; ok {
		return prior, false, nil
	}
	s.claims[c.Key] = &c
	if scan != nil {
		s.scans = append(s.scans, *scan)
		if scan.Scene != "" {
			st := s.stats[scan.Scene]
			st.Scans++
			if scan.Event == qr.EventSubscribe {
				st.Subscribes++
			}
			st.LastScanAt = scan.At
			s.stats[scan.Scene] = st
		}
	}
	return &c, true, nil
}

// SceneStats returns a scene's counters.
func (s *Store) SceneStats(_ context.Context, scene string) (qr.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats[scene], nil
}

// Scans returns a copy of every scan recorded.
func (s *Store) Scans() []qr.Scan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]qr.Scan(nil), s.scans...)
}
