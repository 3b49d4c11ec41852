package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The expected tables in testdata were printed by the jq programs the
// tables replaced (tests/bench/*.jq, removed with scripts/bench.sh), from
// the rows beside them: docs/benchmarks.md keeps its columns.

// rows reads testdata/name.jsonl, a report a line.
func rows(t *testing.T, name string) []report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []report
	for dec := json.NewDecoder(f); ; {
		var r report
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

func requireTable(t *testing.T, name string, print func(io.Writer)) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name+".md"))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	print(&got)
	if got.String() != string(want) {
		t.Errorf("%s table:\n%s\nwant:\n%s", name, got.String(), want)
	}
}

func TestMainTable(t *testing.T) {
	all := rows(t, "main")
	requireTable(t, "main", func(w io.Writer) { mainTable(w, all) })
}

func TestLogTable(t *testing.T) {
	all := rows(t, "log")
	info := 376.4
	requireTable(t, "log", func(w io.Writer) { logTable(w, all, []*float64{nil, &info, nil, &info}) })
}

func TestScaleTable(t *testing.T) {
	all := rows(t, "scale")
	requireTable(t, "scale", func(w io.Writer) { scaleTable(w, all, 300, 304) })
}

func TestSoakTable(t *testing.T) {
	soak := rows(t, "soak")[0]
	start := 59
	requireTable(t, "soak", func(w io.Writer) {
		soakTable(w, soak, soakEnd{settledKB: 40000, goroutinesStart: &start})
	})
}
