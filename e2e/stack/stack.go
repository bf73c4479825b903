//go:build !js && unix

// Package stack starts a real Matrix homeserver (Dendrite v0.15.2) and a real TURN
// server (coturn) on 127.0.0.1 for end-to-end tests, and offers the few client-server
// API calls a test needs to set the scene (register, create a room, join, TURN
// credentials). Everything listens on loopback on free ports, in a fresh temp dir.
//
// Dendrite is built once into ${RINGO_CACHE:-$HOME/.cache/ringo}/dendrite-v0.15.2/bin
// by scripts/install-dendrite.sh; coturn is Debian's /usr/bin/turnserver.
package stack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DendriteVersion is the only Dendrite release the module proxy serves here.
const DendriteVersion = "v0.15.2"

// TURNServerPath is where Debian's coturn package puts the server.
const TURNServerPath = "/usr/bin/turnserver"

// Password is the password of every user Register creates.
const Password = "ringo-pass-123"

const (
	serverName     = "localhost"
	startTimeout   = 60 * time.Second
	stopTimeout    = 5 * time.Second
	versionsPath   = "/_matrix/client/versions"
	turnRelayPorts = 64
)

// Options configures Start.
type Options struct {
	// CacheDir holds the Dendrite build; default ${RINGO_CACHE:-$HOME/.cache/ringo}.
	CacheDir string
	// Logf, if set, receives progress lines (build, start, stop).
	Logf func(format string, args ...any)
	// WithTURN starts coturn and points Dendrite's client_api.turn at it.
	WithTURN bool
}

// Stack is a running homeserver (and TURN server). Stop it when done.
type Stack struct {
	HomeserverURL string // http://127.0.0.1:PORT
	ServerName    string // "localhost"
	TURNURI       string // turn:127.0.0.1:PORT?transport=udp ("" without TURN)
	TURNSecret    string
	Dir           string // temp dir with configs, data and logs

	logf       func(format string, args ...any)
	binDir     string
	configPath string
	hsAddr     string // 127.0.0.1:PORT
	client     *http.Client

	mu       sync.Mutex
	dendrite *proc
	turn     *proc
	stopped  bool
}

// proc is one child process running in its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
	err  error
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits, then SIGKILLs the group.
func (p *proc) stop() error {
	if p == nil {
		return nil
	}
	defer p.out.Close()
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(stopTimeout):
				return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
			}
		}
	}
	// Anything the process left behind in its group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return nil
}

func startProc(name, dir, logPath string, bin string, args ...string) (*proc, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// DefaultCacheDir is ${RINGO_CACHE:-$HOME/.cache/ringo}.
func DefaultCacheDir() string {
	if d := os.Getenv("RINGO_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "ringo")
}

// RepoRoot walks up from the working directory to the directory whose go.mod declares
// module ringo.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == "ringo" {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module ringo above the working directory")
		}
		dir = parent
	}
}

// EnsureDendrite returns the directory holding the dendrite and generate-keys binaries,
// running scripts/install-dendrite.sh first if they are not in the cache yet.
func EnsureDendrite(ctx context.Context, cacheDir string, logf func(string, ...any)) (string, error) {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	binDir := filepath.Join(cacheDir, "dendrite-"+DendriteVersion, "bin")
	if isExec(filepath.Join(binDir, "dendrite")) && isExec(filepath.Join(binDir, "generate-keys")) {
		return binDir, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("dendrite is not built in %s and the install script cannot be found: %w", binDir, err)
	}
	logf("stack: building Dendrite %s into %s (about 2 minutes the first time)", DendriteVersion, binDir)
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "install-dendrite.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "RINGO_CACHE="+cacheDir)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/install-dendrite.sh: %w\n%s", err, tail(out.String(), 40))
	}
	if !isExec(filepath.Join(binDir, "dendrite")) {
		return "", fmt.Errorf("scripts/install-dendrite.sh did not produce %s\n%s", filepath.Join(binDir, "dendrite"), tail(out.String(), 40))
	}
	logf("stack: built Dendrite in %s", time.Since(t0).Round(time.Second))
	return binDir, nil
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Start builds Dendrite if needed, writes configs into a fresh temp dir, starts coturn
// (if opt.WithTURN) and Dendrite on free loopback ports and returns once
// /_matrix/client/versions answers. On error it stops whatever it started.
func Start(ctx context.Context, opt Options) (_ *Stack, err error) {
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	binDir, err := EnsureDendrite(ctx, opt.CacheDir, logf)
	if err != nil {
		return nil, err
	}
	if opt.WithTURN {
		if _, err := os.Stat(TURNServerPath); err != nil {
			return nil, fmt.Errorf("coturn is not installed at %s (scripts/setup.sh installs it): %w", TURNServerPath, err)
		}
	}
	dir, err := os.MkdirTemp("", "ringo-stack-")
	if err != nil {
		return nil, err
	}
	s := &Stack{
		ServerName: serverName,
		Dir:        dir,
		logf:       logf,
		binDir:     binDir,
		client:     &http.Client{Timeout: 30 * time.Second},
	}
	defer func() {
		if err != nil {
			if tl := s.LogTail(30); tl != "" {
				err = fmt.Errorf("%w\n--- log tail ---\n%s", err, tl)
			}
			_ = s.Stop()
		}
	}()
	t0 := time.Now()

	if opt.WithTURN {
		s.TURNSecret = randomHex(16)
		if err := s.startTURN(ctx); err != nil {
			return nil, err
		}
	}

	// Signing key.
	keyPath := filepath.Join(dir, "matrix_key.pem")
	if out, err := exec.CommandContext(ctx, filepath.Join(binDir, "generate-keys"), "--private-key", keyPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("generate-keys: %w: %s", err, out)
	}

	port, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	s.hsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.HomeserverURL = "http://" + s.hsAddr
	s.configPath = filepath.Join(dir, "dendrite.yaml")
	if err := os.WriteFile(s.configPath, []byte(s.dendriteConfig(keyPath)), 0o600); err != nil {
		return nil, err
	}
	if err := s.startDendrite(ctx); err != nil {
		return nil, err
	}
	logf("stack: Dendrite at %s, TURN at %q, dir %s (started in %s)", s.HomeserverURL, s.TURNURI, dir, time.Since(t0).Round(time.Millisecond))
	return s, nil
}

