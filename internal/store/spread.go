package store

import (
	"hash/fnv"
	"slices"
)

// ProvisionShare is the part of a provisioned target that node self runs
// when the target is spread over the live nodes (by name): each gets
// target/n, and the target%n remainders go to consecutive nodes starting
// at one chosen by a hash of function, so that the remainders of many
// functions do not all land on the first node. A node not among live
// (not announced yet, or taken for dead) runs none.
//
// Every node computes the same split from the same live set, so together
// they run the target; when the live set changes (store.Nodes.Changed)
// the others take over a dead node's share.
func ProvisionShare(target int, live []string, self, function string) int {
	n := len(live)
	i := slices.Index(live, self)
	if target <= 0 || i < 0 {
		return 0
	}
	share := target / n
	h := fnv.New32a()
	_, _ = h.Write([]byte(function))
	first := int(h.Sum32() % uint32(n))
	// Node i is the ((i-first) mod n)-th to get a remainder.
	if (i-first+n)%n < target%n {
		share++
	}
	return share
}
