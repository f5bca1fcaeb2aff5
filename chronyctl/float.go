package chronyctl

import "math"

// chrony's 32-bit float (candm.h Float; util.c UTI_FloatHostToNetwork and
// UTI_FloatNetworkToHost): a 7-bit two's-complement exponent e above a
// 25-bit two's-complement coefficient c, no hidden bit, value c·2^(e−25).
const (
	floatExpBits  = 7
	floatCoefBits = 32 - floatExpBits
	floatExpMin   = -(1 << (floatExpBits - 1)) // −64
	floatExpMax   = -floatExpMin - 1           // 63
	floatCoefMax  = 1<<(floatCoefBits-1) - 1   // 2^24 − 1
)

// encodeFloat returns the wire word chronyd would produce for x, bit for
// bit: NaN is sent as 0, magnitudes below 1e-100 as 0, magnitudes above
// 1e100 (or beyond the exponent range) saturate, and the exponent is
// computed from the natural logarithm exactly as util.c does, so values
// next to a power of two round the same way.
func encodeFloat(x float64) uint32 {
	neg := int64(0)
	switch {
	case x < 0:
		x, neg = -x, 1
	case x >= 0:
	default: // NaN
		x = 0
	}
	var exp, coef int64
	switch {
	case x < 1e-100:
		exp, coef = 0, 0
	case x > 1e100:
		exp, coef = floatExpMax, floatCoefMax+neg
	default:
		// C: exp = log(x) / log(2) + 1; the int conversion truncates.
		exp = int64(math.Log(x)/math.Log(2) + 1)
		// C: coef = x * pow(2.0, -exp + 25) + 0.5, truncated (positive).
		coef = int64(x*math.Ldexp(1, int(floatCoefBits-exp)) + 0.5)
		for coef > floatCoefMax+neg { // at most twice
			coef >>= 1
			exp++
		}
		if exp > floatExpMax {
			exp, coef = floatExpMax, floatCoefMax+neg
		} else if exp < floatExpMin {
			if exp+floatCoefBits >= floatExpMin {
				coef >>= uint(floatExpMin - exp)
				exp = floatExpMin
			} else {
				exp, coef = 0, 0
			}
		}
	}
	if neg == 1 {
		coef = -coef
	}
	const coefMask = 1<<floatCoefBits - 1
	return uint32(exp)<<floatCoefBits | uint32(coef)&coefMask
}
