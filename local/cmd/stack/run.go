package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"wechatqr/local/stack"
)

func run(ctx context.Context, addr, data string, verbose bool) error {
	start := time.Now()
	// Take the port first: a newcomer's most likely error, reported before the
	// slow start rather than after it.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s is in use (another `make run`?): stop it, or pick another port with `make run ADDR=127.0.0.1:3001`", addr)
		}
		return err
	}
	defer ln.Close()
	logs := io.Discard
	if verbose {
		logs = os.Stderr
	}
	fmt.Println("starting DynamoDB Local, moto_server, the WeChat emulator and the functions…")
	component := stack.LocalComponent
	s, err := stack.Start(ctx, stack.Options{DataDir: data, Logs: logs, Accounts: []stack.Account{stack.SecondAccount}, Component: &component})
	if err != nil {
		return err
	}
	defer s.Close()

	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/", s.Front())
	mux.Handle(stack.ControlPath, s.Control(base))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// The platform: its URLs pointed here, a first ticket, one account authorized.
	if err := s.ConnectPlatform(ctx, base); err != nil {
		return err
	}
	if _, err := s.Authorize(ctx, base, stack.LocalAuthorizer, nil); err != nil {
		return err
	}
	go s.Component.Run(ctx, time.Second) // a ticket every 10 minutes, as WeChat pushes them
	defer func() {
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()

	fmt.Printf(`
wechat-qr is running at %s  (ready in %.1fs)

  console:  %s/console  (open it in a browser; no sign-in locally)

  routes:
    %s

  WeChat emulator:  %s  (the default account %s, Token %s;
                    and %s, a second direct account: /accounts/%s/…, make scan APPID=%s;
                    a third-party platform, %s, authorized by %s: make scan APPID=%s;
                    make authorize connects another account)
  DynamoDB Local:   %s%s

  try, in another terminal:
    curl -s -X POST %s/qrcodes -d '{"scene":"riddle-1","permanent":true,"reply":{"type":"text","content":"Answer: a map"}}'
    curl -s -o riddle-1.png '%s/qrcodes/riddle-1/image?size=300'
    make scan SCENE=riddle-1 OPENID=user-1
    make scan SCENE=riddle-1 OPENID=user-2 MODE=safe
    curl -s %s/qrcodes/riddle-1
%s
  Ctrl-C stops everything.
`, base, time.Since(start).Seconds(), base, strings.Join(s.Routes(), "\n    "),
		s.PlatformURL(), s.Platform.Config().AppID, s.Platform.Config().Token,
		stack.SecondAccount.Platform.AppID, stack.SecondAccount.Platform.AppID, stack.SecondAccount.Platform.AppID,
		component.AppID, stack.LocalAuthorizer, stack.LocalAuthorizer, s.DB.Endpoint(), motoLine(s), base, base, base, actionsTry(s, base))

	// The template's schedule runs the token refresh every minute; so does this
	// (ConnectPlatform ran the first).
	refresh := func() {
		if err := s.RefreshTokens(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "scheduled token refresh failed:", err)
		}
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println("\nstopping…")
			return nil
		case <-tick.C:
			refresh()
		}
	}
}

// motoLine names moto_server when the stack runs it (a function reads a stream).
func motoLine(s *stack.Stack) string {
	if s.MotoURL() == "" {
		return ""
	}
	return "\n  moto_server:      " + s.MotoURL() + "  (EventBridge, SQS: the scan events and the dead-letter queue)"
}

// actionsTry shows the scan actions when the stack runs them.
func actionsTry(s *stack.Stack, base string) string {
	if _, ok := s.Mapping("ScanActionsFunction"); !ok {
		return ""
	}
	return fmt.Sprintf(`
  scan actions (a tag and follow-up messages, after the reply, through the events table's stream):
    curl -s -X POST %s/qrcodes -d '{"scene":"poster-1","permanent":true,"reply":{"type":"text","content":"Welcome!"},"tag":"Beijing poster","followups":[{"type":"text","content":"Here is your coupon"},{"type":"text","content":"See you soon"}]}'
    make scan SCENE=poster-1 OPENID=user-3
`, base)
}

func scan(ctx context.Context, addr, appID, scene, openid, mode string) error {
	if scene == "" || openid == "" {
		return errors.New("scan needs SCENE and OPENID, e.g. `make scan SCENE=riddle-1 OPENID=user-1`")
	}
	if _, err := stack.ParseMode(mode); err != nil {
		return err
	}
	q := url.Values{"scene": {scene}, "openid": {openid}, "mode": {mode}}
	if appID != "" {
		q.Set("appid", appID)
	}
	var r stack.ScanResult
	if err := control(ctx, addr, "scan", q, &r); err != nil {
		return err
	}
	fmt.Printf("WeChat pushed %s (%s mode) for %q by %s; the callback answered %d:\n%s\n", r.Event, r.Mode, scene, openid, r.Status, r.Reply)
	if r.Actions != "" {
		fmt.Printf("\nscan actions: %s\n", r.Actions)
	}
	if len(r.Followups) > 0 {
		fmt.Printf("\nthen, through the events table's stream, %s received:\n", openid)
		for i, m := range r.Followups {
			fmt.Printf("  %d. %s\n", i+1, m)
		}
	}
	if len(r.Tags) > 0 {
		fmt.Printf("\n%s holds the tags: %s\n", openid, strings.Join(r.Tags, ", "))
	}
	return nil
}

// authorize connects an account to the running stack's platform, as its
// administrator's scan of the authorization page would.
func authorize(ctx context.Context, addr, appID string) error {
	if appID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		appID = "wx" + hex.EncodeToString(b[:])
	}
	var a struct {
		AppID       string `json:"appid"`
		Name        string `json:"name"`
		UserName    string `json:"user_name"`
		Permissions []int  `json:"permissions"`
	}
	if err := control(ctx, addr, "authorize", url.Values{"appid": {appID}}, &a); err != nil {
		return err
	}
	fmt.Printf("%s (%s, %s) authorized the platform, granting the permission sets %v.\n", a.AppID, a.Name, a.UserName, a.Permissions)
	fmt.Printf("It shows on the console's Accounts page; its API is under /accounts/%s/…; make scan APPID=%s SCENE=… OPENID=… scans one of its codes.\n", a.AppID, a.AppID)
	return nil
}

// control sends a command to the running stack's ControlPath and decodes its
// answer into out.
func control(ctx context.Context, addr, command string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+stack.ControlPath+command+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no local stack at %s: start it with `make run` first (%v)", addr, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, out)
}
