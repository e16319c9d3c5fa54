package dynamolocal

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/internal/proc"
)

// startServer starts a server for one test and stops it when the test ends. A missing Java or npm
// package fails the test with the message that says how to install it: never a skip.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func createTable(ctx context.Context, c *dynamodb.Client, name string) error {
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	return err
}

func TestServer(t *testing.T) {
	SkipShort(t)
	t.Parallel()
	ctx := t.Context()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DynamoDB Local at %s", s.Endpoint())
	if !strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("Endpoint() = %q, want a loopback URL", s.Endpoint())
	}
	c, err := s.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := createTable(ctx, c, "probe"); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TableNames) != 1 || out.TableNames[0] != "probe" {
		t.Errorf("ListTables = %v, want [probe]", out.TableNames)
	}
	if !strings.Contains(s.Output(), "Initializing DynamoDB Local") {
		t.Errorf("Output() lacks the server's banner: %q", s.Output())
	}

	pid := s.PID()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if proc.Alive(pid) {
		t.Errorf("java (pid %d) still running after Close", pid)
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.Endpoint(), "http://"), time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Close", s.Endpoint())
	}
}

func TestStartPortInUse(t *testing.T) {
	SkipShort(t)
	t.Parallel()
	tests := []struct {
		name string
		// host is where the port is taken. DynamoDB Local binds every interface, so a
		// listener on another loopback address makes its own bind fail (rather than the
		// check Start makes on 127.0.0.1 first).
		host string
	}{
		{name: "taken on 127.0.0.1", host: "127.0.0.1"},
		{name: "taken on another address", host: "127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", tt.host+":0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			port := l.Addr().(*net.TCPAddr).Port
			s, err := Start(t.Context(), Options{Port: port})
			if err == nil {
				s.Close()
				t.Fatalf("Start on taken port %d succeeded", port)
			}
			if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(port)) {
				t.Fatalf("Start on taken port %d: %v; want ErrPortInUse naming the port", port, err)
			}
		})
	}
}

func TestDataDir(t *testing.T) {
	SkipShort(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	ctx := t.Context()

	s := startServer(t, Options{DataDir: dir})
	c, err := s.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := createTable(ctx, c, "kept"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// With -sharedDb the whole database is this one SQLite file, which a later Start with
	// the same DataDir opens again.
	if _, err := os.Stat(filepath.Join(dir, "shared-local-instance.db")); err != nil {
		t.Errorf("no database file in the data dir: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	// A package folder whose jar is not one: java starts and exits at once.
	broken := t.TempDir()
	lib := filepath.Join(broken, "lib", "dynamodb_local_2000-01-01")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lib, "DynamoDBLocal.jar"), []byte("not a jar"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		path     string // PATH for the test; empty keeps the real one
		opts     Options
		want     error
		wantText string
	}{
		{name: "no java", path: t.TempDir(), want: ErrJavaNotFound, wantText: "apt-get install openjdk-17-jre-headless"},
		{name: "package not installed", opts: Options{Dir: t.TempDir()}, want: ErrNotInstalled, wantText: "npm ci --prefix local"},
		{name: "server exits", opts: Options{Dir: broken}, want: ErrExited, wantText: "jarfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			} else {
				SkipShort(t) // past the look for java, Start runs it
			}
			s, err := Start(t.Context(), tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Start: %v\nwant %v, mentioning %q", err, tt.want, tt.wantText)
			}
		})
	}
}
