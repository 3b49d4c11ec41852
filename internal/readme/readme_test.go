package readme

import (
	"os"
	"path/filepath"
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
