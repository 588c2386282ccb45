package rotationtest

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

// Function is a Lambda function deployed to the emulator from a built bootstrap.
type Function struct {
	Name, ARN string
}

// DeployFunction zips bootstrap (built for this machine by BuildFunction) as a
// provided.al2023 function with environment vars, creates it with an IAM role of its own and
// waits until it is Active; both are deleted at cleanup. It needs an emulator that runs
// functions (LocalStack with the rotaudit-host executor, or with Docker).
func DeployFunction(t testing.TB, env *testenv.Env, prefix, bootstrap string, vars map[string]string, timeout time.Duration) Function {
	t.Helper()
	fn := createFunction(t, env, prefix, bootstrap, vars, timeout)
	if c := waitState(t, lambda.NewFromConfig(env.AWS(t)), fn.Name); c.State != ltypes.StateActive {
		t.Fatalf("function %s is %s: %s", fn.Name, c.State, aws.ToString(c.StateReason))
	}
	return fn
}

// DeployFailing creates a function from bootstrap as DeployFunction does, expects it to end
// Failed and returns the state reason the emulator gave.
func DeployFailing(t testing.TB, env *testenv.Env, prefix, bootstrap string) string {
	t.Helper()
	fn := createFunction(t, env, prefix, bootstrap, nil, 3*time.Second)
	c := waitState(t, lambda.NewFromConfig(env.AWS(t)), fn.Name)
	if c.State != ltypes.StateFailed {
		t.Fatalf("function %s is %s, want Failed", fn.Name, c.State)
	}
	return aws.ToString(c.StateReason)
}

func createFunction(t testing.TB, env *testenv.Env, prefix, bootstrap string, vars map[string]string, timeout time.Duration) Function {
	t.Helper()
	ctx := context.Background()
	cfg := env.AWS(t)
	bin, err := os.ReadFile(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bin)
	zw.Close()

	name := testenv.Unique(prefix)
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("create role for %s: %v", name, err)
	}
	t.Cleanup(func() { ic.DeleteRole(context.Background(), &iam.DeleteRoleInput{RoleName: aws.String(name)}) })
	lc := lambda.NewFromConfig(cfg)
	fn, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(name),
		Runtime:       ltypes.RuntimeProvidedal2023,
		Handler:       aws.String("bootstrap"),
		Role:          role.Role.Arn,
		Code:          &ltypes.FunctionCode{ZipFile: buf.Bytes()},
		Timeout:       aws.Int32(int32(timeout / time.Second)),
		MemorySize:    aws.Int32(256),
		Architectures: []ltypes.Architecture{hostArchitecture()},
		Environment:   &ltypes.Environment{Variables: vars},
	})
	if err != nil {
		t.Fatalf("create function %s: %v", name, err)
	}
	t.Cleanup(func() {
		lc.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		// Lambda leaves the function's log group behind, on AWS too.
		cloudwatchlogs.NewFromConfig(cfg).DeleteLogGroup(context.Background(), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/" + name)})
	})
	return Function{Name: name, ARN: aws.ToString(fn.FunctionArn)}
}

// waitState waits (bounded) until function name leaves state Pending and returns its
// configuration.
func waitState(t testing.TB, lc *lambda.Client, name string) *lambda.GetFunctionConfigurationOutput {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := lc.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("function %s: %v", name, err)
		}
		if c.State != ltypes.StatePending {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("function %s still Pending after 60 s", name)
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}
