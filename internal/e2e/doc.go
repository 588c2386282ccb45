// Package e2e holds the deployment test (`make e2e`): envs/local applied with Terraform to
// an AWS emulator and then used as an operator would use a first deployment on AWS. The
// database bootstrap runs through the function Terraform made (its built bootstrap behind
// aws-lambda-rie, with the environment Terraform gave it); the rates API reads the secret
// Terraform made while a steady load runs; every secret is rotated by the rotator Terraform
// configured for it (strategy and environment read from the outputs); CloudTrail-shaped
// events go through the EventBridge rules Terraform deployed to the auditor, whose findings
// arrive on the SNS subscription Terraform made; and `terraform destroy` must leave nothing
// behind. Each phase's time is printed.
//
// On moto the test plays the services that invoke the functions (it drives the rotation
// steps and hands matched events to the auditor, both behind aws-lambda-rie). On LocalStack
// (`make localstack-test`) the services do it themselves, through the rotaudit-host Lambda
// executor (localstack/README.md): RotateSecret makes Secrets Manager invoke the rotator, the
// rules' Lambda targets and the trail bucket's notification invoke the auditor.
// TestSecretsManagerDrivesRotation and TestSecretsManagerRotationFailure are the smallest
// such slices: one rotation, and one that fails in setSecret.
//
// The emulators' gaps met on the way are listed in emulatorGaps with AWS's behaviour; the
// test works around them in the test, never in the modules.
package e2e
