package readme

import (
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
