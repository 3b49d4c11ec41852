package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// logLevels measures what Vault's default log level costs: at info, each
// mint and revocation writes the plugin's line (with hashed_token) to
// Vault's log; at error, the level every other row runs at, Vault drops
// it. Two fresh dev Vaults, one per level, serve the same token/id role
// (the main one holds the leases of every row before, which slow it); they
// take turns, twice, at 0 ms emulator latency, where CPU decides. The table
// also gives the length of the mint line in the info Vault's log.
func (b *bench) logLevels(ctx context.Context) error {
	levels := []string{"error", "info"}
	servers := map[string]*vault{}
	for _, level := range levels {
		v, err := b.startVault("log-"+level, level, b.pluginEnv)
		if err != nil {
			return err
		}
		org := strconv.FormatInt(b.emu.OrgInstallationID, 10)
		if err := v.mountEngine("github", b.emu.URL, b.emu, role{"id", map[string]any{"installation_id": org}}); err != nil {
			return err
		}
		servers[level] = v
	}
	if err := b.emu.setLatency(ctx, 0); err != nil {
		return err
	}
	infoLog := filepath.Join(servers["info"].dev.Dir, "vault.log")
	var rows []report
	var lineBytes []*float64
	for round := 1; round <= 2; round++ {
		for _, level := range levels {
			before, err := fileSize(infoLog)
			if err != nil {
				return err
			}
			label := fmt.Sprintf("log-%s-%d@0", level, round)
			rep, err := b.measure(ctx, b.timed(label, servers[level], b.s.c0, "github/token/id"))
			if err != nil {
				return err
			}
			avg, err := mintLineBytes(infoLog, before)
			if err != nil {
				return err
			}
			rows, lineBytes = append(rows, rep), append(lineBytes, avg)
		}
	}
	fmt.Printf("\ntoken/id at 0 ms, %d clients, on two fresh Vaults, at log level error and at Vault's default (info), taking turns:\n\n", b.s.c0)
	logTable(os.Stdout, rows, lineBytes)
	return nil
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// mintLineBytes is the average length, newline included, of the mint lines
// a Vault log gained after offset; nil for none.
func mintLineBytes(path string, offset int64) (*float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	var n, total int
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		if bytes.Contains(lines.Bytes(), []byte("minted installation token")) {
			n++
			total += len(lines.Bytes()) + 1
		}
	}
	if n == 0 {
		return nil, lines.Err()
	}
	avg := float64(total) / float64(n)
	return &avg, lines.Err()
}
