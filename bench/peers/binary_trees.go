// binary-trees (The Computer Language Benchmarks Game), Go peer.
//
// Usage: binary_trees [-threads N] [max_depth]      (max_depth defaults to 21)
//
// Rules followed: every tree node is allocated individually through the
// garbage collector (&Node{}), nothing is pooled or freed by hand, and each
// check value is computed by walking the tree that was just built.
//
// The default is single-threaded: the trees of each depth are built one after
// another by the main goroutine, because the first comparison against gcheap
// is single-threaded. (The Go runtime still runs its own background GC
// workers; see README.md.) With -threads N > 1 each depth's iterations are
// split over N worker goroutines: worker t builds and checks trees
// i = t, t+N, t+2N, ... and sums their checks, and the depth's check is the
// sum over the workers. The depths still run one after another, and the
// stretch and long-lived trees are built by the main goroutine, so the output
// is the same as single-threaded. The program then reports itself as
// binary_trees_tN.
//
// Build: go build -o binary_trees_go binary_trees.go gcstats.go
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

type Node struct {
	left, right *Node
}

func create(depth int) *Node {
	if depth <= 0 {
		return &Node{}
	}
	return &Node{create(depth - 1), create(depth - 1)}
}

func (n *Node) check() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

const minDepth = 4

func usage() {
	fmt.Fprintln(os.Stderr, "usage: binary_trees [-threads N] [max_depth]")
	os.Exit(2)
}

func main() {
	maxDepth, threads := 21, 1
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-threads", "--threads":
			if i+1 >= len(args) {
				usage()
			}
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 1 {
				usage()
			}
			threads = n
		default:
			n, err := strconv.Atoi(a)
			if err != nil || n < 0 {
				usage()
			}
			maxDepth = n
		}
	}
	name := "binary_trees"
	if threads > 1 {
		name = fmt.Sprintf("binary_trees_t%d", threads)
	}
	stats := startGCStats(name)

	if maxDepth < minDepth+2 {
		maxDepth = minDepth + 2
	}
	stretchDepth := maxDepth + 1
	fmt.Printf("stretch tree of depth %d\t check: %d\n", stretchDepth, create(stretchDepth).check())

	longLived := create(maxDepth)

	for depth := minDepth; depth <= maxDepth; depth += 2 {
		iterations := 1 << uint(maxDepth-depth+minDepth)
		check := 0
		if threads == 1 {
			for i := 0; i < iterations; i++ {
				check += create(depth).check()
			}
		} else {
			// Worker t takes trees t, t+threads, t+2*threads, ...
			sums := make([]int, threads)
			var wg sync.WaitGroup
			for t := 0; t < threads; t++ {
				wg.Add(1)
				go func(t int) {
					defer wg.Done()
					sum := 0
					for i := t; i < iterations; i += threads {
						sum += create(depth).check()
					}
					sums[t] = sum
				}(t)
			}
			wg.Wait()
			for _, sum := range sums {
				check += sum
			}
		}
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iterations, depth, check)
	}

	fmt.Printf("long lived tree of depth %d\t check: %d\n", maxDepth, longLived.check())
	stats.report()
}
