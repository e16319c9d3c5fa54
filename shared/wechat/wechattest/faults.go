package wechattest

import (
	"net/http"
	"time"
)

// Fault is what an injected failure does to one request. Set one kind of
// answer at most: Hang first holds the request; then ErrCode, or Status
// (with Body), answers it; a Fault with neither, after its hang, lets the
// request be served normally (a slow answer).
type Fault struct {
	// ErrCode answers HTTP 200 with {"errcode":ErrCode,"errmsg":ErrMsg}.
	// ErrMsg is sent exactly as given; empty, it is WeChat's message for the
	// code with a " rid: …" suffix, as the Platform's own errors have.
	ErrCode int
	ErrMsg  string
	// Status answers with this HTTP status (a 5xx from a gateway, say) and
	// Body, defaulting to the status text; ContentType defaults to
	// text/html, as a gateway's error page would be. A 200 with a Body that
	// is not JSON is also a way to send garbage.
	Status      int
	Body        []byte
	ContentType string
	// Hang holds the request before answering: for HangFor, or, when
	// HangFor is 0, until the client gives up (its context is cancelled or
	// the connection closes) or the Platform is closed.
	Hang    bool
	HangFor time.Duration
}

// ErrCodeFault answers with errcode code and WeChat's message for it.
func ErrCodeFault(code int) Fault { return Fault{ErrCode: code} }

// StatusFault answers with an HTTP status and its text as the body.
func StatusFault(status int) Fault { return Fault{Status: status} }

// HangFault holds the request until the client gives up (d = 0) or for d,
// after which the request is served normally.
func HangFault(d time.Duration) Fault { return Fault{Hang: true, HangFor: d} }

// FailNext makes the next n requests to path fail with f, after any faults
// already queued for path. path is the request's path as the Platform sees
// it, such as PathToken.
func (p *Platform) FailNext(path string, n int, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.faults[path] = append(p.faults[path], f)
	}
}

// popFault takes the next fault queued for path. Callers hold p.mu.
func (p *Platform) popFault(path string) (Fault, bool) {
	q := p.faults[path]
	if len(q) == 0 {
		return Fault{}, false
	}
	p.faults[path] = q[1:]
	return q[0], true
}

// faultOutcome says what is left to do after a fault ran.
type faultOutcome int

const (
	faultAnswered faultOutcome = iota // res holds the answer
	faultServe                        // serve the request normally (a hang ran its course)
	faultGone                         // the client gave up: nobody to answer
	faultClosed                       // the Platform closed: drop the connection
)

// applyFault holds and answers r as f says.
func (p *Platform) applyFault(r *http.Request, f Fault) (response, faultOutcome) {
	if f.Hang {
		var timeout <-chan time.Time
		if f.HangFor > 0 {
			t := time.NewTimer(f.HangFor)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-r.Context().Done():
			return response{}, faultGone
		case <-p.done:
			return response{}, faultClosed
		case <-timeout:
		}
	}
	switch {
	case f.ErrCode != 0:
		if f.ErrMsg != "" {
			return errcodeMsgResponse(f.ErrCode, f.ErrMsg), faultAnswered
		}
		return errcodeResponse(f.ErrCode), faultAnswered
	case f.Status != 0:
		body := f.Body
		if body == nil {
			body = []byte(http.StatusText(f.Status) + "\n")
		}
		ct := f.ContentType
		if ct == "" {
			ct = "text/html; charset=utf-8"
		}
		return response{status: f.Status, contentType: ct, body: body}, faultAnswered
	}
	return response{}, faultServe
}

// dropConnection closes the connection under w without an answer, as a
// server going away does. Returning from the handler instead would send an
// empty 200, which a client would take for an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot be hijacked; a 503 is the next best thing.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn.Close()
}
