package promote

import (
	"fmt"

	"github.com/distribution/reference"
)

// pinned checks that ref names an image by its content digest
// (repo@sha256:<64 hex>, optionally with a tag before the digest). A tag
// alone can be moved to other bytes after staging verified it; only a
// digest guarantees production runs exactly what passed.
func pinned(ref string) error {
	if ref == "" {
		return fmt.Errorf("image reference is empty; the source stack must export backendImage as repo@sha256:<digest>")
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("image %q is not a valid image reference: %w", ref, err)
	}
	if _, ok := named.(reference.Canonical); !ok {
		return fmt.Errorf("image %q is not pinned by digest; allowed: repo@sha256:<64 hex>", ref)
	}
	return nil
}
