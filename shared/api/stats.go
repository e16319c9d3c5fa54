package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"wechatqr/shared/qr"
)

// Periods of the statistics routes.
const (
	DefaultPeriodDays = 30  // when from and to are absent: the last 30 days, today included
	MaxPeriodDays     = 366 // a year, leap day included
)

// period reads from and to (YYYY-MM-DD, inclusive, days in UTC+8).
func (h *Handler) period(r *http.Request) (from, to string, err error) {
	q := r.URL.Query()
	parse := func(name, v string) (time.Time, error) {
		t, perr := time.ParseInLocation(time.DateOnly, v, qr.ChinaTime)
		if perr != nil {
			return t, qr.Errorf(qr.EInvalid, "%s: a day as YYYY-MM-DD (days are China Standard Time, UTC+8)", name)
		}
		return t, nil
	}
	end := h.cfg.Now().In(qr.ChinaTime)
	if v := q.Get("to"); v != "" {
		if end, err = parse("to", v); err != nil {
			return "", "", err
		}
	}
	start := end.AddDate(0, 0, -(DefaultPeriodDays - 1))
	if v := q.Get("from"); v != "" {
		if start, err = parse("from", v); err != nil {
			return "", "", err
		}
	}
	from, to = start.Format(time.DateOnly), end.Format(time.DateOnly)
	switch {
	case from > to:
		return "", "", qr.Errorf(qr.EInvalid, "from: %s is after to (%s)", from, to)
	case end.Sub(start) >= MaxPeriodDays*24*time.Hour:
		return "", "", qr.Errorf(qr.EInvalid, "from, to: at most %d days", MaxPeriodDays)
	}
	return from, to, nil
}

// stats answers a scene's totals and its days in the period.
func (h *Handler) stats(w http.ResponseWriter, r *http.Request) {
	from, to, err := h.period(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.store.SceneStats(r.Context(), r.PathValue("scene"), from, to)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		qr.Stats
		From string `json:"from"`
		To   string `json:"to"`
	}{st, from, to})
}

// source is one scene's line of GET /stats/sources.
type source struct {
	Scene string `json:"scene"`
	// Period sums the scene's days in the period; its unique_users is the sum of
	// each day's distinct users (a user scanning on two days counts twice).
	Period qr.Counts `json:"period"`
	Totals qr.Counts `json:"totals"`
}

// Paging of GET /stats/sources.
const (
	DefaultSourcesPage = 50
	MaxSourcesPage     = 200
	sourcesFanOut      = 16 // scenes read at once
)

// sources answers every scene's counts for a period, most new followers first.
// It reads every scene's shards (the registry lists them), so its cost grows
// with the number of scenes; see docs/architecture.md, "Scaling".
func (h *Handler) sources(w http.ResponseWriter, r *http.Request) {
	from, to, err := h.period(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	limit, offset := DefaultSourcesPage, 0
	if v := q.Get("limit"); v != "" {
		n, err := parseInt(v)
		if err != nil || n < 1 || n > MaxSourcesPage {
			h.fail(w, r, qr.Errorf(qr.EInvalid, "limit: a whole number from 1 to %d", MaxSourcesPage))
			return
		}
		limit = int(n)
	}
	if v := q.Get("cursor"); v != "" {
		n, err := parseInt(v)
		if err != nil {
			h.fail(w, r, qr.Errorf(qr.EInvalid, "cursor: not a cursor this API returned"))
			return
		}
		offset = int(n)
	}
	scenes, err := h.store.Scenes(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lines, err := h.readSources(r.Context(), scenes, from, to)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slices.SortFunc(lines, func(a, b source) int {
		return cmp.Or(
			cmp.Compare(b.Period.Subscribes, a.Period.Subscribes),
			cmp.Compare(b.Period.Scans, a.Period.Scans),
			cmp.Compare(a.Scene, b.Scene))
	})
	page := struct {
		From       string   `json:"from"`
		To         string   `json:"to"`
		Sources    []source `json:"sources"`
		NextCursor string   `json:"next_cursor,omitempty"`
	}{From: from, To: to, Sources: []source{}}
	if offset < len(lines) {
		end := min(offset+limit, len(lines))
		page.Sources = lines[offset:end]
		if end < len(lines) {
			page.NextCursor = strconv.Itoa(end)
		}
	}
	writeJSON(w, http.StatusOK, page)
}

func (h *Handler) readSources(ctx context.Context, scenes []string, from, to string) ([]source, error) {
	lines := make([]source, len(scenes))
	errs := make([]error, len(scenes))
	sem := make(chan struct{}, sourcesFanOut)
	var wg sync.WaitGroup
	for i, scene := range scenes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := h.store.SceneStats(ctx, scene, from, to)
			if err != nil {
				errs[i] = err
				return
			}
			lines[i] = source{Scene: scene, Totals: st.Totals}
			for _, d := range st.Days {
				lines[i].Period.Add(d.Counts)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return lines, nil
}

// totals sums the account's sources: all time and over [from, to].
func (h *Handler) totals(ctx context.Context, from, to string) (all, period qr.Counts, err error) {
	scenes, err := h.store.Scenes(ctx)
	if err != nil {
		return all, period, err
	}
	lines, err := h.readSources(ctx, scenes, from, to)
	if err != nil {
		return all, period, err
	}
	for _, l := range lines {
		all.Add(l.Totals)
		period.Add(l.Period)
	}
	return all, period, nil
}
