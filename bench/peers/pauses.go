// pauses: collector pauses with a large live heap, busy mutators and
// goroutines that spin without calls, Go peer.
//
// Usage: pauses [-live MiB] [-seconds S] [-spinners K] [-mutators N]
//
//	(defaults: 256 MiB, 10 s, 2 spinners, 2 mutators)
//
// The program
//   - builds a live heap of `live` MiB: binary trees of depth 12 (8191
//     32-byte nodes, 256 KiB each) hanging off a root slice;
//   - then, for S seconds, runs N mutator goroutines, each looping: build a
//     short-lived tree of depth 6 and check it; every 64 iterations replace
//     a live tree, chosen with a per-goroutine xorshift generator, by a new
//     tree of depth 12. The replaced tree becomes garbage, so collections run
//     back to back with the live heap near `live` MiB;
//   - and K spinner goroutines that loop with no function calls and no
//     allocation (summing a 4 KiB array), looking at the stop flag only every
//     2^24 additions. A collector that stops the world must first stop
//     these; Go does it by preempting them asynchronously (signals, Go 1.14
//     and later). How long that takes shows up in the pauses.
//
// Output: one line, "pauses live L seconds S mutators N spinners K"; then on
// stderr the RESULT line (gcstats.go) with name pauses and two more fields,
// p50_pause_us and p99_pause_us: the median and 99th percentile of the
// per-cycle pauses (MemStats.PauseNs) over every cycle of the run, the build
// of the live heap included, as max_pause_us is.
//
// Node is {left, right *node; pad [16]byte}: 32 bytes, two pointers, as
// gcheap's bench/tree_node.h node. The root slice holds atomic.Pointer
// entries because mutators replace trees in each other's view.
//
// Build: go build -o pauses_go pauses.go gcstats.go
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type node struct {
	left, right *node
	_           [16]byte
}

func tree(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	return &node{left: tree(depth - 1), right: tree(depth - 1)}
}

func (n *node) check() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

const (
	liveDepth      = 12
	liveTreeBytes  = (1<<(liveDepth+1) - 1) * 32 // 8191 nodes
	shortDepth     = 6
	replaceEvery   = 64 // short-lived trees per replaced live tree
	spinArrayLen   = 4096 / 8
	spinCheckEvery = 1 << 24 // additions between looks at the stop flag
)

var sink atomic.Int64 // keeps the spinners' and mutators' results alive

// spin adds up a 4 KiB array with no calls and no allocation in its inner
// loop, until stop is set.
func spin(stop *atomic.Bool) {
	var arr [spinArrayLen]int64
	for i := range arr {
		arr[i] = int64(i)
	}
	var sum int64
	for !stop.Load() {
		for i := 0; i < spinCheckEvery; i++ {
			sum += arr[i&(spinArrayLen-1)]
		}
	}
	sink.Add(sum)
}

func mutate(id int, roots []atomic.Pointer[node], stop *atomic.Bool) {
	x := uint64(88172645463325252) + uint64(id)
	sum := 0
	for n := 1; !stop.Load(); n++ {
		sum += tree(shortDepth).check()
		if n%replaceEvery == 0 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			roots[x%uint64(len(roots))].Store(tree(liveDepth))
		}
	}
	sink.Add(int64(sum))
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: pauses [-live MiB] [-seconds S] [-spinners K] [-mutators N]")
	os.Exit(2)
}

func main() {
	live, seconds, spinners, mutators := 256, 10, 2, 2
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i+1 >= len(args) {
			usage()
		}
		i++
		n, err := strconv.Atoi(args[i])
		if err != nil || n < 0 {
			usage()
		}
		switch a {
		case "-live", "--live":
			live = n
		case "-seconds", "--seconds":
			seconds = n
		case "-spinners", "--spinners":
			spinners = n
		case "-mutators", "--mutators":
			mutators = n
		default:
			usage()
		}
	}
	stats := startGCStats("pauses")

	ntrees := live * (1 << 20) / liveTreeBytes
	if ntrees < 1 {
		ntrees = 1
	}
	roots := make([]atomic.Pointer[node], ntrees)
	for i := range roots {
		roots[i].Store(tree(liveDepth))
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	for k := 0; k < spinners; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spin(&stop)
		}()
	}
	for id := 0; id < mutators; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			mutate(id, roots, &stop)
		}(id)
	}
	time.Sleep(time.Duration(seconds) * time.Second)
	stop.Store(true)
	wg.Wait()

	fmt.Printf("pauses live %d seconds %d mutators %d spinners %d\n", live, seconds, mutators, spinners)
	stats.reportWith(func(p []uint64) string {
		if len(p) == 0 {
			return " p50_pause_us=0 p99_pause_us=0"
		}
		p99 := len(p) * 99 / 100
		if p99 > len(p)-1 {
			p99 = len(p) - 1
		}
		return fmt.Sprintf(" p50_pause_us=%.3f p99_pause_us=%.3f", float64(p[len(p)/2])/1e3, float64(p[p99])/1e3)
	})
}
