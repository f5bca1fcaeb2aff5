package fallback

import (
	"fmt"
	"os"
	"path/filepath"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP limit does.
const maxSymlinks = 40

// hostPath maps a path as the daemon sees it (/etc/ntp.conf) to the path
// on this machine: under root when a root directory is set (tests, or an
// image mounted elsewhere), unchanged otherwise.
func hostPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}

// resolveInRoot follows symlinks at the end of p inside root, so an edit
// replaces the file a symlink points to instead of the symlink itself.
// Absolute link targets are taken relative to root.
func resolveInRoot(root, p string) (string, error) {
	p = filepath.Clean(p)
	for range maxSymlinks {
		fi, err := os.Lstat(hostPath(root, p))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return p, nil // a missing file is reported by whoever reads it
		}
		target, err := os.Readlink(hostPath(root, p))
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = filepath.Clean(target)
	}
	return "", fmt.Errorf("resolve %s: too many levels of symbolic links", p)
}
