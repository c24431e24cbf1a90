package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultPrometheusConfig is the prometheus.yml used when PrometheusOptions.Config is
// empty: no scrape targets, so the server only holds backfilled data.
const DefaultPrometheusConfig = `global:
  scrape_interval: 15s
  evaluation_interval: 15s
`

// DefaultPrometheusReadyTimeout is how long [StartPrometheus] waits for /-/ready when
// PrometheusOptions.ReadyTimeout is zero.
const DefaultPrometheusReadyTimeout = 60 * time.Second

// PrometheusOptions configures [StartPrometheus]. The zero value starts an empty
// server with [DefaultPrometheusConfig].
type PrometheusOptions struct {
	// Config is the content of prometheus.yml. Empty means DefaultPrometheusConfig.
	Config string
	// Backfill is OpenMetrics text loaded before the server starts, with
	// `promtool tsdb create-blocks-from openmetrics`. Every sample needs a timestamp
	// (in seconds). A final "# EOF" line is added when missing.
	//
	// PromQL looks back only 5 minutes from the evaluation time, so query backfilled
	// data at (or up to 5 minutes after) a sample's timestamp, or with range
	// functions. Samples may be anywhere within the retention (10 years); samples in
	// the recent past (e.g. now-1h .. now-5m) are the usual choice.
	Backfill string
	// Args are extra command-line flags for prometheus, e.g.
	// "--query.lookback-delta=1h" or "--web.enable-remote-write-receiver".
	Args []string
	// ReadyTimeout bounds the wait for /-/ready. Zero means
	// DefaultPrometheusReadyTimeout.
	ReadyTimeout time.Duration
}

// Prometheus is a running Prometheus server process listening on 127.0.0.1.
// Stop it with [Prometheus.Stop].
type Prometheus struct {
	// URL is the server's base URL, http://127.0.0.1:<port>, for the HTTP API
	// (/api/v1/query, ...).
	URL string
	// DataDir is the temporary folder holding prometheus.yml and the TSDB; Stop
	// removes it.
	DataDir string

	cmd  *exec.Cmd
	logs *logBuffer
	done chan struct{} // closed when the process has exited

	stopOnce sync.Once
	stopErr  error
}

// StartPrometheus backfills PrometheusOptions.Backfill (if any) into a new temporary
// data folder, starts prometheus on a free 127.0.0.1 port and waits until /-/ready
// answers 200. The binaries come from the tool cache ([Binary]); when they are
// missing the error wraps [ErrBinariesMissing]. Errors include the server's output.
// On error nothing is left running and the data folder is removed. ctx bounds the
// start only; the server runs until Stop.
func StartPrometheus(ctx context.Context, opts PrometheusOptions) (*Prometheus, error) {
	promPath, err := Binary("prometheus")
	if err != nil {
		return nil, err
	}
	config := opts.Config
	if config == "" {
		config = DefaultPrometheusConfig
	}
	readyTimeout := opts.ReadyTimeout
	if readyTimeout <= 0 {
		readyTimeout = DefaultPrometheusReadyTimeout
	}

	dir, err := os.MkdirTemp("", "continuum-prometheus-")
	if err != nil {
		return nil, fmt.Errorf("testenv: prometheus data folder: %w", err)
	}
	p, err := startPrometheus(ctx, promPath, dir, config, opts, readyTimeout)
	if err != nil {
		return nil, errors.Join(err, removeDir(dir))
	}
	return p, nil
}

func startPrometheus(ctx context.Context, promPath, dir, config string, opts PrometheusOptions, readyTimeout time.Duration) (*Prometheus, error) {
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("testenv: writing prometheus.yml: %w", err)
	}
	tsdb := filepath.Join(dir, "data")
	if err := os.Mkdir(tsdb, 0o700); err != nil {
		return nil, fmt.Errorf("testenv: prometheus data folder: %w", err)
	}
	if opts.Backfill != "" {
		if err := backfill(ctx, dir, tsdb, opts.Backfill); err != nil {
			return nil, err
		}
	}

	// A free port found by listening on :0 can be taken by someone else before
	// prometheus binds it; retry a few times on "address already in use".
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args := append([]string{
			"--config.file=" + configFile,
			"--storage.tsdb.path=" + tsdb,
			"--storage.tsdb.retention.time=10y",
			"--web.listen-address=" + addr,
		}, opts.Args...)
		p := &Prometheus{
			URL:     "http://" + addr,
			DataDir: dir,
			logs:    &logBuffer{max: 64 << 10},
			done:    make(chan struct{}),
		}
		p.cmd = exec.Command(promPath, args...)
		p.cmd.Dir = dir
		p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
		setProcAttr(p.cmd)
		if err := p.cmd.Start(); err != nil {
			return nil, fmt.Errorf("testenv: starting prometheus: %w", err)
		}
		go func() {
			_ = p.cmd.Wait()
			close(p.done)
		}()

		err = p.waitReady(ctx, readyTimeout)
		if err == nil {
			return p, nil
		}
		p.kill()
		if attempt < attempts && strings.Contains(p.logs.String(), "address already in use") {
			continue
		}
		return nil, err
	}
}

// backfill writes the OpenMetrics text to a file and turns it into TSDB blocks.
func backfill(ctx context.Context, dir, tsdb, text string) error {
	promtool, err := Binary("promtool")
	if err != nil {
		return err
	}
	if !strings.HasSuffix(strings.TrimRight(text, "\n"), "# EOF") {
		text = strings.TrimRight(text, "\n") + "\n# EOF\n"
	} else if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	file := filepath.Join(dir, "backfill.om")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return fmt.Errorf("testenv: writing backfill file: %w", err)
	}
	cmd := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", file, tsdb)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testenv: promtool backfill: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (p *Prometheus) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
		if err != nil {
			return fmt.Errorf("testenv: prometheus readiness request: %w", err)
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("testenv: prometheus exited before ready (%v); output:\n%s", p.cmd.ProcessState, p.logs)
		case <-ctx.Done():
			return fmt.Errorf("testenv: waiting for prometheus: %w; output:\n%s", ctx.Err(), p.logs)
		case <-deadline.C:
			return fmt.Errorf("testenv: prometheus not ready at %s after %v; output:\n%s", p.URL, timeout, p.logs)
		case <-tick.C:
		}
	}
}

// Logs returns the server's output so far (the last 64 KiB).
func (p *Prometheus) Logs() string { return p.logs.String() }

// Stop kills the server, waits for it to exit and removes DataDir. It is safe to call
// more than once; later calls return the first call's result.
func (p *Prometheus) Stop() error {
	p.stopOnce.Do(func() {
		p.kill()
		p.stopErr = removeDir(p.DataDir)
	})
	return p.stopErr
}

func (p *Prometheus) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("testenv: removing %s: %w", dir, err)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: finding a free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("testenv: finding a free port: unexpected address %v", l.Addr())
	}
	return addr.Port, nil
}

// logBuffer keeps the last max bytes written to it; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
