package awscheck

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Principal is an IAM role, or a member of an IAM group (a user, named after the group).
type Principal struct {
	ARN      string
	Name     string
	Group    bool
	StandIn  bool             // a user added to a group outside Terraform (the group has no members here)
	Policies []map[string]any // identity policies: inline and attached
	Trust    map[string]any   // a role's trust policy
}

// Secret is a Secrets Manager secret with its resource policy and key.
type Secret struct {
	ARN, Name, KeyARN string
	Policy            map[string]any
	RotationLambdaARN string
}

// Function is a Lambda function with its role, environment, network and resource policy.
type Function struct {
	Name, ARN, RoleARN string
	Env                map[string]string
	Subnets, SGs       []string
	Policy             map[string]any // built from its aws_lambda_permission resources
}

// Task is an ECS task definition with the service that runs it.
type Task struct {
	Family, TaskRoleARN, ExecRoleARN string
	Env                              map[string]string
	Subnets, SGs                     []string
	PublicIP                         bool
	Images                           []string
}

// Env is one applied environment, as the check reads it.
type Env struct {
	Name, Account, Region string
	Principals            map[string]*Principal // by ARN
	Secrets               map[string]*Secret    // by ARN
	Keys                  map[string]map[string]any
	Functions             map[string]*Function // by name
	Tasks                 []*Task
	Net                   Network
	// KMS keys of the auditor's resources: the alert topic and the state table.
	TopicKeys, TableKeys map[string]string // resource ARN -> key id or ARN ("" = AWS owned/managed)
	DBInstances          []string          // ARNs
	DBSGs, DBSubnets     []string
	// EventBridge: the rules with their targets, the buses' policies by ARN, and the
	// organization the accounts belong to (nil: a single-account deployment).
	Rules       []*Rule
	BusPolicies map[string]map[string]any
	Org         *Organization
	// Skipped names what the state lacked and the check could not evaluate.
	Skipped []string
	// Resources is the whole applied state, for the API rules.
	Resources []Resource
}

