// Package vaultdev runs real Vault servers with this plugin registered by
// SHA-256: the one way the end-to-end tests, the demo and the benchmarks
// start Vault. The tests and the benchmarks use it as a library; the demo
// through its command, cmd/vaultdev. It runs OpenBao's server the same way:
// OpenBao keeps Vault's API, CLI (as bao) and plugin protocol.
package vaultdev

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// PluginName is the plugin's name in the catalog and its file name in the
// plugin directory.
const PluginName = "vault-plugin-secrets-github-app"

// DevRootToken is the dev server's root token.
const DevRootToken = "root"

// StartTimeout bounds the wait for a server to answer.
const StartTimeout = 60 * time.Second

// Dev is a `vault server -dev` (or `bao server -dev`) with the plugin
// registered.
type Dev struct {
	Addr    string // http://127.0.0.1:PORT
	Token   string // the root token
	Dir     string // plugins/, home/, vault.log
	Vault   string // the server binary: vault, or OpenBao's bao
	Process *Process
	// PluginSHA256 is the registered plugin's SHA-256.
	PluginSHA256 string
}

// DevConfig says how to start a dev server.
type DevConfig struct {
	Vault, Plugin string // the binaries; Vault may be OpenBao's bao
	Version       string // the plugin's version, as registered
	Dir           string // an empty directory of the server's own
	LogLevel      string // the server's -log-level; "" is info
	PluginEnv     []string
}

// Flags registers the flags that name the server and the plugin a command
// runs (the demo's, the benchmarks'), with the defaults of a run from the
// repository root after `make build vault`.
func (c *DevConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Vault, "vault", ".tools/bin/vault", "the Vault server binary (make vault provides it)")
	fs.StringVar(&c.Plugin, "plugin", "bin/"+PluginName, "the plugin binary (make build)")
	fs.StringVar(&c.Version, "version", "", "the version the plugin reports (default: the VERSION file's)")
}

// CheckFlags completes what Flags parsed: the version from the VERSION
// file when none was given, the binaries by absolute path, found.
func (c *DevConfig) CheckFlags() error {
	if c.Version == "" {
		v, err := os.ReadFile("VERSION")
		if err != nil {
			return fmt.Errorf("run from the repository root, or give -version: %w", err)
		}
		c.Version = strings.TrimSpace(string(v))
	}
	for _, bin := range []*string{&c.Vault, &c.Plugin} {
		abs, err := filepath.Abs(*bin)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return fmt.Errorf("%w (make build vault provides the binaries)", err)
		}
		*bin = abs
	}
	return nil
}

// The servers the project runs, as `version` names them.
const (
	Vault   = "Vault"
	OpenBao = "OpenBao"
)

// Server is a server binary and which server it is.
type Server struct {
	Bin     string
	Name    string // Vault or OpenBao
	Version string // x.y.z
}

// IdentifyServer asks a binary which server it is.
func IdentifyServer(bin string) (Server, error) {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return Server{}, fmt.Errorf("%s version: %w", bin, err)
	}
	m := versionLine.FindStringSubmatch(string(out))
	if m == nil {
		return Server{}, fmt.Errorf("%s is neither Vault nor OpenBao: `version` prints %q", bin, firstLine(string(out)))
	}
	return Server{Bin: bin, Name: m[1], Version: m[2]}, nil
}

// versionLine matches what `version` prints: "Vault v1.21.0, built …" or
// "OpenBao v2.5.5 (…)".
var versionLine = regexp.MustCompile(`^(Vault|OpenBao) v([0-9][0-9A-Za-z.+-]*)`)

