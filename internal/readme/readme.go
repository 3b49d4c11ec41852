// Package readme reads the README's "Limits and timings" table, so that
// tests can hold every number the README states to the constant the code
// uses: the number is set once, in code, and the README is checked to say
// it. It also reads the README's marked code blocks, so that the
// end-to-end tests run its recipes as written.
package readme

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"
)

// Numbers returns the table's rows, key to value, from the README at path:
// the rows of the form "| `key` | value | meaning |" under the heading
// "## Limits and timings".
func Numbers(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	numbers := map[string]string{}
	in := false
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Limits and timings"
			continue
		}
		cells := strings.Split(line, "|")
		if !in || len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		numbers[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
	}
	if err := lines.Err(); err != nil {
		return nil, err
	}
	if len(numbers) == 0 {
		return nil, fmt.Errorf("%s has no Limits and timings table", path)
	}
	return numbers, nil
}

// Duration writes d as the README does: 200ms, 30s, 5m, 1h, 24h.
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Bytes writes n as the README does: 256 B, 64 KiB, 4 MiB.
func Bytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// Block returns the fenced code block that follows the line
// "<!-- block: name -->" in the README at path, without its fences. The
// marker is an HTML comment, which the rendered README does not show.
func Block(path, name string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	marker := "<!-- block: " + name + " -->\n"
	_, after, ok := strings.Cut(string(data), marker)
	if !ok {
		return "", fmt.Errorf("%s has no block marked %q", path, name)
	}
	fence, body, ok := strings.Cut(after, "\n")
	if !strings.HasPrefix(fence, "```") || !ok {
		return "", fmt.Errorf("%s: the line after the marker %q does not open a fenced block", path, name)
	}
	body, _, ok = strings.Cut(body, "```\n")
	if !ok {
		return "", fmt.Errorf("%s: the block marked %q is not closed", path, name)
	}
	return body, nil
}
