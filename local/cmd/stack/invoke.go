package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/local/stack"
)

// shortNames are the function names of functions/, for FN=.
var shortNames = map[string]string{
	"callback": "CallbackFunction", "qrcode": "QRCodeFunction", "tokenrefresh": "TokenRefreshFunction",
	"scanactions": "ScanActionsFunction",
}

// invoke runs one invocation of one function's bootstrap under aws-lambda-rie
// against a fresh local stack (DynamoDB Local with the template's tables and the
// emulator), and prints the response and the REPORT line.
func invoke(ctx context.Context, fn, file string) error {
	id := shortNames[fn]
	if id == "" {
		id = fn
	}
	if id == "" || file == "" {
		return errors.New("invoke needs FN (callback, qrcode, tokenrefresh or scanactions) and EVENT, e.g. `make invoke FN=callback EVENT=events/scan.json`")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s, err := stack.Start(ctx, stack.Options{Functions: []string{id}})
	if err != nil {
		return err
	}
	defer s.Close()
	payload := raw
	var e events.APIGatewayV2HTTPRequest
	if json.Unmarshal(raw, &e) == nil && e.RouteKey != "" {
		// Events are signed at a fixed time; re-sign them for the timestamp window.
		if err := stack.Resign(&e, s.Platform.Config().Token, time.Now()); err != nil {
			return err
		}
		if payload, err = json.Marshal(e); err != nil {
			return err
		}
	}
	out, err := s.Invoke(ctx, id, payload)
	fn2, _ := s.Function(id)
	// The emulator's REPORT says "Init Duration" of its own step only (well under a
	// millisecond); its INIT REPORT line carries the function's real init time.
	defer func() {
		for _, line := range strings.Split(fn2.Logs(), "\n") {
			if strings.Contains(line, "INIT REPORT") || strings.HasPrefix(strings.TrimSpace(line), "REPORT") {
				fmt.Println(strings.TrimSpace(line))
			}
		}
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, strings.TrimSpace(fn2.Logs()))
		return err
	}
	fmt.Println(string(out))
	// A function on a stream publishes to moto_server's EventBridge: show what it published.
	if s.MotoURL() != "" {
		if published, err := s.PublishedEvents(ctx); err == nil {
			fmt.Printf("published on EventBridge: %d event(s)\n", len(published))
			for _, e := range published {
				fmt.Println(string(e))
			}
		}
	}
	return nil
}
