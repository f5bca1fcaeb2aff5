package chronyctl

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The words chronyd produces for these values (cmdmon fact sheet §5.1,
// confirmed against chronyd's UTI_FloatHostToNetwork and seen in a chronyc
// request captured with strace).
func TestEncodeFloatReference(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want uint32
	}{
		{"zero", 0, 0x00000000},
		{"one", 1.0, 0x04800000},
		{"three", 3.0, 0x06C00000},
		{"ten", 10.0, 0x0AA00000},
		{"quarter", 0.25, 0x00800000},
		{"two and a half", 2.5, 0x06A00000},
		{"four", 4.0, 0x08800000},
		{"point three", 0.3, 0x0099999A},
		{"1e-4", 1e-4, 0xE8D1B717},
		{"-5e-4", -5e-4, 0xEF7CED91},
		{"1e-9", 1e-9, 0xC889705F},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equalf(t, tc.want, encodeFloat(tc.in), "got %08X", encodeFloat(tc.in))
		})
	}
}

func TestEncodeFloatEdges(t *testing.T) {
	const maxWord = 0x7EFFFFFF // e=63, c=2^24-1
	tests := []struct {
		name string
		in   float64
		want uint32
	}{
		{"NaN is zero", math.NaN(), 0},
		{"negative zero", math.Copysign(0, -1), 0},
		{"below 1e-100 is zero", 9e-101, 0},
		{"negative below 1e-100 is zero", -9e-101, 0},
		{"above 1e100 saturates", 2e100, maxWord},
		{"+Inf saturates", math.Inf(1), maxWord},
		{"-Inf saturates to -2^24", math.Inf(-1), 0x7F000000},
		{"beyond the exponent saturates", 1e30, maxWord},
		{"underflow is zero", 1e-40, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equalf(t, tc.want, encodeFloat(tc.in), "got %08X", encodeFloat(tc.in))
		})
	}
}

// readVectors loads "HEX HEX" lines from a testdata file.
func readVectors(t *testing.T, name string) [][2]uint64 {
	f, err := os.Open("../testdata/chrony/" + name)
	require.NoError(t, err)
	defer f.Close()
	var out [][2]uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		p := strings.Fields(sc.Text())
		require.Len(t, p, 2)
		a, err := strconv.ParseUint(p[0], 16, 64)
		require.NoError(t, err)
		b, err := strconv.ParseUint(p[1], 16, 64)
		require.NoError(t, err)
		out = append(out, [2]uint64{a, b})
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

// TestFloatVectors compares with chronyd's own C conversion on thousands
// of values (see testdata/chrony/README.md): powers of two and their
// neighbours, rounding ties, the range limits, random values and NaN/Inf.
func TestFloatVectors(t *testing.T) {
	for _, v := range readVectors(t, "float-encode.txt") {
		x := math.Float64frombits(v[0])
		if got := encodeFloat(x); got != uint32(v[1]) {
			t.Fatalf("encode %v (%016x): got %08x, chronyd %08x", x, v[0], got, v[1])
		}
	}
	for _, v := range readVectors(t, "float-decode.txt") {
		if got := math.Float64bits(decodeFloat(uint32(v[0]))); got != v[1] {
			t.Fatalf("decode %08x: got %016x, chronyd %016x", v[0], got, v[1])
		}
	}
}

// checkRoundTrip asserts the encoding keeps about 24 significant bits
// wherever the value is representable.
func checkRoundTrip(t *testing.T, x float64) {
	w := encodeFloat(x)
	got := decodeFloat(w)
	// A decoded value encodes to itself (the word may differ: -2^24·2^e
	// and -2^23·2^(e+1) are the same value).
	require.Equal(t, got, decodeFloat(encodeFloat(got)), "re-encoding %v (%08x) must keep the value", x, w)
	m := math.Abs(x)
	if math.IsNaN(x) || m < 1e-18 || m > 4e18 {
		return // zero, saturation and underflow ranges
	}
	require.InEpsilonf(t, x, got, 0x1p-23, "round trip of %v via %08x", x, w)
}

func TestFloatRoundTrip(t *testing.T) {
	for _, x := range []float64{1, -1, 1e-6, -3.5e-3, 0.999999, 1e9, -4.5e17, 123456.789, 1.0000001, 0x1p-40} {
		checkRoundTrip(t, x)
	}
}

func FuzzFloatRoundTrip(f *testing.F) {
	for _, v := range readVectorsF(f) {
		f.Add(math.Float64frombits(v))
	}
	f.Fuzz(func(t *testing.T, x float64) { checkRoundTrip(t, x) })
}

func FuzzDecodeFloat(f *testing.F) {
	for _, w := range []uint32{0, 0x04800000, 0x7EFFFFFF, 0x7F000000, 0x80000000, 0xFFFFFFFF, 0xE8D1B717} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, w uint32) {
		x := decodeFloat(w)
		require.False(t, math.IsNaN(x) || math.IsInf(x, 0))
		// Every word is exact in float64; encoding gives it back unless it
		// is a non-canonical form (a coefficient that could be shifted).
		w2 := encodeFloat(x)
		require.Equal(t, x, decodeFloat(w2), "%08x -> %v -> %08x", w, x, w2)
	})
}

func readVectorsF(f *testing.F) []uint64 {
	file, err := os.Open("../testdata/chrony/float-encode.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var out []uint64
	sc := bufio.NewScanner(file)
	for sc.Scan() && len(out) < 200 {
		if p := strings.Fields(sc.Text()); len(p) == 2 && !strings.HasPrefix(p[0], "#") {
			v, _ := strconv.ParseUint(p[0], 16, 64)
			out = append(out, v)
		}
	}
	return out
}

// decodeFloat (the tests' inverse of encodeFloat; replies are decoded by
// the facebook library) returns the value of a chrony float word (exact: every word
// is representable as a float64).
func decodeFloat(u uint32) float64 {
	exp := int(u >> floatCoefBits)
	if exp >= 1<<(floatExpBits-1) {
		exp -= 1 << floatExpBits
	}
	coef := int64(u & (1<<floatCoefBits - 1))
	if coef >= 1<<(floatCoefBits-1) {
		coef -= 1 << floatCoefBits
	}
	return math.Ldexp(float64(coef), exp-floatCoefBits)
}