func (s *Stack) dendriteConfig(keyPath string) string {
	q := strconv.Quote
	db := func(name string) string { return q("file:" + filepath.Join(s.Dir, "data", name+".db")) }
	turn := ""
	if s.TURNURI != "" {
		turn = fmt.Sprintf(`  turn:
    turn_user_lifetime: "5m"
    turn_uris: [%s]
    turn_shared_secret: %s
`, q(s.TURNURI), q(s.TURNSecret))
	}
	return fmt.Sprintf(`version: 2
global:
  server_name: %s
  private_key: %s
  disable_federation: true
  key_validity_period: 168h0m0s
  trusted_third_party_id_servers: []
  presence:
    enable_inbound: false
    enable_outbound: false
  server_notices:
    enabled: false
  report_stats:
    enabled: false
  metrics:
    enabled: false
  dns_cache:
    enabled: false
  jetstream:
    storage_path: %s
    in_memory: false
    topic_prefix: Dendrite
app_service_api:
  disable_tls_validation: true
  config_files: []
client_api:
  registration_disabled: false
  guests_disabled: true
  registration_shared_secret: %s
  enable_registration_captcha: false
  rate_limiting:
    enabled: false
%sfederation_api:
  database:
    connection_string: %s
  key_perspectives: []
  disable_tls_validation: true
key_server:
  database:
    connection_string: %s
media_api:
  database:
    connection_string: %s
  base_path: %s
  max_file_size_bytes: 10485760
  dynamic_thumbnails: false
mscs:
  mscs: []
  database:
    connection_string: %s
relay_api:
  database:
    connection_string: %s
room_server:
  database:
    connection_string: %s
sync_api:
  database:
    connection_string: %s
  search:
    enabled: false
    index_path: %s
user_api:
  bcrypt_cost: 4
  account_database:
    connection_string: %s
tracing:
  enabled: false
logging:
  - type: file
    level: info
    params:
      path: %s
`,
		q(s.ServerName), q(keyPath),
		q(filepath.Join(s.Dir, "jetstream")),
		q(randomHex(16)),
		turn,
		db("federationapi"), db("keyserver"), db("mediaapi"), q(filepath.Join(s.Dir, "media")),
		db("mscs"), db("relayapi"), db("roomserver"), db("syncapi"),
		q(filepath.Join(s.Dir, "searchindex")),
		db("userapi_accounts"),
		q(filepath.Join(s.Dir, "logs")),
	)
}

func (s *Stack) startDendrite(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(s.Dir, "data"), 0o755); err != nil {
		return err
	}
	p, err := startProc("dendrite", s.Dir, filepath.Join(s.Dir, "dendrite.out"),
		filepath.Join(s.binDir, "dendrite"),
		"-config", s.configPath,
		"-http-bind-address", s.hsAddr,
		"-really-enable-open-registration")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.dendrite = p
	s.mu.Unlock()
	return s.waitVersions(ctx, p)
}

