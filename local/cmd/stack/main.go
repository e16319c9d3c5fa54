// Command stack runs the product locally, without Docker or an AWS account:
//
//	stack run    [-addr 127.0.0.1:3000] [-data DIR]   the whole stack behind one HTTP address
//	stack scan   -scene S -openid O [-mode safe] [-appid A]  simulate a WeChat user scanning a code
//	stack authorize [-appid A]  connect an account to the running stack's third-party platform
//	stack invoke -fn callback -event events/scan.json  one invocation of one function
//
// The Makefile's run, scan, authorize and invoke targets call it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var err error
	switch os.Args[1] {
	case "run":
		addr := fs.String("addr", "127.0.0.1:3000", "the front's address")
		data := fs.String("data", "", "keep DynamoDB's data in this folder (empty: in memory)")
		verbose := fs.Bool("v", false, "print the servers' and functions' logs")
		_ = fs.Parse(os.Args[2:])
		err = run(ctx, *addr, *data, *verbose)
	case "scan":
		addr := fs.String("addr", "127.0.0.1:3000", "the running front's address")
		scene := fs.String("scene", "", "the code's scene")
		openid := fs.String("openid", "", "the scanning user's OpenID")
		mode := fs.String("mode", "plaintext", "message mode: plaintext, compatible or safe")
		appID := fs.String("appid", "", "the account whose code it is (empty: the default account)")
		_ = fs.Parse(os.Args[2:])
		err = scan(ctx, *addr, *appID, *scene, *openid, *mode)
	case "authorize":
		addr := fs.String("addr", "127.0.0.1:3000", "the running front's address")
		appID := fs.String("appid", "", "the account that authorizes the platform (empty: a new one)")
		_ = fs.Parse(os.Args[2:])
		err = authorize(ctx, *addr, *appID)
	case "invoke":
		fn := fs.String("fn", "", "callback, qrcode, tokenrefresh or scanactions (or a logical id)")
		event := fs.String("event", "", "an event file, e.g. events/scan.json")
		_ = fs.Parse(os.Args[2:])
		err = invoke(ctx, *fn, *event)
	default:
		usage()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: stack run|scan|authorize|invoke [flags]  (see `go doc ./local/cmd/stack`)")
	os.Exit(2)
}
