package quote

import (
	"strings"
	"testing"
)

func TestInputIsCutAndQuoted(t *testing.T) {
	long := strings.Repeat("x", 1000)
	got := Input(long)
	if len(got) > MaxBytes+len(`""…`)+2 || !strings.HasSuffix(got, `…"`) {
		t.Fatalf("Input of 1000 bytes = %d bytes %q; want at most %d bytes, marked as cut", len(got), got, MaxBytes)
	}
	if got := Input("a\nb"); got != `"a\nb"` {
		t.Fatalf("Input escapes control characters: got %s", got)
	}
	// A cut inside a multi-byte character leaves valid UTF-8.
	if got := Cut(strings.Repeat("é", 40)); !strings.HasSuffix(got, "é…") {
		t.Fatalf("Cut = %q, want it to end on a whole character", got)
	}
}

func TestListIsBounded(t *testing.T) {
	items := make([]int, 25)
	got := List(items)
	if strings.Count(got, ",") != 10 || !strings.HasSuffix(got, "and 15 more") {
		t.Fatalf("List of 25 = %q, want 10 items and 'and 15 more'", got)
	}
	if List([]string{}) != "none" {
		t.Fatal(`List of nothing must say "none"`)
	}
}
