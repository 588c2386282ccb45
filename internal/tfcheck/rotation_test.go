package tfcheck

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckRotationStrategiesFindsPlantedMistakes(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "rotation", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	got := CheckRotationStrategies(m)
	want := []string{
		`resource.aws_secretsmanager_secret_rotation.admin rotates the master secret aws_secretsmanager_secret.admin with aws_lambda_function.rotator["alternating-users"], which may be alternating-users`,
		`resource.aws_secretsmanager_secret_rotation.app may rotate aws_secretsmanager_secret.app with alternating users (aws_lambda_function.rotator[var.app_strategy]), but its value has no masterarn`,
		`resource.aws_secretsmanager_secret_rotation.admin_again rotates the master secret aws_secretsmanager_secret.admin with aws_lambda_function.chosen, which may be alternating-users or single-user`,
		`resource.aws_secretsmanager_secret_rotation.external may rotate var.app_strategy with alternating users`,
		// The master has no masterarn either, so the same mistakes fail twice.
		`resource.aws_secretsmanager_secret_rotation.admin may rotate aws_secretsmanager_secret.admin with alternating users`,
		`resource.aws_secretsmanager_secret_rotation.admin_again may rotate aws_secretsmanager_secret.admin with alternating users`,
		`aws_secretsmanager_secret.orphan has no aws_secretsmanager_secret_rotation`,
		// Keyed by strategy and network: the key's beginning decides.
		`resource.aws_secretsmanager_secret_rotation.admin_keyed_alt rotates the master secret aws_secretsmanager_secret.admin with aws_lambda_function.keyed["alternating-users${var.suffix}"], which may be alternating-users:`,
		`resource.aws_secretsmanager_secret_rotation.admin_keyed_any rotates the master secret aws_secretsmanager_secret.admin with aws_lambda_function.keyed[local.chosen_key], which may be alternating-users or single-user`,
		`resource.aws_secretsmanager_secret_rotation.admin_keyed_alt may rotate aws_secretsmanager_secret.admin with alternating users`,
		`resource.aws_secretsmanager_secret_rotation.admin_keyed_any may rotate aws_secretsmanager_secret.admin with alternating users`,
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("no problem mentions %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

// TestRotationStrategiesFitTheirSecrets: in every module and root, each rotated secret
// can be rotated with its function's strategy (the master single-user; alternating users
// only where the secret has masterarn), for every value the strategy variables allow.
func TestRotationStrategiesFitTheirSecrets(t *testing.T) {
	repo(t)
	rotations := 0
	for _, m := range loadAll(t) {
		rotations += len(m.Blocks("resource", "aws_secretsmanager_secret_rotation"))
		t.Run(m.Dir, func(t *testing.T) {
			report(t, CheckRotationStrategies(m))
		})
	}
	if rotations < 2 {
		t.Fatalf("found %d aws_secretsmanager_secret_rotation resources: the app and admin rotations are missing", rotations)
	}
}
