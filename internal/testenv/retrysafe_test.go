package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// fakeIAM serves CreateRole and GetRole over HTTP like IAM does. With loseFirstAnswer its
// first CreateRole makes the role and then closes the connection without answering: the
// answer lost on a busy machine. The SDK sees a connection error and sends CreateRole again,
// which meets the role the first attempt made.
type fakeIAM struct {
	fakeOptions

	mu      sync.Mutex
	roles   map[string]bool
	creates int
	gets    int
}

// fakeOptions are the ways fakeIAM misbehaves.
type fakeOptions struct {
	loseFirstAnswer bool
	// goneAfterConflict deletes the role right after answering EntityAlreadyExists, so the
	// read-back finds nothing.
	goneAfterConflict bool
	// createFault, when set, is the error code every CreateRole answers with.
	createFault string
}

func (f *fakeIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.Form.Get("RoleName")
	switch action := r.Form.Get("Action"); action {
	case "CreateRole":
		f.creates++
		switch {
		case f.createFault != "":
			iamError(w, http.StatusBadRequest, f.createFault)
		case f.roles[name]:
			iamError(w, http.StatusConflict, "EntityAlreadyExists")
			if f.goneAfterConflict {
				delete(f.roles, name)
			}
		default:
			f.roles[name] = true
			if f.loseFirstAnswer && f.creates == 1 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			fmt.Fprintf(w, `<CreateRoleResponse><CreateRoleResult>%s</CreateRoleResult></CreateRoleResponse>`, roleXML(name))
		}
	case "GetRole":
		f.gets++
		if !f.roles[name] {
			iamError(w, http.StatusNotFound, "NoSuchEntity")
			return
		}
		fmt.Fprintf(w, `<GetRoleResponse><GetRoleResult>%s</GetRoleResult></GetRoleResponse>`, roleXML(name))
	default:
		iamError(w, http.StatusBadRequest, "InvalidAction")
	}
}

func roleXML(name string) string {
	return `<Role><Path>/</Path><RoleName>` + name + `</RoleName><RoleId>AROAFAKE</RoleId><Arn>arn:aws:iam::123456789012:role/` +
		name + `</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role>`
}

func iamError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>fake %s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, code)
}

// fakeClient is an IAM client on srv with the SDK's standard retryer (three attempts), its
// back-off cut to nothing to keep the test quick.
func fakeClient(srv *httptest.Server) *iam.Client {
	return iam.New(iam.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		}),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
}

// createRole is how a test makes an IAM role: CreateRole, read back with GetRole.
func createRole(ctx context.Context, ic *iam.Client, name string) (string, error) {
	return CreateOnce(ctx, name,
		func(ctx context.Context) (string, error) {
			out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String("{}")})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.Role.Arn), nil
		},
		func(ctx context.Context) (string, error) {
			out, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.Role.Arn), nil
		})
}

// TestSDKRetryMeetsItsOwnCreate shows the flake CreateOnce exists for: with the answer lost,
// a bare CreateRole fails although the role was made, by the call itself.
func TestSDKRetryMeetsItsOwnCreate(t *testing.T) {
	fake := &fakeIAM{fakeOptions: fakeOptions{loseFirstAnswer: true}, roles: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	_, err := fakeClient(srv).CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String("{}")})
	if !AlreadyExists(err) || fake.creates != 2 || !fake.roles["r"] {
		t.Fatalf("CreateRole with its answer lost: err %v after %d attempts (role made: %v); want EntityAlreadyExists after 2", err, fake.creates, fake.roles["r"])
	}
}

func TestCreateOnce(t *testing.T) {
	name := Unique("role")
	want := "arn:aws:iam::123456789012:role/" + name
	tests := []struct {
		name          string
		fake          fakeOptions
		roleName      string
		wantErr       string // "" means success, with the role's ARN
		creates, gets int
	}{
		{name: "answer arrives", creates: 1},
		{name: "answer lost, the retry meets the role the first attempt made", fake: fakeOptions{loseFirstAnswer: true}, creates: 2, gets: 1},
		{name: "answer lost and the role gone before the read-back", fake: fakeOptions{loseFirstAnswer: true, goneAfterConflict: true},
			wantErr: "NoSuchEntity", creates: 2, gets: 1},
		{name: "any other error is the caller's", fake: fakeOptions{createFault: "MalformedPolicyDocument"}, wantErr: "MalformedPolicyDocument", creates: 1},
		{name: "a fixed name is refused before anything is made", roleName: "rotaudit-test-rotator", wantErr: "testenv.Unique"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeIAM{fakeOptions: tt.fake, roles: map[string]bool{}}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			role := name
			if tt.roleName != "" {
				role = tt.roleName
			}
			arn, err := createRole(context.Background(), fakeClient(srv), role)
			switch {
			case tt.wantErr == "" && (err != nil || arn != want):
				t.Errorf("got %q, %v; want %q", arn, err, want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %q, %v; want an error naming %s", arn, err, tt.wantErr)
			}
			if fake.creates != tt.creates || fake.gets != tt.gets {
				t.Errorf("%d CreateRole and %d GetRole calls, want %d and %d", fake.creates, fake.gets, tt.creates, tt.gets)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	apiErr := func(code string) error {
		return fmt.Errorf("operation error: %w", &smithy.GenericAPIError{Code: code, Message: "m"})
	}
	tests := []struct {
		name                    string
		err                     error
		alreadyExists, notFound bool
	}{
		{"IAM role exists", apiErr("EntityAlreadyExists"), true, false},
		{"DynamoDB table exists", apiErr("ResourceInUseException"), true, false},
		{"RDS instance exists", apiErr("DBInstanceAlreadyExists"), true, false},
		{"EventBridge bus exists", apiErr("ResourceAlreadyExistsException"), true, false},
		{"IAM role gone", apiErr("NoSuchEntity"), false, true},
		{"secret gone", apiErr("ResourceNotFoundException"), false, true},
		{"RDS cluster gone", apiErr("DBClusterNotFoundFault"), false, true},
		{"access denied is neither", apiErr("AccessDenied"), false, false},
		{"a plain error is neither", errors.New("EntityAlreadyExists"), false, false},
		{"nil is neither", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AlreadyExists(tt.err); got != tt.alreadyExists {
				t.Errorf("AlreadyExists = %v", got)
			}
			if got := NotFound(tt.err); got != tt.notFound {
				t.Errorf("NotFound = %v", got)
			}
			if got := IgnoreNotFound(tt.err); (got == nil) != (tt.err == nil || tt.notFound) {
				t.Errorf("IgnoreNotFound = %v", got)
			}
		})
	}
}
