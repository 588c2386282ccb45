package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/deploycheck"
)

// checkCommand checks a deployed environment, read-only.
func checkCommand() command {
	return command{summary: "check a deployed environment from its Terraform outputs, changing nothing", run: runCheck}
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outputs := fs.String("outputs", "", "file holding `terraform output -json` of the environment (- for standard input; required)")
	stale := fs.Duration("stale-pending", 0, "how old an AWSPENDING version may be before its rotation counts as failed (default 1h)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit check --outputs FILE\n\n"+
			"  terraform -chdir=envs/dev output -json | rotaudit check --outputs -\n\n"+
			"Checks, with Describe/Get/List calls only, that every managed secret exists with rotation\n"+
			"on through one of the environment's rotators, is not overdue and has no rotation left\n"+
			"half-way (a stale AWSPENDING); that the functions are active; that the audit's EventBridge\n"+
			"rules are enabled, its dead-letter queue is empty and the alert topic has a confirmed\n"+
			"subscriber. One line per check; exits non-zero when one fails.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *outputs == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	var data []byte
	var err error
	if *outputs == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*outputs)
	}
	if err != nil {
		return fmt.Errorf("--outputs: %w", err)
	}
	d, err := deploycheck.ParseOutputs(data)
	if err != nil {
		return err
	}
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		return err
	}
	c := deploycheck.Clients{
		SM: awsclient.SecretsManager(cfg, ""), Lambda: lambda.NewFromConfig(cfg), Events: eventbridge.NewFromConfig(cfg),
		SNS: sns.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg),
	}
	checks := deploycheck.Run(ctx, c, d, deploycheck.Options{StalePending: *stale})
	for _, c := range checks {
		fmt.Fprintf(stdout, "%-4s  %-28s %s\n", c.Status, c.Name, c.Detail)
	}
	if deploycheck.Failed(checks) {
		fmt.Fprintln(stdout, "verdict: the environment needs attention (see the FAIL lines)")
		return errors.New("check found problems")
	}
	fmt.Fprintln(stdout, "verdict: healthy")
	return nil
}