// NewEnv builds an Env from the resources of an applied state.
func NewEnv(name string, rs []Resource) (*Env, error) {
	e := &Env{
		Name: name, Principals: map[string]*Principal{}, Secrets: map[string]*Secret{},
		Keys: map[string]map[string]any{}, Functions: map[string]*Function{},
		TopicKeys: map[string]string{}, TableKeys: map[string]string{}, Resources: rs,
	}
	byType := map[string][]Resource{}
	for _, r := range rs {
		byType[r.Type] = append(byType[r.Type], r)
	}
	managed := map[string]map[string]any{} // customer managed policies by ARN
	for _, r := range byType["aws_iam_policy"] {
		p, err := parsePolicy(r.str("policy"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Address, err)
		}
		managed[r.str("arn")] = p
	}
	roleByName := map[string]*Principal{}
	for _, r := range byType["aws_iam_role"] {
		trust, err := parsePolicy(r.str("assume_role_policy"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Address, err)
		}
		p := &Principal{ARN: r.str("arn"), Name: r.str("name"), Trust: trust}
		if _, ok := roleByName[p.Name]; ok {
			// Inline policies and attachments name their role by name only.
			return nil, fmt.Errorf("state of %s: two roles named %s (in two accounts?): give them names of their own", name, p.Name)
		}
		e.Principals[p.ARN] = p
		roleByName[p.Name] = p
		if e.Account == "" {
			e.Account = strings.Split(p.ARN, ":")[4]
		}
	}
	groupByName := map[string]*Principal{}
	for _, r := range byType["aws_iam_group"] {
		arn := r.str("arn")
		// A user in the group: the principal whose request AWS evaluates.
		user := strings.Replace(arn, ":group/", ":user/", 1) + "-member"
		p := &Principal{ARN: user, Name: r.str("name") + " (a user in the group)", Group: true, StandIn: true}
		e.Principals[p.ARN] = p
		groupByName[r.str("name")] = p
	}
	attach := func(kind string, owners map[string]*Principal, ownerKey string) error {
		for _, r := range byType["aws_iam_"+kind+"_policy"] {
			p, ok := owners[r.str(ownerKey)]
			if !ok {
				continue
			}
			doc, err := parsePolicy(r.str("policy"))
			if err != nil {
				return fmt.Errorf("%s: %w", r.Address, err)
			}
			p.Policies = append(p.Policies, doc)
		}
		for _, r := range byType["aws_iam_"+kind+"_policy_attachment"] {
			p, ok := owners[r.str(ownerKey)]
			if !ok {
				continue
			}
			doc, ok := managed[r.str("policy_arn")]
			if !ok {
				// AWS managed policies (arn:aws:iam::aws:policy/...) are not in the state.
				e.Skipped = append(e.Skipped, fmt.Sprintf("%s %s: managed policy %s not evaluated", kind, p.Name, r.str("policy_arn")))
				continue
			}
			p.Policies = append(p.Policies, doc)
		}
		return nil
	}
	if err := attach("role", roleByName, "role"); err != nil {
		return nil, err
	}
	if err := attach("group", groupByName, "group"); err != nil {
		return nil, err
	}
	// The users Terraform puts in a group stand for it; a group with none keeps its
	// stand-in member (a user added outside Terraform).
	for _, r := range byType["aws_iam_group_membership"] {
		g, ok := groupByName[r.str("group")]
		if !ok {
			continue
		}
		for _, u := range r.strs("users") {
			arn := strings.SplitN(g.ARN, ":user/", 2)[0] + ":user/" + u
			e.Principals[arn] = &Principal{ARN: arn, Name: u + " (in " + r.str("group") + ")", Group: true, Policies: g.Policies}
		}
		delete(e.Principals, g.ARN)
	}

	for _, r := range byType["aws_kms_key"] {
		p, err := parsePolicy(r.str("policy"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Address, err)
		}
		e.Keys[r.str("arn")] = p
	}
	for _, r := range byType["aws_secretsmanager_secret"] {
		s := &Secret{ARN: r.str("arn"), Name: r.str("name"), KeyARN: e.keyARN(r.str("kms_key_id"))}
		e.Secrets[s.ARN] = s
		if e.Region == "" {
			e.Region = strings.Split(s.ARN, ":")[3]
		}
	}
	for _, r := range byType["aws_secretsmanager_secret_policy"] {
		s, ok := e.Secrets[r.str("secret_arn")]
		if !ok {
			continue
		}
		p, err := parsePolicy(r.str("policy"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Address, err)
		}
		s.Policy = p
	}
	for _, r := range byType["aws_secretsmanager_secret_rotation"] {
		id := r.str("secret_id")
		for _, s := range e.Secrets {
			if s.ARN == id || s.Name == id {
				s.RotationLambdaARN = r.str("rotation_lambda_arn")
			}
		}
		if _, ok := e.Secrets[id]; !ok && strings.HasPrefix(id, "arn:") {
			// A secret made outside this root (envs/local's master): known by its ARN only.
			e.Secrets[id] = &Secret{ARN: id, Name: secretName(id), RotationLambdaARN: r.str("rotation_lambda_arn")}
		}
	}

	for _, r := range byType["aws_lambda_function"] {
		f := &Function{Name: r.str("function_name"), ARN: r.str("arn"), RoleARN: r.str("role"), Env: map[string]string{}}
		for _, b := range r.blocks("environment") {
			if vars, ok := b["variables"].(map[string]any); ok {
				for k, v := range vars {
					f.Env[k], _ = v.(string)
				}
			}
		}
		for _, b := range r.blocks("vpc_config") {
			f.Subnets = toStrings(b["subnet_ids"])
			f.SGs = toStrings(b["security_group_ids"])
		}
		e.Functions[f.Name] = f
	}
	// The function's resource policy, as Lambda writes it for AddPermission.
	// https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
	perms := byType["aws_lambda_permission"]
	sort.Slice(perms, func(i, j int) bool { return perms[i].Address < perms[j].Address })
	for _, r := range perms {
		f := e.function(r.str("function_name"))
		if f == nil {
			continue
		}
		st := map[string]any{
			"Sid": r.str("statement_id"), "Effect": "Allow", "Action": r.str("action"), "Resource": f.ARN,
		}
		if p := r.str("principal"); strings.HasSuffix(p, ".amazonaws.com") {
			st["Principal"] = map[string]any{"Service": p}
		} else {
			st["Principal"] = map[string]any{"AWS": p}
		}
		cond := map[string]any{}
		if v := r.str("source_arn"); v != "" {
			cond["ArnLike"] = map[string]any{"AWS:SourceArn": v}
		}
		if v := r.str("source_account"); v != "" {
			cond["StringEquals"] = map[string]any{"AWS:SourceAccount": v}
		}
		if len(cond) > 0 {
			st["Condition"] = cond
		}
		if f.Policy == nil {
			f.Policy = map[string]any{"Version": "2012-10-17", "Statement": []any{}}
		}
		f.Policy["Statement"] = append(f.Policy["Statement"].([]any), st)
	}

	tasks := map[string]*Task{}
	for _, r := range byType["aws_ecs_task_definition"] {
		t := &Task{Family: r.str("family"), TaskRoleARN: r.str("task_role_arn"), ExecRoleARN: r.str("execution_role_arn"), Env: map[string]string{}}
		var defs []struct {
			Image       string `json:"image"`
			Environment []struct{ Name, Value string }
			Secrets     []struct{ Name, ValueFrom string }
		}
		if err := json.Unmarshal([]byte(r.str("container_definitions")), &defs); err != nil {
			return nil, fmt.Errorf("%s: container definitions: %w", r.Address, err)
		}
		for _, d := range defs {
			t.Images = append(t.Images, d.Image)
			for _, kv := range d.Environment {
				t.Env[kv.Name] = kv.Value
			}
			for _, kv := range d.Secrets {
				t.Env["secret:"+kv.Name] = kv.ValueFrom
			}
		}
		tasks[r.str("arn")] = t
		tasks[r.str("arn_without_revision")] = t
		e.Tasks = append(e.Tasks, t)
	}
	for _, r := range byType["aws_ecs_service"] {
		t, ok := tasks[r.str("task_definition")]
		if !ok {
			continue
		}
		for _, b := range r.blocks("network_configuration") {
			t.Subnets = toStrings(b["subnets"])
			t.SGs = toStrings(b["security_groups"])
			t.PublicIP, _ = b["assign_public_ip"].(bool)
		}
	}
	for _, r := range byType["aws_sns_topic"] {
		e.TopicKeys[r.str("arn")] = r.str("kms_master_key_id")
	}
	for _, r := range byType["aws_dynamodb_table"] {
		key := ""
		for _, b := range r.blocks("server_side_encryption") {
			if en, _ := b["enabled"].(bool); en {
				key, _ = b["kms_key_arn"].(string)
			}
		}
		e.TableKeys[r.str("arn")] = key
	}
	for _, r := range byType["aws_db_instance"] {
		e.DBInstances = append(e.DBInstances, r.str("arn"))
		e.DBSGs = append(e.DBSGs, r.strs("vpc_security_group_ids")...)
	}
	for _, r := range byType["aws_db_subnet_group"] {
		e.DBSubnets = append(e.DBSubnets, r.strs("subnet_ids")...)
	}
	e.Net = newNetwork(byType)
	if err := e.newEvents(byType); err != nil {
		return nil, err
	}
	// A state of several accounts (internal/awscheck/tf/org) is the central account's; one
	// with no secret takes its region from its functions.
	if e.Org != nil {
		e.Account = e.Org.Central
	}
	for _, f := range e.Functions {
		if e.Region == "" {
			e.Region = strings.Split(f.ARN, ":")[3]
		}
	}
	if e.Account == "" || e.Region == "" {
		return nil, fmt.Errorf("state of %s: no IAM role or secret to take the account and region from", name)
	}
	if len(e.DBInstances) == 0 && len(byType["aws_db_subnet_group"]) > 0 {
		// The instance was left out of the apply (scripts/aws-check.sh): its ARN comes from
		// its identifier, which the database module gives its subnet group too, and its
		// security group is the network module's database group.
		for _, r := range byType["aws_db_subnet_group"] {
			e.DBInstances = append(e.DBInstances, fmt.Sprintf("arn:aws:rds:%s:%s:db:%s", e.Region, e.Account, r.str("name")))
		}
		for _, r := range byType["aws_security_group"] {
			if strings.HasSuffix(r.Address, "module.network.aws_security_group.database") {
				e.DBSGs = append(e.DBSGs, r.str("id"))
			}
		}
		e.Skipped = append(e.Skipped, "the RDS instance (its ARN and security group from the subnet group and the network module)")
	}
	return e, nil
}

// keyARN resolves a key id, alias or ARN to the ARN of a key in the state ("" when the
// secret uses the AWS managed key).
func (e *Env) keyARN(id string) string {
	if id == "" {
		return ""
	}
	for arn := range e.Keys {
		if arn == id || strings.HasSuffix(arn, "/"+id) {
			return arn
		}
	}
	return id
}

// function finds a function by name or ARN.
func (e *Env) function(id string) *Function {
	for _, f := range e.Functions {
		if f.Name == id || f.ARN == id || strings.HasPrefix(id, f.ARN+":") {
			return f
		}
	}
	return nil
}

// principalName is a short, stable name for messages and the matrix.
func (e *Env) principalName(arn string) string {
	if p, ok := e.Principals[arn]; ok {
		return p.Name
	}
	return arn
}

func secretName(arn string) string {
	parts := strings.SplitN(arn, ":secret:", 2)
	if len(parts) != 2 {
		return arn
	}
	n := parts[1]
	// AWS appends "-" and six random characters to the name.
	if i := strings.LastIndex(n, "-"); i > 0 && len(n)-i == 7 {
		n = n[:i]
	}
	return n
}
