package vaultdev

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeServer writes an executable that prints version for `version`.
func fakeServer(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	script := "#!/bin/sh\necho '" + version + "'\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestIdentifyServer(t *testing.T) {
	for _, tc := range []struct {
		prints, name, version string
	}{
		{"Vault v1.21.0, built 2025-12-03T10:06:18Z (cgo)", Vault, "1.21.0"},
		{"OpenBao v2.5.5 (028992583c693c4de6350b8aa52ff85e30375a99)", OpenBao, "2.5.5"},
	} {
		s, err := IdentifyServer(fakeServer(t, tc.prints))
		if err != nil || s.Name != tc.name || s.Version != tc.version {
			t.Errorf("%q: %+v, %v; want %s %s", tc.prints, s, err, tc.name, tc.version)
		}
	}
	for _, prints := range []string{"Consul v1.20.0", "Vault", ""} {
		if s, err := IdentifyServer(fakeServer(t, prints)); err == nil {
			t.Errorf("%q: identified as %+v; want an error", prints, s)
		}
	}
}

func TestBaseConfig(t *testing.T) {
	vault := Server{Name: Vault}.BaseConfig("/p")
	bao := Server{Name: OpenBao}.BaseConfig("/p")
	for _, cfg := range []string{vault, bao} {
		if !strings.Contains(cfg, `plugin_directory = "/p"`) {
			t.Errorf("no plugin directory in\n%s", cfg)
		}
	}
	if !strings.Contains(vault, "disable_mlock") || strings.Contains(bao, "disable_mlock") {
		t.Errorf("disable_mlock belongs to Vault's config only:\nVault:\n%s\nOpenBao:\n%s", vault, bao)
	}
}

func TestFlagsNameTheBinariesAndTheVersion(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for name, content := range map[string]string{"VERSION": "v9.9.9\n", "vault": "", "plugin": ""} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	parse := func(args ...string) (DevConfig, error) {
		var c DevConfig
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		c.Flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return c, c.CheckFlags()
	}
	c, err := parse("-vault", "vault", "-plugin", "plugin")
	if err != nil || c.Version != "v9.9.9" || c.Vault != filepath.Join(dir, "vault") || c.Plugin != filepath.Join(dir, "plugin") {
		t.Errorf("%+v, %v; want the VERSION file's version and absolute paths", c, err)
	}
	if c, err := parse("-vault", "vault", "-plugin", "plugin", "-version", "v1.0.0"); err != nil || c.Version != "v1.0.0" {
		t.Errorf("-version v1.0.0: %+v, %v", c, err)
	}
	if _, err := parse("-vault", "vault"); err == nil {
		t.Error("no error for the default plugin path, which does not exist here")
	}
}