// BaseConfig is the configuration every server the project runs shares:
// the plugin directory, and for Vault disable_mlock (OpenBao has dropped
// mlock, and warns of the setting).
func (s Server) BaseConfig(pluginDir string) string {
	cfg := fmt.Sprintf("plugin_directory = %q\n", pluginDir)
	if s.Name == Vault {
		cfg += "disable_mlock    = true\n"
	}
	return cfg
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// StartDev starts a dev server on a free loopback port, waits until it
// answers, and registers the plugin. On error nothing is left running.
func StartDev(c DevConfig) (*Dev, error) {
	server, err := IdentifyServer(c.Vault)
	if err != nil {
		return nil, err
	}
	if err := PrepareDir(c.Dir); err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(c.Dir, "extra.hcl")
	if err := os.WriteFile(cfg, []byte(server.BaseConfig(filepath.Join(c.Dir, "plugins"))), 0o600); err != nil {
		return nil, err
	}
	args := []string{"server", "-dev", "-dev-root-token-id=" + DevRootToken, "-dev-listen-address=" + addr,
		"-config=" + cfg, "-log-level=" + cmp.Or(c.LogLevel, "info")}
	proc, err := StartProcess(server.Name, filepath.Join(c.Dir, "vault.log"), c.Vault, args, CleanEnv(filepath.Join(c.Dir, "home")))
	if err != nil {
		return nil, err
	}
	d := &Dev{Addr: "http://" + addr, Token: DevRootToken, Dir: c.Dir, Vault: c.Vault, Process: proc}
	err = WaitHTTP(d.Addr, proc, http.DefaultClient)
	if err == nil {
		d.PluginSHA256, err = d.Register(PluginName, c.Plugin, c.Version, c.PluginEnv)
	}
	if err != nil {
		proc.Kill()
		return nil, fmt.Errorf("%w\n%s's log:\n%s", err, server.Name, proc.LogTail(20))
	}
	return d, nil
}

// Register installs a secrets-engine plugin binary in the server's plugin
// directory under name and registers it by its SHA-256, with env in its
// environment. It returns the SHA-256.
func (d *Dev) Register(name, bin, version string, env []string) (string, error) {
	sha, err := InstallPlugin(d.Dir, name, bin)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(d.Vault, RegisterArgs(name, name, sha, version, env)...)
	cmd.Env = CleanEnv(filepath.Join(d.Dir, "home"), "VAULT_ADDR="+d.Addr, "VAULT_TOKEN="+d.Token)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("registering plugin %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return sha, nil
}

// RegisterArgs are the vault CLI's arguments that register a secrets-engine
// plugin, run as command (its file in the plugin directory), by SHA-256, as
// an operator does, so that Vault refuses any other binary under that name.
func RegisterArgs(name, command, sha, version string, env []string) []string {
	args := []string{"plugin", "register", "-sha256=" + sha, "-version=" + version}
	for _, kv := range env {
		args = append(args, "-env="+kv)
	}
	return append(args, "-command="+command, "secret", name)
}

// PrepareDir creates a server's directory: plugins/ (Vault runs plugins
// only from there) and home/ (the dev server and the CLI's token helper
// write ~/.vault-token).
func PrepareDir(dir string) error {
	for _, sub := range []string{"plugins", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// SHA256File returns the SHA-256 of a file, as the catalog wants it.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// InstallPlugin copies a plugin binary into dir/plugins as name and
// returns its SHA-256.
func InstallPlugin(dir, name, bin string) (string, error) {
	in, err := os.Open(bin)
	if err != nil {
		return "", fmt.Errorf("installing plugin %s: %w (build it first: make build)", name, err)
	}
	defer in.Close()
	dst := filepath.Join(dir, "plugins", name)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755) //nolint:gosec // G302: the plugin must be executable
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, sum), in); err != nil {
		out.Close()
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), out.Close()
}

// WaitHTTP waits until a server answers /v1/sys/health with any status (an
// uninitialised or sealed server answers too, with 501 or 503), or proc
// exits.
func WaitHTTP(addr string, proc *Process, client *http.Client) error {
	probe := *client
	probe.Timeout = 2 * time.Second
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		if resp, err := probe.Get(addr + "/v1/sys/health"); err == nil {
			resp.Body.Close()
			return nil
		}
		if !proc.Running() {
			return errors.New("the server exited while starting")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the server did not answer at %s within %s", addr, StartTimeout)
}

// CleanEnv is the environment of every vault or bao process: this one's
// minus any VAULT_* or BAO_* setting of the developer's (bao prefers
// BAO_ADDR to the VAULT_ADDR it is given), with HOME in home.
func CleanEnv(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "BAO_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "HOME="+home), extra...)
}

// FreeAddr returns a loopback address with a port nobody listens on.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
