// Command vaultdev starts a Vault dev server with the plugin registered, for
// the demo and the benchmarks (scripts/lib.sh), through the same code the
// end-to-end tests use.
//
//	vaultdev start -vault BIN -plugin BIN -version V -dir DIR [-log-level L] [-env NAME=value]...
//	    starts the server, writes DIR/vault.env (VAULT_ADDR, VAULT_TOKEN,
//	    VAULT_PID, SHA256, for the shell to source) and runs until SIGINT or
//	    SIGTERM, then stops Vault.
//	vaultdev register -dir DIR -name NAME -plugin BIN -version V [-env NAME=value]...
//	    registers another secrets-engine plugin in that server by SHA-256,
//	    and prints the SHA-256.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// envFile is where start leaves the server's address and token.
const envFile = "vault.env"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vaultdev:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: vaultdev start|register [flags]")
	}
	switch args[0] {
	case "start":
		return start(args[1:])
	case "register":
		return register(args[1:])
	}
	return fmt.Errorf("unknown command %q: want start or register", args[0])
}

// envFlags collects repeated -env NAME=value flags.
type envFlags []string

func (e *envFlags) String() string      { return strings.Join(*e, " ") }
func (e *envFlags) Set(kv string) error { *e = append(*e, kv); return nil }

func start(args []string) error {
	var c vaultdev.DevConfig
	var env envFlags
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.StringVar(&c.Vault, "vault", "", "the vault binary")
	fs.StringVar(&c.Plugin, "plugin", "", "the plugin binary")
	fs.StringVar(&c.Version, "version", "", "the plugin's version, as registered")
	fs.StringVar(&c.Dir, "dir", "", "the server's directory")
	fs.StringVar(&c.LogLevel, "log-level", "info", "Vault's log level")
	fs.Var(&env, "env", "NAME=value for the plugin's environment (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.PluginEnv = env
	// Signals before the server is up must stop it too.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	d, err := vaultdev.StartDev(c)
	if err != nil {
		return err
	}
	defer d.Process.Kill()
	vars := fmt.Sprintf("VAULT_ADDR=%s\nVAULT_TOKEN=%s\nVAULT_PID=%d\nSHA256=%s\n", d.Addr, d.Token, d.Process.PID(), d.PluginSHA256)
	if err := writeAtomically(filepath.Join(c.Dir, envFile), vars); err != nil {
		return err
	}
	select {
	case <-stop:
	case <-d.Process.Exited():
		return errors.New("vault exited:\n" + d.Process.LogTail(20))
	}
	return nil
}

func register(args []string) error {
	var dir, name, bin, version, vault string
	var env envFlags
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.StringVar(&dir, "dir", "", "the running server's directory (as given to start)")
	fs.StringVar(&name, "name", "", "the plugin's name")
	fs.StringVar(&bin, "plugin", "", "the plugin binary")
	fs.StringVar(&version, "version", "", "the plugin's version")
	fs.StringVar(&vault, "vault", "", "the vault binary")
	fs.Var(&env, "env", "NAME=value for the plugin's environment (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	vars, err := readEnv(filepath.Join(dir, envFile))
	if err != nil {
		return err
	}
	d := &vaultdev.Dev{Addr: vars["VAULT_ADDR"], Token: vars["VAULT_TOKEN"], Dir: dir, Vault: vault}
	sha, err := d.Register(name, bin, version, env)
	if err != nil {
		return err
	}
	fmt.Println(sha)
	return nil
}

// writeAtomically writes a file that a reader polling for it never sees
// half written.
func writeAtomically(path, content string) error {
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("no running server: %w", err)
	}
	defer f.Close()
	vars := map[string]string{}
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if k, v, ok := strings.Cut(lines.Text(), "="); ok {
			vars[k] = v
		}
	}
	return vars, lines.Err()
}