func (s *Stack) waitVersions(ctx context.Context, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.HomeserverURL+versionsPath, nil)
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("dendrite exited before answering %s: %v", versionsPath, p.err)
		case <-ctx.Done():
			return fmt.Errorf("dendrite did not answer %s at %s: %w", versionsPath, s.HomeserverURL, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Stack) startTURN(ctx context.Context) error {
	port, err := freeUDPTCPPort()
	if err != nil {
		return err
	}
	minPort, err := freeRelayRange()
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=%d
min-port=%d
max-port=%d
use-auth-secret
static-auth-secret=%s
realm=localhost
no-tls
no-dtls
no-cli
no-multicast-peers
allow-loopback-peers
no-software-attribute
userdb=%s
pidfile=%s
log-file=%s
simple-log
`, port, minPort, minPort+turnRelayPorts-1, s.TURNSecret,
		filepath.Join(s.Dir, "turndb"), filepath.Join(s.Dir, "turn.pid"), filepath.Join(s.Dir, "turn.log"))
	confPath := filepath.Join(s.Dir, "turnserver.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	p, err := startProc("turnserver", s.Dir, filepath.Join(s.Dir, "turn.out"), TURNServerPath, "-c", confPath)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.turn = p
	s.mu.Unlock()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitSTUN(ctx, addr, p, 15*time.Second); err != nil {
		return err
	}
	s.TURNURI = fmt.Sprintf("turn:%s?transport=udp", addr)
	return nil
}

// waitSTUN sends STUN binding requests to addr until one is answered.
func waitSTUN(ctx context.Context, addr string, p *proc, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := make([]byte, 20)
	binary.BigEndian.PutUint16(req[0:], 0x0001) // Binding request
	binary.BigEndian.PutUint16(req[2:], 0)      // no attributes
	binary.BigEndian.PutUint32(req[4:], 0x2112A442)
	buf := make([]byte, 1500)
	for {
		if _, err := rand.Read(req[8:20]); err != nil {
			return err
		}
		if _, err := conn.Write(req); err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := conn.Read(buf)
			if err == nil && n >= 20 && binary.BigEndian.Uint16(buf[0:]) == 0x0101 && bytes.Equal(buf[8:20], req[8:20]) {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("turnserver exited before answering STUN on %s: %v", addr, p.err)
		case <-ctx.Done():
			return fmt.Errorf("turnserver did not answer STUN on %s: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StopHomeserver stops Dendrite only (the homeserver is down); Restart brings it back.
func (s *Stack) StopHomeserver() error {
	s.mu.Lock()
	p := s.dendrite
	s.dendrite = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	s.logf("stack: stopping Dendrite")
	return p.stop()
}

// Restart stops Dendrite (if running) and starts it again on the same port with the same
// data, returning once /_matrix/client/versions answers.
func (s *Stack) Restart(ctx context.Context) error {
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return errors.New("stack: Restart after Stop")
	}
	if err := s.StopHomeserver(); err != nil {
		return err
	}
	t0 := time.Now()
	if err := s.startDendrite(ctx); err != nil {
		_ = s.StopHomeserver()
		return fmt.Errorf("%w\n--- log tail ---\n%s", err, s.LogTail(30))
	}
	s.logf("stack: Dendrite restarted in %s", time.Since(t0).Round(time.Millisecond))
	return nil
}

// Stop kills Dendrite and coturn and removes the temp dir unless RINGO_KEEP_STACK=1.
// It is idempotent.
func (s *Stack) Stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	d, t := s.dendrite, s.turn
	s.dendrite, s.turn = nil, nil
	s.mu.Unlock()
	errs := []error{d.stop(), t.stop()}
	if os.Getenv("RINGO_KEEP_STACK") == "1" {
		s.logf("stack: keeping %s (RINGO_KEEP_STACK=1)", s.Dir)
	} else if s.Dir != "" {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}

// LogTail returns the last n lines of the Dendrite and coturn logs.
func (s *Stack) LogTail(n int) string {
	var b strings.Builder
	for _, f := range []struct{ label, path string }{
		{"dendrite.log", filepath.Join(s.Dir, "logs", "dendrite.log")},
		{"dendrite stdout/stderr", filepath.Join(s.Dir, "dendrite.out")},
		{"turn.log", filepath.Join(s.Dir, "turn.log")},
		{"turnserver stdout/stderr", filepath.Join(s.Dir, "turn.out")},
	} {
		data, err := os.ReadFile(f.path)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		fmt.Fprintf(&b, "== %s ==\n%s\n", f.label, tail(string(data), n))
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPTCPPort finds a port free for both UDP and TCP on 127.0.0.1 (coturn listens on
// both).
func freeUDPTCPPort() (int, error) {
	for range 50 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		pc.Close()
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP")
}

// freeRelayRange picks the first port of a small relay range (below the kernel's
// ephemeral range) whose ports look free for UDP now.
func freeRelayRange() (int, error) {
	for range 50 {
		base := 20000 + mrand.IntN(12000)
		ok := true
		for p := base; p < base+turnRelayPorts && ok; p += 8 {
			pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			pc.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("no free UDP range for TURN relays")
}
