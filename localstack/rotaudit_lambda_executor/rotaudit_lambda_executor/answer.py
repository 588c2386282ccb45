"""Turns aws-lambda-rie's answer into what Lambda's Invoke returns.

Kept free of LocalStack imports so that the unit tests run on any Python.
"""

import json
from typing import NamedTuple

# aws-lambda-rie's whole answer when the function ran past its timeout (HTTP 200).
_RIE_TIMEOUT = b"Task timed out after"


class Answer(NamedTuple):
    payload: bytes
    # is_error: Invoke reports FunctionError "Unhandled" with payload as the error document.
    is_error: bool
    # restart: the runtime is gone or stuck; Lambda runs the next invocation in a fresh one.
    restart: bool


def classify(request_id: str, status: int, body: bytes, timeout_s: int) -> Answer:
    """What Lambda would answer for aws-lambda-rie's status and body."""
    if status == 200 and body.startswith(_RIE_TIMEOUT):
        # Lambda's error document for a timeout.
        err = {"errorType": "Sandbox.Timedout",
               "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"}
        return Answer(json.dumps(err).encode(), True, True)
    if status != 200:
        # 502: the runtime failed to initialise or exited during the invocation.
        err = _error_document(body)
        if err is None:
            detail = body.decode("utf-8", "replace")[:200]
            err = {"errorType": "Runtime.ExitError",
                   "errorMessage": f"RequestId: {request_id} Error: Runtime exited without providing a reason"
                   + (f" ({detail})" if detail else "")}
        return Answer(json.dumps(err).encode(), True, True)
    return Answer(body, _error_document(body) is not None, False)


def _error_document(body: bytes) -> dict | None:
    """The runtime API's error document (errorMessage and errorType, at most stackTrace,
    cause and requestId besides), or None. aws-lambda-rie answers 200 for a function error,
    so this shape is what tells an error from a result."""
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if (isinstance(doc, dict) and "errorMessage" in doc and "errorType" in doc
            and set(doc) <= {"errorMessage", "errorType", "stackTrace", "cause", "requestId"}):
        return doc
    return None
