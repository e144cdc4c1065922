package chk

import "github.com/communitycube/cube/shared/hashtree"

// chainOrder returns the node numbers of share sh's hash chain (siblings up
// to the root, then the share's own leaf) in the order Tahoe writes them.
func chainOrder(n, sh int) []int {
	elems := hashtree.Chain(n, sh, false) // deepest sibling first, as Tahoe builds the set
	elems = append(elems, hashtree.FirstLeaf(n)+sh)
	return pySetOrder(elems)
}

// pySetOrder returns elems (distinct small non-negative ints) in the order
// CPython 3 iterates a set built by adding them one by one.
//
// Why: Tahoe-LAFS writes each share's hash chain by iterating a Python set
// of node numbers. Readers accept the pairs in any order, but reproducing
// the order keeps our share files byte-identical to Tahoe's. For small ints
// the hash is the value itself, so the order follows from CPython's open
// addressing: start at hash&mask, probe the next 9 slots when they exist,
// then jump with a perturbed recurrence; grow (×4 the used count, rounded
// up to a power of two ≥ 8) when fill*5 ≥ mask*3; iterate slots in order.
func pySetOrder(elems []int) []int {
	const linearProbes, perturbShift = 9, 5
	table := make([]int, 8)
	for i := range table {
		table[i] = -1
	}
	insert := func(table []int, key int) {
		mask := len(table) - 1
		i, perturb := key&mask, uint(key)
		for {
			probes := 0
			if i+linearProbes <= mask {
				probes = linearProbes
			}
			for j := 0; j <= probes; j++ {
				if table[i+j] == -1 {
					table[i+j] = key
					return
				}
				if table[i+j] == key {
					return
				}
			}
			perturb >>= perturbShift
			i = (i*5 + 1 + int(perturb)) & mask
		}
	}
	used := 0
	for _, e := range elems {
		insert(table, e)
		used++
		if mask := len(table) - 1; used*5 >= mask*3 {
			size := 8
			for size <= used*4 {
				size <<= 1
			}
			grown := make([]int, size)
			for i := range grown {
				grown[i] = -1
			}
			for _, k := range table {
				if k != -1 {
					insert(grown, k)
				}
			}
			table = grown
		}
	}
	out := make([]int, 0, len(elems))
	for _, k := range table {
		if k != -1 {
			out = append(out, k)
		}
	}
	return out
}
