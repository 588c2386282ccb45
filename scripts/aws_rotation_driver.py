"""Runs one of AWS's rotation functions in a long-lived process for the rotation benchmark.

make bench-rotation (functions/rotator/bench_aws_test.go) starts it with the folder of an
AWS function (SecretsManagerRDSPostgreSQLRotationSingleUser or ...MultiUser of a checkout
of aws-samples/aws-secrets-manager-rotation-lambdas, named by AWS_ROTATION_LAMBDAS): it
imports that folder's lambda_function once, as a warm Lambda keeps it, then reads one
rotation event per line on stdin and calls lambda_handler(event, None) for it. Each answer
is one JSON line on the protocol stream: {"ok": true} or {"error": "..."}, with the
process's peak resident set so far (VmHWM, KiB). The first line, before any event, is
{"ready": true, "import_ms": ...}.

The function's own output (its logger, a print) goes to stderr, so the protocol stream
carries answers only. This file is ours: it holds none of AWS's code.
"""

import json
import os
import sys
import time


def peak_rss_kib():
    """VmHWM of this process, in KiB, or 0 where /proc has no such line."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: aws_rotation_driver.py FUNCTION_DIR (the folder holding lambda_function.py)")
    folder = sys.argv[1]
    # Answers go to a copy of stdout; anything the function prints goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.insert(0, folder)
    start = time.perf_counter()
    import lambda_function  # noqa: E402 (the folder is known only now)

    answers.write(json.dumps({"ready": True, "import_ms": (time.perf_counter() - start) * 1000}) + "\n")
    answers.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            lambda_function.lambda_handler(json.loads(line), None)
            answer = {"ok": True}
        except Exception as e:  # the benchmark reports it and stops
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        answer["vmhwm_kib"] = peak_rss_kib()
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
