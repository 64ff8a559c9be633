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
	stages, metaArgs, lex, err := parseStages(dockerfile)
	if err != nil {
		return StageUser{}, err
	}
	x := expander{lex: lex, buildArgs: buildArgs}
	x.global = x.globalArgs(metaArgs)
	states, err := x.stageStates(stages)
	if err != nil {
		return StageUser{}, err
	}
	idx, name, err := builtStage(stages, target)
	if err != nil {
		return StageUser{}, err
	}
	return StageUser{Stage: name, User: states[idx].user, Set: states[idx].set}, nil
}

// parseStages parses a Dockerfile into its stages, its global ARGs (those
// before the first FROM) and a lexer using its escape character.
func parseStages(dockerfile []byte) ([]instructions.Stage, []instructions.ArgCommand, *shell.Lex, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse Dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse Dockerfile instructions: %w", err)
	}
	if len(stages) == 0 {
		return nil, nil, nil, fmt.Errorf("dockerfile has no FROM instruction")
	}
	return stages, metaArgs, shell.NewLex(res.EscapeToken), nil
}

// builtStage is the index and name of the stage a build produces: target
// when non-empty, otherwise the last stage; an unnamed stage is "stage N".
func builtStage(stages []instructions.Stage, target string) (int, string, error) {
	idx := len(stages) - 1
	if target != "" {
		j, ok := instructions.HasStage(stages, target)
		if !ok {
			return 0, "", fmt.Errorf("build target %q is not a stage of the Dockerfile", target)
		}
		idx = j
	}
	name := stages[idx].Name
	if name == "" {
		name = fmt.Sprintf("stage %d", idx)
	}
	return idx, name, nil
}

// stageState is the USER and ENV in effect at the end of a stage.
type stageState struct {
	user string
	set  bool
	env  vars
}

// expander expands a Dockerfile's words as BuildKit does, with the build
// args given to the build and the global ARGs.
type expander struct {
	lex       *shell.Lex
	buildArgs map[string]string
	global    vars
}

// globalArgs are the ARGs before the first FROM, which FROM may use.
func (x expander) globalArgs(metaArgs []instructions.ArgCommand) vars {
	global := vars{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			global[kv.Key] = argValue(x.lex, kv, x.buildArgs, global, nil)
		}
	}
	return global
}

// stageStates runs every stage in order, each starting from the stage it is
// built FROM when that is an earlier stage.
func (x expander) stageStates(stages []instructions.Stage) ([]stageState, error) {
	states := make([]stageState, 0, len(stages))
	for i, st := range stages {
		cur, err := x.inherited(st, stages[:i], states)
		if err != nil {
			return nil, err
		}
		cur, err = x.run(cur, st.Commands)
		if err != nil {
			return nil, err
		}
		states = append(states, cur)
	}
	return states, nil
}

// inherited is the state a stage starts from: the USER and a copy of the
// ENV of the earlier stage it is built FROM, else nothing.
func (x expander) inherited(st instructions.Stage, earlier []instructions.Stage, states []stageState) (stageState, error) {
	base, _, err := x.lex.ProcessWord(st.BaseName, x.global)
	if err != nil {
		return stageState{}, fmt.Errorf("expand FROM %q: %w", st.BaseName, err)
	}
	cur := stageState{env: vars{}}
	if j, ok := instructions.HasStage(earlier, base); ok {
		cur.user, cur.set = states[j].user, states[j].set
		cur.env = maps.Clone(states[j].env)
	}
	return cur, nil
}

// run applies a stage's ARG, ENV and USER instructions in order; ENV
// shadows ARG and the last USER wins.
func (x expander) run(cur stageState, commands []instructions.Command) (stageState, error) {
	args := vars{}
	scope := layered{cur.env, args}
	for _, cmd := range commands {
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				args[kv.Key] = argValue(x.lex, kv, x.buildArgs, scope, x.global)
			}
		case *instructions.EnvCommand:
			if err := x.setEnv(cur.env, c, scope); err != nil {
				return cur, err
			}
		case *instructions.UserCommand:
			u, _, err := x.lex.ProcessWord(c.User, scope)
			if err != nil {
				return cur, fmt.Errorf("expand USER %q: %w", c.User, err)
			}
			cur.user, cur.set = u, true
		}
	}
	return cur, nil
}

// setEnv expands an ENV instruction's values into env, one at a time, so a
// later value may use an earlier one.
func (x expander) setEnv(env vars, c *instructions.EnvCommand, scope shell.EnvGetter) error {
	for _, kv := range c.Env {
		v, _, err := x.lex.ProcessWord(kv.Value, scope)
		if err != nil {
			return fmt.Errorf("expand ENV %s: %w", kv.Key, err)
		}
		env[kv.Key] = v
	}
	return nil
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
