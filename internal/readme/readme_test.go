package readme

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		200 * time.Millisecond: "200ms", 30 * time.Second: "30s", 5 * time.Minute: "5m",
		time.Hour: "1h", 24 * time.Hour: "24h", 90 * time.Second: "1m30s", 9 * time.Minute: "9m",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{256: "256 B", 64 << 10: "64 KiB", 16 << 20: "16 MiB", 4097: "4097 B"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestNumbersReadsTheTable(t *testing.T) {
	numbers, err := Numbers("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(numbers) < 10 {
		t.Fatalf("read %d rows: %v", len(numbers), numbers)
	}
}

func TestConstantsAreTheNumericOnes(t *testing.T) {
	dir := t.TempDir()
	src := `package p

import "time"

const single = 3 * time.Second

const (
	limit   = 10
	derived = limit / 2
	other   = time.Hour
	name    = "a string"
	alias   string = time.RFC3339
	first kind = iota
	second
)

type kind int
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte("package p\n\nconst inTest = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Constants(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"derived", "limit", "other", "single"}; !slices.Equal(got, want) {
		t.Fatalf("Constants = %q; want %q", got, want)
	}

	readme := filepath.Join(dir, "README.md")
	table := "## Limits and timings\n\n| key | value | what |\n|---|---|---|\n| `p.limit` | 10 | x |\n| `p.other` | 2h | x |\n"
	if err := os.WriteFile(readme, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	problems, err := Check(readme, dir, []Row{
		{Key: "p.limit", Source: "limit", Value: "10"},
		{Key: "p.other", Source: "other", Value: "1h"},
		{Key: "p.single", Source: "single", Value: "3s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p.other", "p.single", "derived"} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem names %s: %q", want, problems)
		}
	}
	if len(problems) != 3 {
		t.Errorf("%d problems, want 3 (a wrong value, a missing row, a constant without a row): %q", len(problems), problems)
	}
}

func TestBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	doc := "# R\n\n<!-- block: one -->\n```sh\necho one\necho two\n```\n\n<!-- block: open -->\n```sh\necho\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Block(path, "one"); err != nil || got != "echo one\necho two\n" {
		t.Fatalf("Block(one) = %q, %v", got, err)
	}
	for name, want := range map[string]string{"none": "no block marked", "open": "not closed"} {
		if _, err := Block(path, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Block(%s): %v; want an error saying %q", name, err, want)
		}
	}
}
