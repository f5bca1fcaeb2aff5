package fallback

import (
	"fmt"
	"strings"
)

// sscanHunk parses "@@ -a[,b] +c[,d] @@".
func sscanHunk(h string, as, al, bs, bl *int) (int, error) {
	f := strings.Fields(h)
	if len(f) < 3 {
		return 0, fmt.Errorf("short header")
	}
	parse := func(s string, start, n *int) error {
		*n = 1
		if i := strings.IndexByte(s, ','); i >= 0 {
			if _, err := fmt.Sscanf(s[i+1:], "%d", n); err != nil {
				return err
			}
			s = s[:i]
		}
		_, err := fmt.Sscanf(s, "%d", start)
		return err
	}
	if err := parse(f[1][1:], as, al); err != nil {
		return 0, err
	}
	return 2, parse(f[2][1:], bs, bl)
}
