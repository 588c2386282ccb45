"""Fixes to LocalStack 4.14.0 where it fails a call AWS accepts, applied at its start.

Only what stops `terraform apply` of envs/local is fixed here, each narrowly, and each is a
row of the emulator table in localstack/README.md. Everything else LocalStack does unlike AWS
stays as it is, and the tests state AWS's behaviour.
"""

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def rotaudit_rotate_secret_schedule_only():
    """RotateSecret with RotateImmediately=false (what aws_secretsmanager_secret_rotation sends
    with rotate_immediately = false) answers 500 in LocalStack 4.14.0: its code stores the
    schedule and then returns a version id it only assigns when rotating now
    (UnboundLocalError). AWS stores the schedule and answers with the secret's ARN and name.
    The fix returns that answer after LocalStack's own code stored the schedule."""
    # LocalStack's own patch of rotate_secret is applied when its provider module loads;
    # load it first so this wraps it.
    import localstack.services.secretsmanager.provider  # noqa: F401
    from localstack.utils.patch import patch
    from moto.secretsmanager.models import SecretsManagerBackend

    @patch(SecretsManagerBackend.rotate_secret)
    def rotate_secret(fn, self, secret_id, client_request_token=None, rotation_lambda_arn=None,
                      rotation_rules=None, rotate_immediately=True):
        try:
            return fn(self, secret_id, client_request_token=client_request_token,
                      rotation_lambda_arn=rotation_lambda_arn, rotation_rules=rotation_rules,
                      rotate_immediately=rotate_immediately)
        except UnboundLocalError:
            if rotate_immediately:
                raise
            # No rotation started, so no new version to name.
            return self.secrets[secret_id].to_short_dict(include_version_id=False)

    LOG.info("rotaudit: RotateSecret with RotateImmediately=false answers as AWS does")


@hooks.on_infra_start()
def rotaudit_sns_empty_trace_header():
    """A function that publishes to SNS sends an empty X-Amzn-Trace-Id here (aws-lambda-rie
    hands the runtime no trace id, and the AWS SDK for Go then sends the header empty).
    LocalStack 4.14.0's SNS forwards it to SQS subscriptions as the AWSTraceHeader system
    attribute, which its own SQS rejects as empty, so the message is dropped. AWS always
    gives a function a trace id; the fix forwards the header only when it has a value."""
    from localstack.services.sns import publisher

    original = publisher.create_sqs_system_attributes

    def create_sqs_system_attributes(headers):
        if "X-Amzn-Trace-Id" in headers and not str(headers["X-Amzn-Trace-Id"]).strip():
            return {}  # AWSTraceHeader is the only attribute it makes
        return original(headers)

    publisher.create_sqs_system_attributes = create_sqs_system_attributes
    LOG.info("rotaudit: SNS forwards no empty trace header to SQS")
