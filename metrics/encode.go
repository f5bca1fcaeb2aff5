package metrics

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Write encodes r in Prometheus' text exposition format (version 0.0.4):
// families sorted by name, series by their labels, label names in lexical
// order, label values escaped, empty label values left out (Prometheus
// treats them as absent), NaN values left out. A label value that is not
// UTF-8, or a server listed twice, is an error (Prometheus would reject
// the file).
func Write(w io.Writer, r Run) error {
	var b strings.Builder
	for _, fam := range families(r) {
		if len(fam.samples) == 0 {
			continue
		}
		rendered := make([]string, len(fam.samples))
		for i, s := range fam.samples {
			ls, err := renderLabels(s.labels)
			if err != nil {
				return fmt.Errorf("metrics: %s: %w", fam.name, err)
			}
			rendered[i] = ls
		}
		order := make([]int, len(rendered))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(x, y int) int { return strings.Compare(rendered[x], rendered[y]) })
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", fam.name, helpEscaper.Replace(fam.help), fam.name, fam.typ)
		for k, i := range order {
			if k > 0 && rendered[i] == rendered[order[k-1]] {
				return fmt.Errorf("metrics: %s: series %s listed twice (a server and address twice)", fam.name, rendered[i])
			}
			b.WriteString(fam.name + rendered[i] + " " + formatValue(fam.samples[i].value) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// renderLabels writes {name="value",...} in lexical order of the names, as
// Prometheus' own encoder does, leaving empty values out; "" for none.
func renderLabels(ls []label) (string, error) {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	for _, l := range ls {
		if l.value == "" {
			continue
		}
		if !utf8.ValidString(l.value) {
			return "", fmt.Errorf("label %s value %q is not UTF-8", l.name, l.value)
		}
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, l.name, labelEscaper.Replace(l.value))
	}
	if b.Len() > 0 {
		b.WriteByte('}')
	}
	return b.String(), nil
}

// Escaping as the text format specifies: backslash and newline in HELP,
// and also the double quote in label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// formatValue writes a sample value as the text format does.
func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
