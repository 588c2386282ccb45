package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ruleECSTask is RA-10: the API's and database's ECS task definitions and tasks.
func ruleECSTask() *Rule {
	return &Rule{
		ID: "RA-10", Name: "ECS task definition or exec touching the API or database tasks",
		Rationale: "A new task definition revision that reads a different secret, passes a different " +
			"DB_SECRET_ID in its environment, runs another command, runs under a different task role or " +
			"runs a different image moves the credentials to code or a role nobody reviewed; RunTask or " +
			"StartTask overrides do the same without a revision, and ECS Exec gives a shell inside a task that " +
			"holds the password in memory. The first revision seen is trusted only from the deployment and " +
			"the configured registries; image changes by the deployment are releases and stay quiet.",
		calls: on(srcECS, "RegisterTaskDefinition", "ExecuteCommand", "RunTask", "StartTask"),
		eval:  evalECSTask,
	}
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type containerDef struct {
	Name        string     `json:"name"`
	Image       string     `json:"image"`
	Command     []string   `json:"command"`
	EntryPoint  []string   `json:"entryPoint"`
	Environment []keyValue `json:"environment"`
	Secrets     []struct {
		Name      string `json:"name"`
		ValueFrom string `json:"valueFrom"`
	} `json:"secrets"`
}

type taskDefParams struct {
	Family               string         `json:"family"`
	TaskRoleArn          string         `json:"taskRoleArn"`
	ContainerDefinitions []containerDef `json:"containerDefinitions"`
	Cluster              string         `json:"cluster"`
	Task                 string         `json:"task"`
	Container            string         `json:"container"`
	TaskDefinition       string         `json:"taskDefinition"`
	Overrides            *struct {
		TaskRoleArn        string `json:"taskRoleArn"`
		ContainerOverrides []struct {
			Name             string            `json:"name"`
			Command          []string          `json:"command"`
			Environment      []keyValue        `json:"environment"`
			EnvironmentFiles []json.RawMessage `json:"environmentFiles"`
		} `json:"containerOverrides"`
	} `json:"overrides"`
}

// taskShape is what RA-10 compares between revisions: what decides which credentials a
// task gets, under which role, and what code runs with them.
type taskShape struct {
	Role        string   `json:"role"`
	Images      []string `json:"images"`
	Secrets     []string `json:"secrets"`
	Environment []string `json:"environment,omitempty"`
	Commands    []string `json:"commands,omitempty"`
}

func shapeOf(p *taskDefParams) taskShape {
	s := taskShape{Role: p.TaskRoleArn}
	for _, c := range p.ContainerDefinitions {
		s.Images = append(s.Images, c.Name+"="+c.Image)
		for _, x := range c.Secrets {
			s.Secrets = append(s.Secrets, c.Name+"."+x.Name+"="+x.ValueFrom)
		}
		for _, x := range c.Environment {
			s.Environment = append(s.Environment, c.Name+"."+x.Name+"="+x.Value)
		}
		if len(c.EntryPoint) > 0 || len(c.Command) > 0 {
			s.Commands = append(s.Commands, fmt.Sprintf("%s=%q %q", c.Name, c.EntryPoint, c.Command))
		}
	}
	for _, l := range [][]string{s.Images, s.Secrets, s.Environment, s.Commands} {
		sort.Strings(l)
	}
	return s
}

func evalECSTask(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p taskDefParams
	switch rec.EventName {
	case "RegisterTaskDefinition":
		if rec.Failed() || !rec.Params(&p) || !slices.Contains(e.cfg.ECS.Families, p.Family) {
			return nil
		}
		return e.taskDefinition(ctx, ev, &p)
	case "RunTask", "StartTask":
		rec.Params(&p)
		return e.taskOverrides(ev, &p)
	case "ExecuteCommand":
		rec.Params(&p)
		if !matchName(e.cfg.ECS.Clusters, p.Cluster) {
			return nil
		}
		ev.add(hit{
			severity: e.failedSeverity(ev, High), dedup: p.Cluster + "|" + p.Task,
			title:     fmt.Sprintf("ECS Exec into %s by %s%s", firstNonEmpty(p.Task, p.Cluster), ev.principal, attempt(ev)),
			desc:      fmt.Sprintf("%s opened an ECS Exec session into task %s (container %s) of cluster %s: the task holds the database password.", ev.principal, p.Task, p.Container, p.Cluster),
			resources: []Resource{{UID: firstNonEmpty(p.Task, p.Cluster), Type: "AWS::ECS::Task"}},
		})
	}
	return nil
}

// taskDefinition compares a new revision of a watched family with the last one seen.
func (e *Engine) taskDefinition(ctx context.Context, ev *event, p *taskDefParams) error {
	rec := ev.rec
	now := shapeOf(p)
	cur, _ := json.Marshal(now)
	oldJSON, found, err := e.store.Swap(ctx, "taskdef|"+p.Family, string(cur), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration))
	if err != nil {
		return err
	}
	deployer := e.cfg.isDeployer(ev.norm)
	var changes []string
	sev := High
	foreign := e.cfg.foreignImages(p.ContainerDefinitions)
	if len(foreign) > 0 {
		changes = append(changes, fmt.Sprintf("images from outside the configured registries %v", foreign))
	}
	var old taskShape
	switch {
	case !found:
		// Nothing to compare with: the first revision seen is trusted only from the
		// deployment and from the release registries.
		if !deployer {
			changes = append(changes, "first revision seen, registered outside the deployment")
		}
	case json.Unmarshal([]byte(oldJSON), &old) == nil:
		configChanged := false
		for _, d := range []struct {
			what     string
			old, now []string
		}{
			{"secrets", old.Secrets, now.Secrets},
			{"environment", old.Environment, now.Environment},
			{"entry point or command", old.Commands, now.Commands},
		} {
			if !slices.Equal(d.old, d.now) {
				changes = append(changes, fmt.Sprintf("%s %v -> %v", d.what, d.old, d.now))
				configChanged = true
			}
		}
		if old.Role != now.Role {
			changes = append(changes, fmt.Sprintf("task role %s -> %s", old.Role, now.Role))
			configChanged = true
		}
		imageChanged := !slices.Equal(old.Images, now.Images)
		if imageChanged && !deployer {
			changes = append(changes, fmt.Sprintf("images %v -> %v", old.Images, now.Images))
		}
		// Releases change images; a deployment that also repoints the secret, the role,
		// the environment or the command is worth a look, at lower severity.
		if deployer && len(foreign) == 0 {
			if !configChanged {
				return nil
			}
			sev = Medium
		}
	}
	if len(changes) == 0 {
		return nil
	}
	ev.add(hit{
		severity: sev, dedup: p.Family + "|" + digest(cur),
		title:     fmt.Sprintf("task definition %s changed by %s", p.Family, ev.principal),
		desc:      fmt.Sprintf("%s registered a new revision of %s: %s.", ev.principal, p.Family, strings.Join(changes, "; ")),
		resources: []Resource{{UID: p.Family, Type: "AWS::ECS::TaskDefinition"}},
	})
	return nil
}

