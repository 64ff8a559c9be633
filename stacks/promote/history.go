package promote

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/config"
	"github.com/helloagents/infra/stacks/operation"
)

// previousImages returns, for each selected region, the digest it ran
// before its current one, read from the target's update history.
//
// The history is replayed oldest first as an undo stack per region: a
// succeeded update that deploys a new digest pushes it; one that returns
// to the digest below the top pops (that is a rollback, automatic or by
// hand, and the digest it undid never becomes a rollback target, even
// when its update succeeded and only its gate failed). The previous digest
// is the one below the top; rolling back twice steps back twice.
func previousImages(stack string, history []operation.Update, sel []region) (map[string]string, error) {
	undo := map[string][]string{}
	for _, u := range slices.Backward(history) {
		if u.Kind != "update" || u.Result != "succeeded" {
			continue
		}
		for name, image := range historyImages(u.Config) {
			undo[name] = step(undo[name], image)
		}
	}
	prev := make(map[string]string, len(sel))
	var errs []string
	for _, r := range sel {
		s := undo[r.Name]
		switch {
		case len(s) == 0 || s[len(s)-1] != r.Image:
			errs = append(errs, fmt.Sprintf("region %s: %s holds %s, which no succeeded update of %q deployed; "+
				"run `pulumi up --stack %s` or finish the promotion first", r.Name, r.imageKey(), r.Image, stack, stack))
		case len(s) < 2:
			errs = append(errs, fmt.Sprintf("region %s: no previous digest: it has run only %s since its first release in the stack's history", r.Name, r.Image))
		case config.IsPlaceholder(s[len(s)-2]):
			errs = append(errs, fmt.Sprintf("region %s: the digest before %s is the committed placeholder %s: that was the first release, there is nothing to roll back to", r.Name, r.Image, s[len(s)-2]))
		default:
			prev[r.Name] = s[len(s)-2]
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("--rollback: nothing changed:\n  %s", strings.Join(errs, "\n  "))
	}
	return prev, nil
}

// step applies one deployed digest to a region's undo stack.
func step(s []string, image string) []string {
	switch n := len(s); {
	case image == "":
		return s
	case n > 0 && s[n-1] == image:
		return s
	case n > 1 && s[n-2] == image:
		return s[:n-1]
	}
	return append(s, image)
}

// historyImages extracts region name -> image from one update's config.
// It decodes only those two fields: an old update may carry a config the
// current schema would reject, and its digests still count.
func historyImages(cfg map[string]string) map[string]string {
	var regions []struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	if err := json.Unmarshal([]byte(cfg[contract.KeyRegions]), &regions); err != nil {
		return nil
	}
	m := make(map[string]string, len(regions))
	for _, r := range regions {
		m[r.Name] = r.Image
	}
	return m
}

// readPrevious reads the target's history and returns each selected
// region's previous digest; ok is false when the run ended.
func (e *engine) readPrevious(ctx context.Context, sel []region) (map[string]string, bool) {
	h, err := e.st.History(ctx, e.o.To)
	if err != nil {
		e.end(Refused, fmt.Errorf("--rollback: %w; nothing changed", err))
		return nil, false
	}
	prev, err := previousImages(e.o.To, h, sel)
	if err != nil {
		e.end(Refused, err)
		return nil, false
	}
	for name, img := range prev {
		if err := pinned(img); err != nil {
			e.end(Refused, fmt.Errorf("--rollback: region %s: previous digest from the history: %w; nothing changed", name, err))
			return nil, false
		}
	}
	return prev, true
}
