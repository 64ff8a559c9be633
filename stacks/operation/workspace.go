package operation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// Policy is what every update and preview of an operation enforces.
type Policy struct {
	// Packs are policy pack directories (or built pack binaries beside
	// their PulumiPolicy.yaml): --policy-pack.
	Packs []string
	// Configs are policy pack config files, one per pack, in the same
	// order: --policy-pack-config. Optional.
	Configs []string
}

// upOptions are the options of every update under p.
func (p Policy) upOptions() []optup.Option {
	opts := []optup.Option{optup.SuppressProgress()}
	if len(p.Packs) > 0 {
		opts = append(opts, optup.PolicyPacks(p.Packs...))
	}
	if len(p.Configs) > 0 {
		opts = append(opts, optup.PolicyPackConfigs(p.Configs...))
	}
	return opts
}

// ErrLocked marks errors that mean another update holds the stack.
var ErrLocked = errors.New("another update holds the stack")

// Workspace is the engines' Pulumi over an Automation API workspace: the
// project directory for the CLI (auto.NewLocalWorkspace with auto.WorkDir),
// an inline program for tests. Each engine declares the slice of it it
// needs as its own Stacks interface. Every stack it names must already
// exist: an operation never creates one.
type Workspace struct {
	WS auto.Workspace
}

func (w Workspace) stack(ctx context.Context, name string) (auto.Stack, error) {
	s, err := auto.SelectStack(ctx, name, w.WS)
	if err != nil {
		return auto.Stack{}, fmt.Errorf("select stack %q: %w", name, err)
	}
	return s, nil
}

// Outputs implements the engines' Stacks.
func (w Workspace) Outputs(ctx context.Context, name string) (map[string]any, error) {
	s, err := w.stack(ctx, name)
	if err != nil {
		return nil, err
	}
	out, err := s.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("outputs of stack %q: %w", name, err)
	}
	return plain(out), nil
}

// Config implements the engines' Stacks.
func (w Workspace) Config(ctx context.Context, name string) (map[string]string, error) {
	cfg, err := w.WS.GetAllConfig(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("config of stack %q: %w", name, err)
	}
	raw := make(map[string]string, len(cfg))
	for k, v := range cfg {
		raw[k] = v.Value
	}
	return raw, nil
}

// SetConfigPath implements the engines' Stacks.
func (w Workspace) SetConfigPath(ctx context.Context, name, path, value string) error {
	err := w.WS.SetConfigWithOptions(ctx, name, path, auto.ConfigValue{Value: value}, &auto.ConfigOptions{Path: true})
	if err != nil {
		return fmt.Errorf("stack %q: set %s: %w", name, path, err)
	}
	return nil
}

// RemoveConfigPath removes one path config value such as
// "helloagents:database.primaryRegion" (pulumi config rm --path).
func (w Workspace) RemoveConfigPath(ctx context.Context, name, path string) error {
	if err := w.WS.RemoveConfigWithOptions(ctx, name, path, &auto.ConfigOptions{Path: true}); err != nil {
		return fmt.Errorf("stack %q: remove %s: %w", name, path, err)
	}
	return nil
}

// Up implements the engines' Stacks. A lock held by another update comes
// back wrapped in ErrLocked.
func (w Workspace) Up(ctx context.Context, name string, p Policy) (map[string]any, error) {
	s, err := w.stack(ctx, name)
	if err != nil {
		return nil, err
	}
	res, err := s.Up(ctx, p.upOptions()...)
	if err != nil {
		if auto.IsConcurrentUpdateError(err) {
			return nil, fmt.Errorf("up %q: %w: %w", name, ErrLocked, err)
		}
		return nil, fmt.Errorf("up %q: %w", name, err)
	}
	return plain(res.Outputs), nil
}

// UpContinueOnError deploys what it can (pulumi up --continue-on-error)
// and returns the error of what it could not: with a lost region, its
// resources fail and everything else still changes.
func (w Workspace) UpContinueOnError(ctx context.Context, name string, p Policy) error {
	s, err := w.stack(ctx, name)
	if err != nil {
		return err
	}
	opts := append(p.upOptions(), optup.ContinueOnError())
	if _, err := s.Up(ctx, opts...); err != nil {
		return fmt.Errorf("up %q (continue on error): %w", name, err)
	}
	return nil
}

// Preview implements the engines' Stacks.
func (w Workspace) Preview(ctx context.Context, name string, p Policy) (string, error) {
	s, err := w.stack(ctx, name)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	opts := []optpreview.Option{optpreview.Diff(), optpreview.ProgressStreams(&buf), optpreview.Color("never")}
	if len(p.Packs) > 0 {
		opts = append(opts, optpreview.PolicyPacks(p.Packs...))
	}
	if len(p.Configs) > 0 {
		opts = append(opts, optpreview.PolicyPackConfigs(p.Configs...))
	}
	if _, err := s.Preview(ctx, opts...); err != nil {
		if auto.IsConcurrentUpdateError(err) {
			return "", fmt.Errorf("preview %q: %w: %w", name, ErrLocked, err)
		}
		return "", fmt.Errorf("preview %q: %w", name, err)
	}
	return buf.String(), nil
}

