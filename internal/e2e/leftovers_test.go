package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// leftovers lists what the emulator still holds of a deployment after destroy: every kind
// of resource the modules of envs/local create, read through the services' own APIs (not
// Terraform's state). Anything left counts, except what exists in a fresh account (the
// default VPC and security groups, AWS-managed keys), KMS keys pending deletion (AWS makes
// every key wait at least 7 days) and what was there before the apply (before: the
// LocalStack stack is shared with the stack's own secrets). withECR is false where the
// emulator has no ECR.
func leftovers(t *testing.T, cfg aws.Config, withECR bool, before []string) []string {
	t.Helper()
	ctx := context.Background()
	var left []string
	add := func(kind, name string) { left = append(left, kind+" "+name) }
	fail := func(what string, err error) { t.Errorf("list %s: %v", what, err) }

	if out, err := secretsmanager.NewFromConfig(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
		fail("secrets", err)
	} else {
		for _, s := range out.SecretList {
			if s.DeletedDate == nil {
				add("secret", aws.ToString(s.Name))
			}
		}
	}
	if out, err := lambda.NewFromConfig(cfg).ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		fail("functions", err)
	} else {
		for _, f := range out.Functions {
			add("lambda function", aws.ToString(f.FunctionName))
		}
	}
	ic := iam.NewFromConfig(cfg)
	if out, err := ic.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		fail("roles", err)
	} else {
		for _, r := range out.Roles {
			if !strings.HasPrefix(aws.ToString(r.Path), "/aws-service-role/") {
				add("iam role", aws.ToString(r.RoleName))
			}
		}
	}
	if out, err := ic.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Local"}); err != nil {
		fail("policies", err)
	} else {
		for _, p := range out.Policies {
			add("iam policy", aws.ToString(p.PolicyName))
		}
	}
	if out, err := eventbridge.NewFromConfig(cfg).ListRules(ctx, &eventbridge.ListRulesInput{}); err != nil {
		fail("rules", err)
	} else {
		for _, r := range out.Rules {
			add("eventbridge rule", aws.ToString(r.Name))
		}
	}
	if out, err := sns.NewFromConfig(cfg).ListTopics(ctx, &sns.ListTopicsInput{}); err != nil {
		fail("topics", err)
	} else {
		for _, tp := range out.Topics {
			add("sns topic", aws.ToString(tp.TopicArn))
		}
	}
	if out, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		fail("queues", err)
	} else {
		for _, q := range out.QueueUrls {
			add("sqs queue", q)
		}
	}
	if out, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		fail("tables", err)
	} else {
		for _, n := range out.TableNames {
			add("dynamodb table", n)
		}
	}
	if out, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		fail("buckets", err)
	} else {
		for _, b := range out.Buckets {
			add("s3 bucket", aws.ToString(b.Name))
		}
	}
	if out, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		fail("log groups", err)
	} else {
		for _, g := range out.LogGroups {
			add("log group", aws.ToString(g.LogGroupName))
		}
	}
	kc := kms.NewFromConfig(cfg)
	// Keys behind alias/aws/* are AWS managed: a real account has them too, and services
	// make them on first use (moto marks them customer managed, "Default key").
	awsManaged := map[string]bool{}
	if out, err := kc.ListAliases(ctx, &kms.ListAliasesInput{}); err != nil {
		fail("kms aliases", err)
	} else {
		for _, a := range out.Aliases {
			if strings.HasPrefix(aws.ToString(a.AliasName), "alias/aws/") {
				awsManaged[aws.ToString(a.TargetKeyId)] = true
			} else {
				add("kms alias", aws.ToString(a.AliasName))
			}
		}
	}
	if out, err := kc.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		fail("kms keys", err)
	} else {
		for _, k := range out.Keys {
			d, err := kc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				fail("kms key "+aws.ToString(k.KeyId), err)
				continue
			}
			m := d.KeyMetadata
			if m.KeyManager == kmstypes.KeyManagerTypeCustomer && !awsManaged[aws.ToString(m.KeyId)] && m.KeyState != kmstypes.KeyStatePendingDeletion {
				add("kms key ("+string(m.KeyState)+", "+aws.ToString(m.Description)+")", aws.ToString(k.KeyId))
			}
		}
	}
	if !withECR {
		// nothing to list
	} else if out, err := ecr.NewFromConfig(cfg).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
		fail("ecr repositories", err)
	} else {
		for _, r := range out.Repositories {
			add("ecr repository", aws.ToString(r.RepositoryName))
		}
	}
	ec := ec2.NewFromConfig(cfg)
	if out, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		fail("vpcs", err)
	} else {
		for _, v := range out.Vpcs {
			if !aws.ToBool(v.IsDefault) {
				add("vpc", aws.ToString(v.VpcId))
			}
		}
	}
	if out, err := ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}); err != nil {
		fail("security groups", err)
	} else {
		for _, g := range out.SecurityGroups {
			if aws.ToString(g.GroupName) != "default" {
				add("security group", aws.ToString(g.GroupId)+" "+aws.ToString(g.GroupName))
			}
		}
	}
	return slices.DeleteFunc(left, func(r string) bool { return slices.Contains(before, r) })
}