// foreignImages lists the images not pulled from a configured registry (none when no
// registry is configured).
func (c *Config) foreignImages(defs []containerDef) []string {
	if len(c.ECS.Registries) == 0 {
		return nil
	}
	var out []string
	for _, d := range defs {
		if !slices.ContainsFunc(c.ECS.Registries, func(r string) bool { return strings.HasPrefix(d.Image, r) }) {
			out = append(out, d.Image)
		}
	}
	return out
}

// taskOverrides reports a task of a watched family or cluster started with a different
// command, environment or role than its task definition: the same effect as a new
// revision, without one being registered.
func (e *Engine) taskOverrides(ev *event, p *taskDefParams) error {
	rec := ev.rec
	family := taskFamily(p.TaskDefinition)
	if !slices.Contains(e.cfg.ECS.Families, family) && (len(e.cfg.ECS.Clusters) == 0 || !matchName(e.cfg.ECS.Clusters, p.Cluster)) {
		return nil
	}
	if p.Overrides == nil || isService(ev.principal) {
		return nil
	}
	var what []string
	if p.Overrides.TaskRoleArn != "" {
		what = append(what, "task role "+p.Overrides.TaskRoleArn)
	}
	for _, c := range p.Overrides.ContainerOverrides {
		if len(c.Command) > 0 {
			what = append(what, fmt.Sprintf("%s command %q", c.Name, c.Command))
		}
		for _, kv := range c.Environment {
			what = append(what, c.Name+" environment "+kv.Name+"="+kv.Value)
		}
		if len(c.EnvironmentFiles) > 0 {
			what = append(what, c.Name+" environment files")
		}
	}
	if len(what) == 0 {
		return nil
	}
	sev := High
	if e.cfg.isDeployer(ev.norm) {
		sev = Medium
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: firstNonEmpty(family, p.Cluster) + "|" + digest(rec.RequestParameters),
		title:     fmt.Sprintf("%s of %s with overrides by %s%s", rec.EventName, firstNonEmpty(family, p.TaskDefinition), ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s started a task of %s in %s overriding %s: code or settings nobody reviewed run with the database credentials.", ev.principal, firstNonEmpty(p.TaskDefinition, family), firstNonEmpty(p.Cluster, "the default cluster"), strings.Join(what, ", ")),
		resources: []Resource{{UID: firstNonEmpty(p.TaskDefinition, family), Type: "AWS::ECS::TaskDefinition"}},
	})
	return nil
}

// taskFamily returns the family of "family", "family:3" or a task definition ARN.
func taskFamily(td string) string {
	if i := strings.LastIndex(td, "task-definition/"); i >= 0 {
		td = td[i+len("task-definition/"):]
	}
	if i := strings.LastIndexByte(td, ':'); i >= 0 {
		td = td[:i]
	}
	return td
}

// matchName reports whether an ECS name or ARN is one of names (all when names is empty).
func matchName(names []string, v string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if v == n || strings.HasSuffix(v, "/"+n) {
			return true
		}
	}
	return false
}
