package testenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvCI is the environment variable that turns skips for missing binaries into
// failures when it holds a true value ("true", "1", ...).
const EnvCI = "CI"

// SetupFunc starts the servers a test package shares. It returns a teardown that
// stops them, or an error; on error it must leave nothing running ([Start] and
// [StartPrometheus] already clean up after themselves). ctx ends when the test
// process is interrupted.
type SetupFunc func(ctx context.Context) (teardown func() error, err error)

// errShort marks integration tests skipped by -short.
var errShort = errors.New("testenv: -short")

// mainState records what Main's setup did, for Require.
var mainState struct {
	sync.Mutex
	ran bool
	err error
}

// Main runs a test package whose integration tests share servers started once by
// setup. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m, setup) }
//
// and begin every integration test with [Require]. Main parses flags, runs setup
// (not under -short), runs the tests, runs teardown and exits with the tests' code,
// failing the package if teardown fails. It never exits between a successful setup
// and its teardown; SIGINT and SIGTERM run teardown before exiting.
//
// When setup fails because binaries are missing ([ErrBinariesMissing]) the tests
// still run and Require skips the integration tests, unless CI=true: then Main
// prints the error and exits 1 without running tests. Any other setup error fails
// the package.
func Main(m *testing.M, setup SetupFunc) {
	os.Exit(runMain(m, setup))
}

func runMain(m *testing.M, setup SetupFunc) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Teardown runs once: after the tests, or on a signal while they run.
	var (
		mu        sync.Mutex
		teardown  func() error
		running   bool // tests are running; a signal must tear down and exit
		tdOnce    sync.Once
		tdErr     error
		sigs      = make(chan os.Signal, 1)
		finishing = make(chan struct{})
	)
	doTeardown := func() error {
		mu.Lock()
		td := teardown
		mu.Unlock()
		tdOnce.Do(func() {
			if td != nil {
				tdErr = td()
			}
		})
		return tdErr
	}
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			signal.Reset(os.Interrupt, syscall.SIGTERM) // a second signal kills at once
			cancel()
			mu.Lock()
			r := running
			mu.Unlock()
			if r {
				fmt.Fprintf(os.Stderr, "testenv: %v: stopping test servers\n", sig)
				if err := doTeardown(); err != nil {
					fmt.Fprintln(os.Stderr, err)
				}
				os.Exit(1)
			}
			// During setup: setup sees ctx end and runMain returns after cleanup.
		case <-finishing:
		}
	}()
	defer close(finishing)

	var setupErr error
	if testing.Short() {
		setupErr = errShort
		mu.Lock()
		running = true
		mu.Unlock()
	} else {
		td, err := setup(ctx)
		setupErr = err
		mu.Lock()
		teardown = td
		running = true
		mu.Unlock()
		// A signal that arrived before running was set found nothing to stop.
		if ctx.Err() != nil {
			if err := doTeardown(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			fmt.Fprintln(os.Stderr, "testenv: interrupted during setup")
			return 1
		}
	}
	mainState.Lock()
	mainState.ran, mainState.err = true, setupErr
	mainState.Unlock()

	if v, msg := decide(setupErr, isCI()); v == verdictFail {
		fmt.Fprintln(os.Stderr, msg)
		fmt.Fprintln(os.Stderr, "FAIL")
		if err := doTeardown(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		return 1
	}

	code := m.Run()

	if err := doTeardown(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: teardown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Require skips or fails t when the integration test servers are unavailable, and
// does nothing when they are running. With [Main] in TestMain it reports Main's
// setup result; without Main it checks that every test binary is built.
//
// Missing binaries skip the test ("integration test skipped: test binaries missing;
// run `make tools`"), or fail it when CI=true. -short skips. Other setup errors fail.
func Require(t testing.TB) {
	t.Helper()
	mainState.Lock()
	ran, err := mainState.ran, mainState.err
	mainState.Unlock()
	if !ran {
		if testing.Short() {
			err = errShort
		} else {
			err = checkBinaries()
		}
	}
	SkipOrFail(t, err)
}

// SkipOrFail applies Require's rule to err, the error of starting an environment of
// this package (StartReal, say) or nil: nil lets the test run; missing binaries skip
// it, or fail it when CI=true; any other error fails it.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	switch v, msg := decide(err, isCI()); v {
	case verdictSkip:
		t.Skip(msg)
	case verdictFail:
		t.Fatal(msg)
	}
}

// CI reports whether CI=true (parsed as a boolean): missing test binaries are then a
// failure, not a skip.
func CI() bool { return isCI() }

// checkBinaries returns the errors of every missing test binary.
func checkBinaries() error {
	var errs []error
	for _, name := range []string{"kube-apiserver", "etcd", "prometheus", "promtool"} {
		if _, err := Binary(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type verdict int

const (
	verdictRun verdict = iota
	verdictSkip
	verdictFail
)

// decide applies the skip/fail rule to a setup error.
func decide(err error, ci bool) (verdict, string) {
	switch {
	case err == nil:
		return verdictRun, ""
	case errors.Is(err, errShort):
		return verdictSkip, "integration test skipped in -short mode"
	case errors.Is(err, ErrBinariesMissing) && ci:
		return verdictFail, fmt.Sprintf("integration test failed: test binaries missing and %s=true; run `make tools`\n%v", EnvCI, err)
	case errors.Is(err, ErrBinariesMissing):
		return verdictSkip, fmt.Sprintf("integration test skipped: test binaries missing; run `make tools`\n%v", err)
	default:
		return verdictFail, fmt.Sprintf("integration test setup failed: %v", err)
	}
}

// isCI reports whether $CI holds a true value.
func isCI() bool {
	ci, err := strconv.ParseBool(os.Getenv(EnvCI))
	return err == nil && ci
}

// Eventually polls cond every 100 ms until it holds, and fails t with the last state
// cond reported (its second result) when it does not within timeout. ctx bounds it
// too: from a t.Cleanup, where t.Context() has ended, pass context.Background().
func Eventually(ctx context.Context, t testing.TB, what string, timeout time.Duration, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		ok, state := cond(ctx)
		if ok {
			return
		}
		if state != "" {
			last = state
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v; last seen: %s", what, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
