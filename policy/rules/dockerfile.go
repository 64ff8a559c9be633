package rules

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// StageUser is the effective USER of the stage a build produces.
type StageUser struct {
	// Stage is the name of the built stage, or its index ("stage 2") when unnamed.
	Stage string
	// User is the USER in effect at the end of the stage, after ARG/ENV
	// expansion; empty when no USER instruction applies.
	User string
	// Set reports whether any USER instruction applies to the stage (its own,
	// or inherited from an earlier stage it is built FROM).
	Set bool
}

// EffectiveUser parses a Dockerfile with BuildKit's own parser and returns the
// USER in effect at the end of the built stage: target when non-empty,
// otherwise the last stage. It follows what BuildKit does: ARGs before the
// first FROM are global and may be used in FROM, build args override ARG
// defaults, ENV shadows ARG, a stage built FROM an earlier stage inherits that
// stage's USER and ENV, and the last USER of a stage wins.
func EffectiveUser(dockerfile []byte, buildArgs map[string]string, target string) (StageUser, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return StageUser{}, fmt.Errorf("parse Dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return StageUser{}, fmt.Errorf("parse Dockerfile instructions: %w", err)
	}
	if len(stages) == 0 {
		return StageUser{}, fmt.Errorf("dockerfile has no FROM instruction")
	}
	lex := shell.NewLex(res.EscapeToken)

	global := vars{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			global[kv.Key] = argValue(lex, kv, buildArgs, global, nil)
		}
	}

	type result struct {
		user string
		set  bool
		env  vars
	}
	results := make([]result, 0, len(stages))
	for i, st := range stages {
		base, _, err := lex.ProcessWord(st.BaseName, global)
		if err != nil {
			return StageUser{}, fmt.Errorf("expand FROM %q: %w", st.BaseName, err)
		}
		cur := result{env: vars{}}
		if j, ok := instructions.HasStage(stages[:i], base); ok {
			cur.user, cur.set = results[j].user, results[j].set
			cur.env = maps.Clone(results[j].env)
		}
		args := vars{}
		scope := layered{cur.env, args}
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					args[kv.Key] = argValue(lex, kv, buildArgs, scope, global)
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					v, _, err := lex.ProcessWord(kv.Value, scope)
					if err != nil {
						return StageUser{}, fmt.Errorf("expand ENV %s: %w", kv.Key, err)
					}
					cur.env[kv.Key] = v
				}
			case *instructions.UserCommand:
				u, _, err := lex.ProcessWord(c.User, scope)
				if err != nil {
					return StageUser{}, fmt.Errorf("expand USER %q: %w", c.User, err)
				}
				cur.user, cur.set = u, true
			}
		}
		results = append(results, cur)
	}

	idx := len(stages) - 1
	if target != "" {
		j, ok := instructions.HasStage(stages, target)
		if !ok {
			return StageUser{}, fmt.Errorf("build target %q is not a stage of the Dockerfile", target)
		}
		idx = j
	}
	name := stages[idx].Name
	if name == "" {
		name = fmt.Sprintf("stage %d", idx)
	}
	return StageUser{Stage: name, User: results[idx].user, Set: results[idx].set}, nil
}

// argValue is the value an ARG takes: the build arg when given, else its
// expanded default, else (inside a stage) the global ARG of the same name.
func argValue(lex *shell.Lex, kv instructions.KeyValuePairOptional, buildArgs map[string]string, scope shell.EnvGetter, global vars) string {
	if v, ok := buildArgs[kv.Key]; ok {
		return v
	}
	if kv.Value != nil {
		v, _, err := lex.ProcessWord(*kv.Value, scope)
		if err == nil {
			return v
		}
		return *kv.Value
	}
	if v, ok := global[kv.Key]; ok {
		return v
	}
	return ""
}

// IsRootUser reports whether a Dockerfile USER value runs as root: empty,
// "root", uid 0, with or without a group.
func IsRootUser(user string) bool {
	uid, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	return uid == "" || uid == "root" || strings.Trim(uid, "0") == "" && uid != ""
}

// vars is a shell.EnvGetter over a map.
type vars map[string]string

func (v vars) Get(k string) (string, bool) { s, ok := v[k]; return s, ok }
func (v vars) Keys() []string              { return slices.Sorted(maps.Keys(v)) }

// layered looks a name up in each map in turn (ENV before ARG).
type layered []vars

func (l layered) Get(k string) (string, bool) {
	for _, v := range l {
		if s, ok := v[k]; ok {
			return s, true
		}
	}
	return "", false
}

func (l layered) Keys() []string {
	seen := vars{}
	for _, v := range l {
		maps.Copy(seen, v)
	}
	return seen.Keys()
}