// Update is one entry of a stack's update history: what History returns,
// newest first.
type Update struct {
	// Kind is "update", "refresh", "destroy", ...; only updates deploy a
	// config.
	Kind string
	// Result is "succeeded", "failed" or "in-progress".
	Result string
	// Config is the config the update ran with, by full key, objects as
	// JSON text (secrets are not needed and may be masked).
	Config map[string]string
}

// History implements the engines' Stacks. Secrets stay masked: only the regions'
// image digests are read.
func (w Workspace) History(ctx context.Context, name string) ([]Update, error) {
	s, err := w.stack(ctx, name)
	if err != nil {
		return nil, err
	}
	h, err := s.History(ctx, 0, 0, opthistory.ShowSecrets(false))
	if err != nil {
		return nil, fmt.Errorf("history of stack %q: %w", name, err)
	}
	out := make([]Update, 0, len(h))
	for _, u := range h {
		cfg := make(map[string]string, len(u.Config))
		for k, v := range u.Config {
			cfg[k] = v.Value
		}
		out = append(out, Update{Kind: u.Kind, Result: u.Result, Config: cfg})
	}
	return out, nil
}

// Busy implements the engines' Stacks. The Pulumi Cloud backend reports an update in
// progress in the stack list; the file ("diy") backends keep a lock file
// per running update under .pulumi/locks, which is what `pulumi cancel`
// deletes, so for file:// backends Busy looks for those files.
func (w Workspace) Busy(ctx context.Context, name string) error {
	list, err := w.WS.ListStacks(ctx)
	if err != nil {
		return fmt.Errorf("list stacks: %w", err)
	}
	found := false
	for _, s := range list {
		if s.Name != name && !strings.HasSuffix(s.Name, "/"+name) {
			continue
		}
		found = true
		if s.UpdateInProgress {
			return fmt.Errorf("stack %q: %w (an update is in progress; wait for it or run `pulumi cancel`)", name, ErrLocked)
		}
	}
	if !found {
		return fmt.Errorf("stack %q does not exist in this backend", name)
	}
	who, err := w.WS.WhoAmIDetails(ctx)
	if err != nil {
		return fmt.Errorf("backend of stack %q: %w", name, err)
	}
	locks, err := fileLocks(who.URL, w.project(ctx), name)
	if err != nil {
		return err
	}
	if len(locks) > 0 {
		return fmt.Errorf("stack %q: %w: lock file %s (wait for that update to end or run `pulumi cancel`)", name, ErrLocked, locks[0])
	}
	return nil
}

func (w Workspace) project(ctx context.Context) string {
	p, err := w.WS.ProjectSettings(ctx)
	if err != nil || p == nil {
		return "*"
	}
	return string(p.Name)
}

// fileLocks lists the lock files of a stack in a file:// backend (both the
// project-scoped layout .pulumi/locks/<org>/<project>/<stack> and the legacy
// .pulumi/locks/<stack>); other backends have none.
func fileLocks(backendURL, project, stack string) ([]string, error) {
	u, err := url.Parse(backendURL)
	if err != nil || u.Scheme != "file" {
		return nil, nil
	}
	root := u.Path
	switch u.Host {
	case "", "localhost":
	case "~":
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", backendURL, err)
		}
		root = filepath.Join(home, u.Path)
	default:
		root = filepath.Join(u.Host, u.Path)
	}
	var all []string
	for _, pattern := range []string{
		filepath.Join(root, ".pulumi", "locks", "*", project, stack, "*.json"),
		filepath.Join(root, ".pulumi", "locks", stack, "*.json"),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("look for lock files %s: %w", pattern, err)
		}
		all = append(all, m...)
	}
	return all, nil
}

// plain drops the secret markers of an output map; the engines read only
// URLs and image references, never secrets.
func plain(out auto.OutputMap) map[string]any {
	m := make(map[string]any, len(out))
	for k, v := range out {
		if v.Secret {
			continue
		}
		m[k] = v.Value
	}
	return m
}

// Stacks is the slice of Pulumi every operation needs; each engine adds
// what it alone uses. Workspace implements it over the Automation API.
type Stacks interface {
	// Outputs returns the stack's outputs as last deployed.
	Outputs(ctx context.Context, stack string) (map[string]any, error)
	// Config returns every config value of the stack by full key
	// ("helloagents:regions"), objects as JSON text, secrets in plain text.
	Config(ctx context.Context, stack string) (map[string]string, error)
	// SetConfigPath sets one path config value such as
	// "helloagents:regions[1].image" (pulumi config set --path).
	SetConfigPath(ctx context.Context, stack, path, value string) error
	// Up deploys the stack under the policy and returns its outputs; a
	// lock held by another update is wrapped in ErrLocked.
	Up(ctx context.Context, stack string, p Policy) (map[string]any, error)
	// Preview returns the diff an Up would deploy, as the CLI prints it.
	Preview(ctx context.Context, stack string, p Policy) (string, error)
	// Busy returns an error naming the holder when another update holds the
	// stack, nil when the stack is free.
	Busy(ctx context.Context, stack string) error
}

var _ Stacks = Workspace{}
