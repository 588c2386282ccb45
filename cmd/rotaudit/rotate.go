package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/rotation"
)

// rotateCommand rotates a secret the way Secrets Manager does.
func rotateCommand() command {
	return command{summary: "rotate a database secret: the four steps, in-process or through a Lambda endpoint", run: runRotate}
}

// rotationFlags are the flags rotate and doctor share.
type rotationFlags struct {
	secretID, strategy string
}

func (f *rotationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.secretID, "secret-id", "", "secret name or ARN (required)")
	fs.StringVar(&f.strategy, "strategy", "", "single-user or alternating-users (default: $ROTATION_STRATEGY, else single-user)")
}

// newRotator builds an in-process rotator from the environment (the Lambda's variables)
// and the standard AWS SDK configuration.
func newRotator(ctx context.Context, f rotationFlags) (*rotation.Rotator, error) {
	cfg, err := rotation.LoadConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	if f.strategy != "" {
		switch s := rotation.Strategy(f.strategy); s {
		case rotation.SingleUser, rotation.AlternatingUsers:
			cfg.Strategy = s
		default:
			return nil, fmt.Errorf("--strategy %q: want %s or %s", f.strategy, rotation.SingleUser, rotation.AlternatingUsers)
		}
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	client := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		if cfg.SecretsManagerEndpoint != "" {
			o.BaseEndpoint = &cfg.SecretsManagerEndpoint
		}
	})
	return &rotation.Rotator{SM: client, Dial: rotation.PgxDialer, Config: cfg}, nil
}

func runRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf rotationFlags
	rf.register(fs)
	invokeURL := fs.String("invoke-url", "", "run the steps through this Lambda Invoke URL (e.g. the runtime emulator's .../2015-03-31/functions/function/invocations) instead of in-process")
	count := fs.Int("count", 1, "rotations to run one after the other")
	allowDisabled := fs.Bool("allow-disabled", false, "rotate even if the secret's automatic rotation is off (in-process only)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit rotate --secret-id ID [flags]\n\n"+
			"Does what Secrets Manager does: resumes the rotation in progress (a version labelled\n"+
			"AWSPENDING) or starts one under a new token, then runs createSecret, setSecret,\n"+
			"testSecret and finishSecret in order and prints each outcome. The in-process rotator\n"+
			"reads the Lambda's environment variables (ROTATION_STRATEGY, PASSWORD_LENGTH, ...).\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if rf.secretID == "" || fs.NArg() > 0 || *count < 1 {
		fs.Usage()
		return errUsage
	}
	r, err := newRotator(ctx, rf)
	if err != nil {
		return err
	}
	r.AllowDisabled = *allowDisabled
	var inv rotation.Invoker = r
	where := "in-process"
	if *invokeURL != "" {
		if *allowDisabled {
			return fmt.Errorf("--allow-disabled applies to in-process rotation only: the function checks the secret itself")
		}
		inv = rotation.HTTPInvoker{URL: *invokeURL}
		where = *invokeURL
	}
	for i := 1; i <= *count; i++ {
		token, resumed, err := r.Start(ctx, rf.secretID)
		if err != nil {
			return fmt.Errorf("start rotation: %w", err)
		}
		verb := "started"
		if resumed {
			verb = "resuming"
		}
		fmt.Fprintf(stdout, "rotation %d/%d of %s (%s, %s): %s version %s\n", i, *count, rf.secretID, r.Config.Strategy, where, verb, token)
		start := time.Now()
		err = rotation.Drive(ctx, inv, rf.secretID, token, func(s rotation.StepResult) {
			status := "ok"
			if s.Err != nil {
				status = "FAILED"
			}
			fmt.Fprintf(stdout, "  %-13s %-6s %8.1f ms\n", s.Step, status, float64(s.Duration.Microseconds())/1000)
		})
		if err != nil {
			fmt.Fprintf(stdout, "  error: %v\n  the rotation stays pending: run the same command again to resume version %s\n", err, token)
			return errors.New("rotation failed")
		}
		fmt.Fprintf(stdout, "  done in %.1f ms: version %s is AWSCURRENT\n", float64(time.Since(start).Microseconds())/1000, token)
	}
	return nil
}
