package fallback

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around each change,
// as in diff -u.
const diffContext = 3

// opKind is one step of an edit script.
type opKind byte

const (
	opEqual  opKind = ' '
	opDelete opKind = '-'
	opInsert opKind = '+'
)

type diffOp struct {
	kind opKind
	a, b int // index in the old (a) and new (b) line lists
}

// UnifiedDiff returns the differences between oldB and newB in unified
// format (diff -u), with the given names in the --- and +++ headers, or ""
// when they are equal. Lines are compared with their endings, so a CRLF
// change shows; a last line without a newline is followed by the usual
// "\ No newline at end of file" marker, so `patch` applies the result.
func UnifiedDiff(oldName, newName string, oldB, newB []byte) string {
	a, b := splitLines(oldB), splitLines(newB)
	ops := editScript(a, b)
	hunks := groupHunks(ops)
	if len(hunks) == 0 {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range hunks {
		writeHunk(&out, h, a, b)
	}
	return out.String()
}

// maxEditDistance bounds the Myers search; configuration files are far
// below it. Past it the script replaces everything, which is still a
// correct (if long) diff, so a pathological input cannot take quadratic
// memory.
const maxEditDistance = 2000

// editScript computes a shortest edit script from a to b with Myers'
// O((N+M)D) greedy algorithm ("An O(ND) Difference Algorithm and Its
// Variations", 1986), keeping each round's frontier (diagonals -d..d) to
// trace the path back.
func editScript(a, b []line) []diffOp {
	n, m := len(a), len(b)
	maxD := min(n+m, maxEditDistance)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int // trace[d][k+d] is the furthest x on diagonal k after round d
	found := false
	for d := 0; d <= maxD && !found; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = true
				break
			}
		}
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
	}
	if !found {
		return replaceAll(n, m)
	}
	at := func(d, k int) int { return trace[d][k+d] }
	// Walk back from (n, m) through the saved frontiers.
	var rev []diffOp
	x, y := n, m
	for d := len(trace) - 1; d >= 0 && (x > 0 || y > 0); d-- {
		k := x - y
		prevK, prevX := k, 0
		if d > 0 {
			if k == -d || (k != d && at(d-1, k-1) < at(d-1, k+1)) {
				prevK = k + 1
			} else {
				prevK = k - 1
			}
			prevX = at(d-1, prevK)
		}
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			rev = append(rev, diffOp{kind: opEqual, a: x, b: y})
		}
		if d > 0 {
			if x == prevX {
				rev = append(rev, diffOp{kind: opInsert, a: x, b: prevY})
			} else {
				rev = append(rev, diffOp{kind: opDelete, a: prevX, b: y})
			}
		}
		x, y = prevX, prevY
	}
	ops := make([]diffOp, len(rev))
	for i := range rev {
		ops[i] = rev[len(rev)-1-i]
	}
	return ops
}

// replaceAll is the script deleting all of a and inserting all of b.
func replaceAll(n, m int) []diffOp {
	ops := make([]diffOp, 0, n+m)
	for i := range n {
		ops = append(ops, diffOp{kind: opDelete, a: i, b: 0})
	}
	for j := range m {
		ops = append(ops, diffOp{kind: opInsert, a: n, b: j})
	}
	return ops
}

// groupHunks splits the edit script into hunks of changes with up to
// diffContext equal lines around them; changes closer than twice that are
// merged into one hunk, as diff -u does.
func groupHunks(ops []diffOp) [][]diffOp {
	var hunks [][]diffOp
	i := 0
	for i < len(ops) {
		for i < len(ops) && ops[i].kind == opEqual {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(0, i-diffContext)
		end := i
		for end < len(ops) {
			if ops[end].kind != opEqual {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == opEqual {
				run++
			}
			if run == len(ops) || run-end > 2*diffContext {
				end = min(end+diffContext, run)
				break
			}
			end = run
		}
		hunks = append(hunks, ops[start:end])
		i = end
	}
	return hunks
}

func writeHunk(out *strings.Builder, h []diffOp, a, b []line) {
	aStart, bStart := -1, -1
	aLen, bLen := 0, 0
	for _, op := range h {
		if op.kind != opInsert {
			if aStart < 0 {
				aStart = op.a
			}
			aLen++
		}
		if op.kind != opDelete {
			if bStart < 0 {
				bStart = op.b
			}
			bLen++
		}
	}
	// An empty side is reported at the line before it (0 at the top).
	if aStart < 0 {
		aStart = h[0].a - 1
	}
	if bStart < 0 {
		bStart = h[0].b - 1
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
	for _, op := range h {
		var l line
		if op.kind == opInsert {
			l = b[op.b]
		} else {
			l = a[op.a]
		}
		out.WriteByte(byte(op.kind))
		out.WriteString(l.text)
		if strings.HasSuffix(l.eol, "\r\n") {
			out.WriteString("\r")
		}
		out.WriteString("\n")
		if l.eol == "" {
			out.WriteString("\\ No newline at end of file\n")
		}
	}
}

// hunkRange formats a hunk side as diff -u does: "start,len" with 1-based
// start, "start" alone for a length of one.
func hunkRange(start0, n int) string {
	if n == 1 {
		return fmt.Sprintf("%d", start0+1)
	}
	if n == 0 {
		return fmt.Sprintf("%d,0", start0+1)
	}
	return fmt.Sprintf("%d,%d", start0+1, n)
}
