"""A LocalStack 4.14.0 Lambda runtime executor that needs no Docker.

LocalStack chooses how it runs a function through a plugin in the
``localstack.lambda.runtime_executor`` namespace (``LAMBDA_RUNTIME_EXECUTOR`` names it). The
built-in ``docker`` executor downloads LocalStack's runtime init and starts a container per
execution environment. This one runs the function's ``bootstrap`` (a static binary from a
``provided.al2023`` or ``provided.al2`` zip) as a process on the host, behind AWS's runtime
interface emulator (aws-lambda-rie), with the environment LocalStack computed for it.

It implements the executor contract directly instead of LocalStack's init: ``start`` returns
when the environment accepts invocations, ``invoke`` returns the function's answer. The init's
callbacks to LocalStack (``/_localstack_lambda/<id>/...``) exist only to carry those two facts
out of a container, and a host process can hand them over in-process.
"""

SUPPORTED_LOCALSTACK_VERSION = "4.14.0"
