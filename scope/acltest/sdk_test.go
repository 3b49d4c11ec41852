package acltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const vaultSDK = "github.com/hashicorp/vault/sdk"

// fieldReaders are the modules the SDK reads request fields with.
var fieldReaders = []string{"github.com/mitchellh/mapstructure", "github.com/hashicorp/go-secure-stdlib/parseutil"}

// TestPluginReadsFieldsWithItsOwnCode checks what go.mod's replaces rest
// on: here the plugin runs on Vault 1.21's SDK, not the one it is built
// with, so the SDK code that turns a request's data into field values, and
// the modules it does that with, must be the plugin's own.
func TestPluginReadsFieldsWithItsOwnCode(t *testing.T) {
	plugin := moduleDirs(t, "../..")
	here := moduleDirs(t, ".")
	for _, module := range fieldReaders {
		if plugin[module] != here[module] {
			t.Errorf("%s: the plugin builds with %s, this module with %s", module, plugin[module], here[module])
		}
	}
	for _, file := range []string{"framework/field_data.go", "framework/field_type.go"} {
		if sourceBody(t, plugin[vaultSDK], file) != sourceBody(t, here[vaultSDK], file) {
			t.Errorf("%s differs between the SDK the plugin builds with (%s) and the one here (%s)", file, plugin[vaultSDK], here[vaultSDK])
		}
	}
}

// moduleDirs maps the SDK and the field readers to their directories, as
// the module in dir resolves them.
func moduleDirs(t *testing.T, dir string) map[string]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Dir}}", vaultSDK}, fieldReaders...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m in %s: %v", dir, err)
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, moduleDir, _ := strings.Cut(line, " ")
		dirs[path] = moduleDir
	}
	return dirs
}

// sourceBody is a source file without its first line, the copyright
// notice, which changed between SDK releases.
func sourceBody(t *testing.T, moduleDir, file string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(moduleDir, file))
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(text), "\n")
	return body
}
