package discovery

import (
	"cmp"
	"slices"
	"strings"
)

// dedupe concatenates the groups in priority order and folds every later
// duplicate (same normalised name and port) into its first occurrence, which
// keeps its place and origin and gains the other's flags (see merge).
func dedupe(groups ...[]Candidate) []Candidate {
	var out []Candidate
	index := map[string]int{}
	for _, g := range groups {
		for _, c := range g {
			k := c.Key()
			if i, ok := index[k]; ok {
				out[i].merge(c)
				continue
			}
			index[k] = len(out)
			out = append(out, c)
		}
	}
	return out
}

// capCandidates keeps the first max candidates; the rest are dropped, in
// order. Pinned candidates come first and Config.Validate keeps their
// number within max, so the cap never drops one.
func capCandidates(c []Candidate, max int) (kept, dropped []Candidate) {
	if len(c) <= max {
		return c, nil
	}
	return c[:max], c[max:]
}

// Catalog ranks: the order catalog servers are offered in.
const (
	rankSameCountry = iota
	rankSameContinent
	rankAnywhere // anycast, or location unknown
	rankElsewhere
)

// catalogItem is a catalog server with where it is, for ordering.
type catalogItem struct {
	Candidate
	country string // lower-case ISO code, "" for anycast or unknown
	anycast bool
}

func (it catalogItem) rank(r Region) int {
	switch {
	case it.anycast || it.country == "":
		return rankAnywhere
	case r.Country != "" && it.country == r.Country:
		return rankSameCountry
	case r.Continent != "" && countryContinent[strings.ToUpper(it.country)] == r.Continent:
		return rankSameContinent
	case r.Continent == "" && r.Country == "":
		return rankAnywhere // no region: nothing is "elsewhere"
	}
	return rankElsewhere
}

// orderCatalog returns the catalog servers in the order they are offered.
// With preferRegional, servers in the machine's country come first, then
// its continent, then anycast ones, then the rest; without it, catalog
// order. Within a rank, operators are interleaved (each operator's first
// server, then each one's second...) so a cap cuts second names before it
// cuts an operator. Without fallbackToGlobal, servers on another continent
// are left out (anycast ones stay: they answer from nearby).
func orderCatalog(items []catalogItem, r Region, preferRegional, fallbackToGlobal bool) []Candidate {
	type keyed struct {
		catalogItem
		rank, occurrence, index int
	}
	var ks []keyed
	seen := map[[2]any]int{}
	for i, it := range items {
		rank := it.rank(r)
		if rank == rankElsewhere && !fallbackToGlobal {
			continue
		}
		if !preferRegional {
			rank = 0
		}
		op := [2]any{rank, it.Operator}
		ks = append(ks, keyed{it, rank, seen[op], i})
		seen[op]++
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.occurrence, b.occurrence), cmp.Compare(a.index, b.index))
	})
	out := make([]Candidate, len(ks))
	for i, k := range ks {
		out[i] = k.Candidate
	}
	return out
}
