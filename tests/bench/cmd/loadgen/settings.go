package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// settings are the benchmark's knobs, from the environment (see the
// package comment).
type settings struct {
	seconds      int
	warmup       time.Duration
	latencies    []int // ms
	c0, c, c500  int
	soakTokens   int
	soakClients  int
	soakRole     string
	scaleRoles   int
	scaleClients int
	logLevel     string
	jsonDir      string
	pprofDir     string
}

func readSettings() (settings, error) {
	var errs []error
	number := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number above 0", name, v))
		}
		return n
	}
	s := settings{
		seconds:      number("BENCH_SECONDS", 5),
		c0:           number("BENCH_C0", 16),
		c:            number("BENCH_C", 64),
		c500:         number("BENCH_C500", 4),
		soakTokens:   number("SOAK_TOKENS", 100000),
		soakClients:  number("SOAK_CLIENTS", 16),
		soakRole:     cmp.Or(os.Getenv("SOAK_ROLE"), "id"),
		scaleRoles:   number("SCALE_ROLES", 10000),
		scaleClients: number("SCALE_CLIENTS", 16),
		logLevel:     cmp.Or(os.Getenv("VAULT_LOG_LEVEL"), "error"),
		jsonDir:      os.Getenv("BENCH_JSON"),
		pprofDir:     os.Getenv("BENCH_PPROF"),
	}
	warmup, err := time.ParseDuration(cmp.Or(os.Getenv("BENCH_WARMUP"), "1s"))
	if err == nil && warmup < 0 {
		err = errors.New("negative")
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("BENCH_WARMUP: want a duration such as 1s: %w", err))
	}
	s.warmup = warmup
	for _, f := range strings.Fields(cmp.Or(os.Getenv("BENCH_LATENCIES"), "0 100")) {
		ms, err := strconv.Atoi(f)
		if err != nil || ms < 0 {
			errs = append(errs, fmt.Errorf("BENCH_LATENCIES: %q is not a latency in ms", f))
		}
		s.latencies = append(s.latencies, ms)
	}
	return s, errors.Join(errs...)
}

// measured is the measured duration of a timed row.
func (s settings) measured() time.Duration { return time.Duration(s.seconds) * time.Second }
