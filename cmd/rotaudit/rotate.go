package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
)

// rotateCommand rotates a secret the way Secrets Manager does.
func rotateCommand() command {
	return command{summary: "rotate a database secret: the four steps, in-process or through a Lambda endpoint", run: runRotate}
}

// rotationFlags are the flags rotate and doctor share.
type rotationFlags struct {
	secretID, strategy, masters string
}

func (f *rotationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.secretID, "secret-id", "", "secret name or ARN (required)")
	fs.StringVar(&f.strategy, "strategy", "", "single-user or alternating-users (default: $ROTATION_STRATEGY, else single-user); for rotate, a comma-separated list is used in turn")
	fs.StringVar(&f.masters, "master-secret", "", "for alternating-users: comma-separated names or ARNs of the master secrets the rotation may use, added to $"+rotation.EnvMasterSecretARNs+" (a secret's masterarn outside them is refused)")
}

// newRotator builds an in-process rotator from the environment (the Lambda's variables)
// and the standard AWS SDK configuration.
func newRotator(ctx context.Context, f rotationFlags) (*rotation.Rotator, error) {
	cfg, err := rotation.LoadConfig(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if f.strategy != "" {
		list, err := parseStrategies(f.strategy)
		if err != nil {
			return nil, err
		}
		cfg.Strategy = list[0]
	}
	awsCfg, err := awsclient.Load(ctx)
	if err != nil {
		return nil, err
	}
	client := awsclient.SecretsManager(awsCfg, cfg.SecretsManagerEndpoint)
	for _, id := range strings.Split(f.masters, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		// The function's configuration holds full ARNs; an operator may give names.
		d, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("--master-secret %s: %w", id, err)
		}
		cfg.MasterSecretARNs = append(cfg.MasterSecretARNs, aws.ToString(d.ARN))
	}
	return &rotation.Rotator{SM: client, RDS: rds.NewFromConfig(awsCfg), Dial: rotation.PgxDialer, Config: cfg}, nil
}

// parseStrategies reads --strategy: one strategy or a comma-separated list of them.
func parseStrategies(v string) ([]rotation.Strategy, error) {
	var out []rotation.Strategy
	for _, p := range strings.Split(v, ",") {
		switch s := rotation.Strategy(strings.TrimSpace(p)); s {
		case rotation.SingleUser, rotation.AlternatingUsers:
			out = append(out, s)
		default:
			return nil, fmt.Errorf("--strategy %q: want %s or %s (or a comma-separated list)", v, rotation.SingleUser, rotation.AlternatingUsers)
		}
	}
	return out, nil
}

func runRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf rotationFlags
	rf.register(fs)
	invokeURL := fs.String("invoke-url", "", "run the steps through this Lambda Invoke URL (e.g. the runtime emulator's .../2015-03-31/functions/function/invocations) instead of in-process")
	count := fs.Int("count", 1, "rotations to run one after the other")
	allowDisabled := fs.Bool("allow-disabled", false, "rotate even if the secret's automatic rotation is off (in-process only)")
	loadURL := fs.String("load-url", "", "while rotating, send a steady load of GET requests to these comma-separated URLs and report requests served and failed (a failure is a transport error or a status other than 200)")
	loadWorkers := fs.Int("load-concurrency", 8, "requests in flight for --load-url")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit rotate --secret-id ID [flags]\n\n"+
			"Does what Secrets Manager does: resumes the rotation in progress (a version labelled\n"+
			"AWSPENDING) or starts one under a new token, then runs createSecret, setSecret,\n"+
			"testSecret and finishSecret in order and prints each outcome. The in-process rotator\n"+
			"reads the Lambda's environment variables (ROTATION_STRATEGY, PASSWORD_LENGTH, ...).\n"+
			"A new rotation's pending version is made here, with those settings: with --invoke-url,\n"+
			"give the --strategy the function is configured with.\n\nflags:")
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
	var inv driver.Handler = r
	where := "in-process"
	if *invokeURL != "" {
		if *allowDisabled {
			return fmt.Errorf("--allow-disabled applies to in-process rotation only: the function checks the secret itself")
		}
		inv = driver.Endpoint{URL: *invokeURL}
		where = *invokeURL
	}
	strategies := []rotation.Strategy{r.Config.Strategy}
	if rf.strategy != "" {
		strategies, _ = parseStrategies(rf.strategy)
	}
	var load *steadyLoad
	if *loadURL != "" {
		if load, err = startLoad(*loadURL, *loadWorkers); err != nil {
			return err
		}
		// Let the load run a moment before the first rotation, so the count shows it.
		time.Sleep(500 * time.Millisecond)
	}
	done := 0
	report := func() error {
		if load == nil {
			return nil
		}
		served, failed := load.stop()
		fmt.Fprintf(stdout, "load: %d requests served during %d rotations, %d failed\n", served, done, failed)
		if failed > 0 {
			return fmt.Errorf("%d requests failed during rotation", failed)
		}
		return nil
	}
	for i := 1; i <= *count; i++ {
		r.Config.Strategy = strategies[(i-1)%len(strategies)]
		token, resumed, err := driver.Start(ctx, r, rf.secretID)
		if err != nil {
			report()
			return fmt.Errorf("start rotation: %w", err)
		}
		verb := "started"
		if resumed {
			verb = "resuming"
		}
		fmt.Fprintf(stdout, "rotation %d/%d of %s (%s, %s): %s version %s\n", i, *count, rf.secretID, r.Config.Strategy, where, verb, token)
		start := time.Now()
		err = driver.Run(ctx, inv, rf.secretID, token, func(s driver.StepResult) {
			status := "ok"
			if s.Err != nil {
				status = "FAILED"
			}
			fmt.Fprintf(stdout, "  %-13s %-6s %8.1f ms\n", s.Step, status, float64(s.Duration.Microseconds())/1000)
		})
		if err != nil {
			fmt.Fprintf(stdout, "  error: %v\n  the rotation stays pending: run the same command again to resume version %s\n", err, token)
			report()
			return errors.New("rotation failed")
		}
		done++
		fmt.Fprintf(stdout, "  done in %.1f ms: version %s is AWSCURRENT\n", float64(time.Since(start).Microseconds())/1000, token)
		if load != nil {
			// Give the clients a moment on the new credentials before the next rotation.
			time.Sleep(300 * time.Millisecond)
		}
	}
	return report()
}

// steadyLoad keeps workers each sending one GET at a time, in turn over urls.
type steadyLoad struct {
	stopc          chan struct{}
	wg             sync.WaitGroup
	served, failed atomic.Int64
}

func startLoad(list string, workers int) (*steadyLoad, error) {
	var urls []string
	for _, u := range strings.Split(list, ",") {
		u = strings.TrimSpace(u)
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("--load-url %q: want http(s)://host[:port]/path", u)
		}
		urls = append(urls, u)
	}
	if workers < 1 || workers > 256 {
		return nil, fmt.Errorf("--load-concurrency %d: want 1 to 256", workers)
	}
	l := &steadyLoad{stopc: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ; i++ {
				select {
				case <-l.stopc:
					return
				default:
				}
				resp, err := client.Get(urls[i%len(urls)])
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					l.failed.Add(1)
				} else {
					l.served.Add(1)
				}
			}
		}()
	}
	return l, nil
}

func (l *steadyLoad) stop() (served, failed int64) {
	close(l.stopc)
	l.wg.Wait()
	return l.served.Load(), l.failed.Load()
}
