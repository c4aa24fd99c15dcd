// Shared by the Go peer programs: wall time and GC statistics, reported as a
// single machine-readable line on stderr at the end of a run:
//
//	RESULT name=<prog> impl=go wall_ms=<f> gcs=<n> max_pause_us=<f> total_pause_ms=<f> [extra fields]
//
// Build each program together with this file, e.g.
//
//	go build -o binary_trees_go binary_trees.go gcstats.go
//
// Pauses. runtime.MemStats.PauseNs is a ring of the last 256 per-cycle
// stop-the-world times (sweep termination + mark termination of one cycle);
// PauseTotalNs is the sum over all cycles. A run of these benchmarks goes
// through far more than 256 cycles, so reading the ring once at the end would
// miss most of them. A finalizer that re-arms itself runs once after every
// cycle; it reads the cycle count through runtime/metrics (no stop-the-world)
// and folds the ring into the running maximum whenever half of it has been
// written since the last fold. That costs one ReadMemStats (a very short
// stop-the-world of its own, not counted as a GC pause) per 128 cycles. Each
// folded cycle's pause is also kept, one word per cycle, for percentiles.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const (
	pauseRing       = 256 // len(runtime.MemStats.PauseNs)
	harvestInterval = pauseRing / 2
)

type gcStats struct {
	name  string
	start time.Time

	mu        sync.Mutex
	folded    uint32   // cycles 1..folded are in maxPause
	maxPause  uint64   // ns
	pauses    []uint64 // ns, one per folded cycle
	missed    uint32   // cycles whose ring entry was overwritten before folding
	cycles    []metrics.Sample
	stopped   atomic.Bool
	finalizer func(*gcSentinel)
}

// gcSentinel is large enough and holds a pointer, so it is never placed in a
// tiny-allocator block together with other objects; it dies every cycle.
type gcSentinel struct {
	p   *gcSentinel
	pad [2]uintptr
}

func startGCStats(name string) *gcStats {
	s := &gcStats{
		name:   name,
		start:  time.Now(),
		cycles: []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}},
	}
	s.finalizer = func(*gcSentinel) {
		if s.stopped.Load() {
			return
		}
		s.afterCycle()
		s.arm()
	}
	s.arm()
	return s
}

func (s *gcStats) arm() {
	runtime.SetFinalizer(new(gcSentinel), s.finalizer)
}

func (s *gcStats) afterCycle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	metrics.Read(s.cycles)
	if s.cycles[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if s.cycles[0].Value.Uint64()-uint64(s.folded) < harvestInterval {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.fold(&ms)
}

// fold adds the ring entries of cycles folded+1..ms.NumGC to the maximum.
// Cycle k (1-based) is stored at PauseNs[(k+255)%256].
func (s *gcStats) fold(ms *runtime.MemStats) {
	lo := s.folded + 1
	if ms.NumGC > pauseRing && lo+pauseRing <= ms.NumGC {
		s.missed += ms.NumGC - pauseRing + 1 - lo
		lo = ms.NumGC - pauseRing + 1
	}
	for k := lo; k <= ms.NumGC; k++ {
		p := ms.PauseNs[(k+pauseRing-1)%pauseRing]
		if p > s.maxPause {
			s.maxPause = p
		}
		s.pauses = append(s.pauses, p)
	}
	if ms.NumGC > s.folded {
		s.folded = ms.NumGC
	}
}

// elapsed is the wall time since startGCStats.
func (s *gcStats) elapsed() time.Duration {
	return time.Since(s.start)
}

// report prints the RESULT line; call it once, at the very end of the run.
func (s *gcStats) report() {
	s.reportWith(func([]uint64) string { return "" })
}

// reportWith is report with extra fields: extra gets the pauses (ns) of every
// folded cycle, sorted, and returns what is appended to the RESULT line
// (" key=value ...", or "").
func (s *gcStats) reportWith(extra func(sortedPausesNs []uint64) string) {
	wall := time.Since(s.start)
	s.stopped.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.fold(&ms)
	if s.missed > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d GC pauses were overwritten in the ring before being read; max_pause_us covers the rest\n", s.missed)
	}
	sort.Slice(s.pauses, func(a, b int) bool { return s.pauses[a] < s.pauses[b] })
	fmt.Fprintf(os.Stderr, "RESULT name=%s impl=go wall_ms=%.3f gcs=%d max_pause_us=%.3f total_pause_ms=%.3f%s\n",
		s.name, float64(wall.Nanoseconds())/1e6, ms.NumGC,
		float64(s.maxPause)/1e3, float64(ms.PauseTotalNs)/1e6, extra(s.pauses))
}
