package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// RA-10: the API's and database's ECS task definitions and tasks.

type taskDefParams struct {
	Family               string `json:"family"`
	TaskRoleArn          string `json:"taskRoleArn"`
	ContainerDefinitions []struct {
		Name    string `json:"name"`
		Image   string `json:"image"`
		Secrets []struct {
			Name      string `json:"name"`
			ValueFrom string `json:"valueFrom"`
		} `json:"secrets"`
	} `json:"containerDefinitions"`
	Cluster   string `json:"cluster"`
	Task      string `json:"task"`
	Container string `json:"container"`
}

// taskShape is what RA-10 compares between revisions.
type taskShape struct {
	Role    string   `json:"role"`
	Images  []string `json:"images"`
	Secrets []string `json:"secrets"`
}

func ruleECS(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	switch rec.EventName {
	case "RegisterTaskDefinition":
	case "ExecuteCommand":
		var p taskDefParams
		rec.Params(&p)
		if !matchName(e.cfg.ECS.Clusters, p.Cluster) {
			return nil
		}
		ev.add(hit{
			rule: e.rule("RA-10"), severity: e.failedSeverity(ev, High), dedup: p.Cluster + "|" + p.Task,
			title:     fmt.Sprintf("ECS Exec into %s by %s%s", firstNonEmpty(p.Task, p.Cluster), ev.principal, attempt(ev)),
			desc:      fmt.Sprintf("%s opened an ECS Exec session into task %s (container %s) of cluster %s: the task holds the database password.", ev.principal, p.Task, p.Container, p.Cluster),
			resources: []Resource{{UID: firstNonEmpty(p.Task, p.Cluster), Type: "AWS::ECS::Task"}},
		})
		return nil
	default:
		return nil
	}
	if rec.Failed() {
		return nil
	}
	var p taskDefParams
	if !rec.Params(&p) || !slices.Contains(e.cfg.ECS.Families, p.Family) {
		return nil
	}
	now := taskShape{Role: p.TaskRoleArn}
	for _, c := range p.ContainerDefinitions {
		now.Images = append(now.Images, c.Name+"="+c.Image)
		for _, s := range c.Secrets {
			now.Secrets = append(now.Secrets, c.Name+"."+s.Name+"="+s.ValueFrom)
		}
	}
	sort.Strings(now.Images)
	sort.Strings(now.Secrets)
	cur, _ := json.Marshal(now)
	oldJSON, found, err := e.store.Swap(ctx, "taskdef|"+p.Family, string(cur), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration))
	if err != nil || !found {
		return err
	}
	var old taskShape
	if json.Unmarshal([]byte(oldJSON), &old) != nil {
		return nil
	}
	var changes []string
	secretChanged := !slices.Equal(old.Secrets, now.Secrets)
	roleChanged := old.Role != now.Role
	imageChanged := !slices.Equal(old.Images, now.Images)
	if secretChanged {
		changes = append(changes, fmt.Sprintf("secrets %v -> %v", old.Secrets, now.Secrets))
	}
	if roleChanged {
		changes = append(changes, fmt.Sprintf("task role %s -> %s", old.Role, now.Role))
	}
	if imageChanged {
		changes = append(changes, fmt.Sprintf("images %v -> %v", old.Images, now.Images))
	}
	sev := High
	if e.cfg.isDeployer(ev.norm) {
		// Releases change images; a deployment that also repoints the secret or the role
		// is worth a look, at lower severity.
		if !secretChanged && !roleChanged {
			return nil
		}
		sev = Medium
	}
	if len(changes) == 0 {
		return nil
	}
	ev.add(hit{
		rule: e.rule("RA-10"), severity: sev, dedup: p.Family + "|" + string(cur),
		title:     fmt.Sprintf("task definition %s changed by %s", p.Family, ev.principal),
		desc:      fmt.Sprintf("%s registered a new revision of %s: %s.", ev.principal, p.Family, strings.Join(changes, "; ")),
		resources: []Resource{{UID: p.Family, Type: "AWS::ECS::TaskDefinition"}},
	})
	return nil
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
