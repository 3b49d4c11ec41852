package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// Linux fixes it at 100 on every architecture Vault ships for.
const clockTicks = 100

// watched is a process whose CPU and memory a row reports.
type watched struct {
	name string
	pid  int
}

// sample is one reading of a process.
type sample struct {
	cpu     time.Duration // utime + stime
	rssKB   int           // VmRSS
	hwmKB   int           // VmHWM: peak RSS since start or the last reset
	threads int
}

// read samples a process from /proc.
func read(pid int) (sample, error) {
	var s sample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name, in parentheses, may hold spaces: count the fields
	// after its closing parenthesis, where field 3 (state) starts.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("pid %d: unreadable stat", pid)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 13 {
		return s, fmt.Errorf("pid %d: short stat", pid)
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(fields[12], 10, 64) // field 15
	s.cpu = time.Duration(utime+stime) * time.Second / clockTicks

	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(val), " kB"))
		switch key {
		case "VmRSS":
			s.rssKB = n
		case "VmHWM":
			s.hwmKB = n
		case "Threads":
			s.threads = n
		}
	}
	return s, sc.Err()
}

// procReport is what a watched process did during the measured phase.
type procReport struct {
	PID          int     `json:"pid"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUPerOpUS   float64 `json:"cpu_us_per_op"`
	RSSStartKB   int     `json:"rss_start_kb"`
	RSSEndKB     int     `json:"rss_end_kb"`
	PeakRSSKB    int     `json:"peak_rss_kb"`
	PeakIsPhase  bool    `json:"peak_is_phase"` // false: the peak is since the process started
	ThreadsStart int     `json:"threads_start"`
	ThreadsEnd   int     `json:"threads_end"`
}

// watch holds the readings taken when the measured phase started.
type watch struct {
	procs     []watched
	starts    []sample
	reset     []bool
	machine   machineCPU
	startedAt time.Time
}

// machineCPU is the first line of /proc/stat, in clock ticks: time spent
// busy and in total, by all CPUs.
type machineCPU struct{ busy, total int64 }

func readMachineCPU() machineCPU {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	var m machineCPU
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		m.total += n
		if i != 3 && i != 4 { // idle, iowait
			m.busy += n
		}
	}
	return m
}

// busyCores reports how many CPUs' worth of time the whole machine spent
// busy since the watch started: with every process of the benchmark on
// one machine, it tells CPU-bound from waiting.
func (w *watch) busyCores() float64 {
	now := readMachineCPU()
	total := now.total - w.machine.total
	if total <= 0 {
		return 0
	}
	return float64(now.busy-w.machine.busy) / float64(total) * float64(runtime.NumCPU())
}

// startWatch takes the starting readings. It resets each process's peak
// RSS (clear_refs 5, Linux 4.0+, needs the same user or root) so that the
// peak reported belongs to the measured phase; if that is refused, the
// peak since the process started is reported and flagged.
func startWatch(procs []watched) (*watch, error) {
	// loadgen watches itself too: its CPU is taken from the same machine.
	procs = append(procs, watched{"loadgen", os.Getpid()})
	w := &watch{procs: procs, machine: readMachineCPU(), startedAt: time.Now()}
	for _, p := range procs {
		reset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0) == nil
		s, err := read(p.pid)
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", p.name, err)
		}
		w.starts = append(w.starts, s)
		w.reset = append(w.reset, reset)
	}
	return w, nil
}

// finish takes the final readings and reports them for ops operations. A
// process that has gone away is reported with its starting readings only.
func (w *watch) finish(ops int) map[string]procReport {
	out := make(map[string]procReport, len(w.procs))
	for i, p := range w.procs {
		start := w.starts[i]
		end, err := read(p.pid)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %s (pid %d) is gone: %v\n", p.name, p.pid, err)
			end = start
		}
		cpu := (end.cpu - start.cpu).Seconds()
		r := procReport{
			PID: p.pid, CPUSeconds: cpu,
			RSSStartKB: start.rssKB, RSSEndKB: end.rssKB, PeakRSSKB: end.hwmKB, PeakIsPhase: w.reset[i],
			ThreadsStart: start.threads, ThreadsEnd: end.threads,
		}
		if ops > 0 {
			r.CPUPerOpUS = cpu * 1e6 / float64(ops)
		}
		out[p.name] = r
	}
	return out
}

// progress prints the watched processes' memory every interval until the
// returned function is called; for soaks, to show the trend, not only the
// ends.
func progress(every time.Duration, w *watch) (stop func()) {
	if every <= 0 || len(w.procs) == 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			line := fmt.Sprintf("loadgen: t=%3.0fs", time.Since(start).Seconds())
			for _, p := range w.procs {
				if s, err := read(p.pid); err == nil {
					line += fmt.Sprintf("  %s rss=%.1fMB threads=%d cpu=%.1fs", p.name, float64(s.rssKB)/1024, s.threads, s.cpu.Seconds())
				}
			}
			fmt.Fprintln(os.Stderr, line)
		}
	}()
	return func() { close(done) }
}
