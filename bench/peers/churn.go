// churn: allocation-rate workload with a fixed-size live set, Go peer.
//
// Usage: churn [-threads N] [-ops M]     (defaults: N = 1, M = 4000000)
//
// Each of N goroutines owns a table of K = 65536 object pointers, all nil at
// the start, and performs M operations. Operation i (0 <= i < M) of thread t
// computes, in wrapping uint64 arithmetic,
//
//	x    = (i + 1 + t*0x100000000) * 0x9E3779B97F4A7C15;  x ^= x >> 29
//	size = 16 + ((x >> 8) % 16) * 16                      (16 .. 256 bytes)
//	j    = (x >> 20) & 0xFFFF
//
// allocates one zeroed object of exactly `size` bytes whose first word is a
// pointer, stores it in the first word of table[(j+1) & 0xFFFF] (if that is
// not nil: a pointer store into an older object), puts it in table[j]
// (dropping the object that was there) and adds size to the thread's byte
// count. At the end each thread counts its non-nil table entries. Each
// object's first word points at the current occupant of the slot before
// its own, so nothing outlives its table slot: the live set stays at most
// N*65536 objects while the program allocates N*M objects.
//
// Output: one line, "churn threads N ops M bytes B live L", B and L summed
// over the threads; then on stderr the RESULT line (gcstats.go) with name
// churn_tN and one more field, alloc_mb_s = B / 1e6 / seconds, the seconds
// running from the start of main to the join of the last worker.
//
// Each size is a struct type of its own (o16 ... o256) whose first field is
// an unsafe.Pointer and the rest bytes, so every operation is one Go
// allocation of exactly that size (each multiple of 16 up to 256 is a Go size
// class) with a single pointer word for the collector to trace, as in the C
// peers (GC_MALLOC(size), malloc(size)).
//
// Build: go build -o churn_go churn.go gcstats.go
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"unsafe"
)

const (
	tableSize = 1 << 16 // K: table entries per thread
	tableMask = tableSize - 1
)

// The 16 object shapes: size bytes, word 0 a pointer, the rest pointer-free.
type (
	o16 struct {
		next unsafe.Pointer
		_    [8]byte
	}
	o32 struct {
		next unsafe.Pointer
		_    [24]byte
	}
	o48 struct {
		next unsafe.Pointer
		_    [40]byte
	}
	o64 struct {
		next unsafe.Pointer
		_    [56]byte
	}
	o80 struct {
		next unsafe.Pointer
		_    [72]byte
	}
	o96 struct {
		next unsafe.Pointer
		_    [88]byte
	}
	o112 struct {
		next unsafe.Pointer
		_    [104]byte
	}
	o128 struct {
		next unsafe.Pointer
		_    [120]byte
	}
	o144 struct {
		next unsafe.Pointer
		_    [136]byte
	}
	o160 struct {
		next unsafe.Pointer
		_    [152]byte
	}
	o176 struct {
		next unsafe.Pointer
		_    [168]byte
	}
	o192 struct {
		next unsafe.Pointer
		_    [184]byte
	}
	o208 struct {
		next unsafe.Pointer
		_    [200]byte
	}
	o224 struct {
		next unsafe.Pointer
		_    [216]byte
	}
	o240 struct {
		next unsafe.Pointer
		_    [232]byte
	}
	o256 struct {
		next unsafe.Pointer
		_    [248]byte
	}
)

// newObj allocates a zeroed object of 16*(bucket+1) bytes with next in its
// first word.
func newObj(bucket uint64, next unsafe.Pointer) unsafe.Pointer {
	switch bucket {
	case 0:
		return unsafe.Pointer(&o16{next: next})
	case 1:
		return unsafe.Pointer(&o32{next: next})
	case 2:
		return unsafe.Pointer(&o48{next: next})
	case 3:
		return unsafe.Pointer(&o64{next: next})
	case 4:
		return unsafe.Pointer(&o80{next: next})
	case 5:
		return unsafe.Pointer(&o96{next: next})
	case 6:
		return unsafe.Pointer(&o112{next: next})
	case 7:
		return unsafe.Pointer(&o128{next: next})
	case 8:
		return unsafe.Pointer(&o144{next: next})
	case 9:
		return unsafe.Pointer(&o160{next: next})
	case 10:
		return unsafe.Pointer(&o176{next: next})
	case 11:
		return unsafe.Pointer(&o192{next: next})
	case 12:
		return unsafe.Pointer(&o208{next: next})
	case 13:
		return unsafe.Pointer(&o224{next: next})
	case 14:
		return unsafe.Pointer(&o240{next: next})
	case 15:
		return unsafe.Pointer(&o256{next: next})
	}
	panic("bad size bucket")
}

// churn runs thread t's M operations; it returns the bytes allocated and the
// number of non-nil table entries at the end.
func churn(t, ops uint64) (bytes, live uint64) {
	table := make([]unsafe.Pointer, tableSize)
	for i := uint64(0); i < ops; i++ {
		x := (i + 1 + t*0x100000000) * 0x9E3779B97F4A7C15
		x ^= x >> 29
		bucket := (x >> 8) % 16
		j := (x >> 20) & tableMask
		obj := newObj(bucket, nil)
		if n := table[(j+1)&tableMask]; n != nil {
			*(*unsafe.Pointer)(n) = obj // the neighbour's first word
		}
		table[j] = obj
		bytes += 16 + bucket*16
	}
	for _, p := range table {
		if p != nil {
			live++
		}
	}
	return bytes, live
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: churn [-threads N] [-ops M]")
	os.Exit(2)
}

func main() {
	threads, ops := uint64(1), uint64(4000000)
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i+1 >= len(args) {
			usage()
		}
		i++
		n, err := strconv.ParseUint(args[i], 10, 64)
		switch {
		case err != nil:
			usage()
		case (a == "-threads" || a == "--threads") && n >= 1 && n <= 1<<16:
			threads = n
		case a == "-ops" || a == "--ops":
			ops = n
		default:
			usage()
		}
	}
	stats := startGCStats(fmt.Sprintf("churn_t%d", threads))

	bytes := make([]uint64, threads)
	live := make([]uint64, threads)
	var wg sync.WaitGroup
	for t := uint64(0); t < threads; t++ {
		wg.Add(1)
		go func(t uint64) {
			defer wg.Done()
			bytes[t], live[t] = churn(t, ops)
		}(t)
	}
	wg.Wait()
	secs := stats.elapsed().Seconds()

	var totalBytes, totalLive uint64
	for t := range bytes {
		totalBytes += bytes[t]
		totalLive += live[t]
	}
	fmt.Printf("churn threads %d ops %d bytes %d live %d\n", threads, ops, totalBytes, totalLive)
	stats.reportWith(func([]uint64) string {
		return fmt.Sprintf(" alloc_mb_s=%.3f", float64(totalBytes)/1e6/secs)
	})
}
