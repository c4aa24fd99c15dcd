// GCBench (John Ellis and Pete Kovac; C version by Hans Boehm), Go peer.
//
// Usage: gcbench
//
// A fixed workload, single-threaded, kept as in the original:
//   - a stretch tree of depth 18 is built and dropped;
//   - a long-lived tree of depth 16 (built top-down) and a long-lived array of
//     500000 doubles stay reachable for the whole run;
//   - for depth 4, 6, ..., 16, NumIters(depth) = 2*TreeSize(18)/TreeSize(depth)
//     short-lived trees are built top-down (Populate) and then as many
//     bottom-up (MakeTree), each dropped at once.
//
// Node is {left, right *Node; i, j int}: 32 bytes, the same as the C peer's
// node (which uses long for i and j). Every node is allocated individually
// through the garbage collector. The array is pointer-free, like the
// original's GC_MALLOC_ATOMIC array. One line the original lacks is printed
// at the end: the node count of the long-lived tree, found by walking it, so
// that the outputs of the implementations can be compared.
//
// Build: go build -o gcbench_go gcbench.go gcstats.go
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

type Node struct {
	left, right *Node
	i, j        int
}

const (
	kStretchTreeDepth   = 18 // about 16Mb
	kLongLivedTreeDepth = 16 // about 4Mb
	kArraySize          = 500000
	kMinTreeDepth       = 4
	kMaxTreeDepth       = 16
)

// TreeSize is the number of nodes in a complete binary tree of depth i.
func TreeSize(i int) int { return (1 << uint(i+1)) - 1 }

// NumIters is the number of trees of depth i built per construction phase.
func NumIters(i int) int { return 2 * TreeSize(kStretchTreeDepth) / TreeSize(i) }

// NewNode allocates the root of a top-down tree. It is kept out of line so
// that escape analysis cannot move the root onto the caller's stack: every
// node goes through the garbage collector, as in the original.
//
//go:noinline
func NewNode() *Node { return &Node{} }

// Populate builds a tree top-down.
func Populate(iDepth int, thisNode *Node) {
	if iDepth <= 0 {
		return
	}
	iDepth--
	thisNode.left = &Node{}
	thisNode.right = &Node{}
	Populate(iDepth, thisNode.left)
	Populate(iDepth, thisNode.right)
}

// MakeTree builds a tree bottom-up.
func MakeTree(iDepth int) *Node {
	if iDepth <= 0 {
		return &Node{}
	}
	return &Node{left: MakeTree(iDepth - 1), right: MakeTree(iDepth - 1)}
}

func countNodes(n *Node) int {
	if n == nil {
		return 0
	}
	return 1 + countNodes(n.left) + countNodes(n.right)
}

func msSince(t time.Time) int64 { return time.Since(t).Milliseconds() }

func TimeConstruction(depth int) {
	iNumIters := NumIters(depth)
	fmt.Printf("Creating %d trees of depth %d\n", iNumIters, depth)

	tStart := time.Now()
	for i := 0; i < iNumIters; i++ {
		tempTree := NewNode()
		Populate(depth, tempTree)
	}
	fmt.Printf("\tTop down construction took %d msec\n", msSince(tStart))

	tStart = time.Now()
	for i := 0; i < iNumIters; i++ {
		_ = MakeTree(depth)
	}
	fmt.Printf("\tBottom up construction took %d msec\n", msSince(tStart))
}

func main() {
	stats := startGCStats("gcbench")

	fmt.Printf("Garbage Collector Test\n")
	fmt.Printf(" Live storage will peak at %d bytes.\n\n",
		2*32*TreeSize(kLongLivedTreeDepth)+8*kArraySize)
	fmt.Printf(" Stretching memory with a binary tree of depth %d\n", kStretchTreeDepth)

	tStart := time.Now()

	// Stretch the memory space quickly.
	_ = MakeTree(kStretchTreeDepth)

	// Create a long-lived object.
	fmt.Printf(" Creating a long-lived binary tree of depth %d\n", kLongLivedTreeDepth)
	longLivedTree := NewNode()
	Populate(kLongLivedTreeDepth, longLivedTree)

	// Create a long-lived array, filling half of it.
	fmt.Printf(" Creating a long-lived array of %d doubles\n", kArraySize)
	array := make([]float64, kArraySize)
	for i := 0; i < kArraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	for d := kMinTreeDepth; d <= kMaxTreeDepth; d += 2 {
		TimeConstruction(d)
	}

	if longLivedTree == nil || array[1000] != 1.0/1000 {
		fmt.Fprintf(os.Stderr, "Failed\n")
		os.Exit(1)
	}
	fmt.Printf(" Long-lived tree of depth %d has %d nodes\n",
		kLongLivedTreeDepth, countNodes(longLivedTree))
	runtime.KeepAlive(array)

	fmt.Printf("Completed in %d msec\n", msSince(tStart))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("Completed %d collections\n", ms.NumGC)
	stats.report()
}
