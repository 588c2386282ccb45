"""HostRuntimeExecutor: one execution environment = one aws-lambda-rie process on the host.

What LocalStack's Go init does in a container, and where it is done here:

- it waits for the runtime to be ready and posts ``/status/<id>/ready``: here ``start``
  returns once aws-lambda-rie accepts connections (``ExecutionEnvironment.start`` only needs
  ``start`` to return);
- it receives ``POST :9563/invoke`` with ``invoke-id``, ``invoked-function-arn``, ``payload``
  and ``trace-id`` and posts the answer to ``/invocations/<id>/response`` or ``/error``: here
  ``invoke`` posts the payload to aws-lambda-rie's Invoke endpoint (the request id and trace
  header pass through as headers) and returns the ``InvocationResult`` itself;
- it posts the invocation's log lines to ``/invocations/<id>/logs``: here the lines between
  aws-lambda-rie's ``START`` and ``REPORT`` for the request go into the result's ``logs``,
  which LocalStack then writes to the function's CloudWatch log group.
"""

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import weakref
from importlib import metadata
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from rotaudit_lambda_executor import SUPPORTED_LOCALSTACK_VERSION
from rotaudit_lambda_executor.answer import classify
from rotaudit_lambda_executor.bootstrap import NotRunnable, check_bootstrap, check_runtime

LOG = logging.getLogger(__name__)

# ENV_RIE names the aws-lambda-rie binary (scripts/install-rie.sh installs it; scripts/
# localstack.sh sets this). Nothing is downloaded at run time.
ENV_RIE = "ROTAUDIT_LAMBDA_RIE"
# ENV_EXTRA adds variables to every function's environment, K=V separated by commas, beneath
# the function's own: the endpoints of the services LocalStack does not serve here
# (AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_RDS of the moto beside it), which on AWS
# need no variable at all.
ENV_EXTRA = "ROTAUDIT_LAMBDA_ENV"
# How long aws-lambda-rie may take to listen; it starts in milliseconds, the margin is for a
# busy machine.
LISTEN_TIMEOUT_S = 20.0
# Log lines kept per environment for get_logs (LocalStack prints them after a failed start).
MAX_LOG_LINES = 5000

_live: "weakref.WeakSet[HostRuntimeExecutor]" = weakref.WeakSet()


def _stop_all() -> None:
    # LocalStack stops its environments on a clean shutdown; this covers the rest, so no
    # function process outlives the LocalStack that started it.
    for ex in list(_live):
        ex.stop()


atexit.register(_stop_all)


def _check_localstack_version() -> None:
    have = metadata.version("localstack-core")
    if have != SUPPORTED_LOCALSTACK_VERSION:
        raise LambdaRuntimeException(
            f"the rotaudit-host Lambda executor is written against LocalStack "
            f"{SUPPORTED_LOCALSTACK_VERSION}'s executor interface and this is {have}: "
            f"reinstall it with scripts/localstack.sh, or unset LAMBDA_RUNTIME_EXECUTOR"
        )


def rie_path() -> str:
    """The aws-lambda-rie binary, from ROTAUDIT_LAMBDA_RIE or PATH."""
    path = os.environ.get(ENV_RIE) or shutil.which("aws-lambda-rie")
    if not path or not os.access(path, os.X_OK):
        raise LambdaRuntimeException(
            f"aws-lambda-rie not found (looked at {ENV_RIE}={os.environ.get(ENV_RIE, '')!r} and "
            f"PATH): install it with scripts/install-rie.sh and set {ENV_RIE} to the path it prints"
        )
    return path


def extra_env() -> dict[str, str]:
    """The variables ROTAUDIT_LAMBDA_ENV adds to every function."""
    out = {}
    for item in filter(None, (p.strip() for p in os.environ.get(ENV_EXTRA, "").split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise LambdaRuntimeException(f"{ENV_EXTRA}: {item!r} is not NAME=VALUE")
        out[k] = v
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gateway_host() -> str:
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _children(ppid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            s = stat.read_text()
        except OSError:
            continue
        fields = s[s.rfind(")") + 2 :].split()
        if len(fields) >= 2 and fields[1] == str(ppid):
            out.append(int(stat.parent.name))
    return out


class HostRuntimeExecutor(RuntimeExecutor):
    """Runs a provided.al2023 bootstrap as a host process behind aws-lambda-rie."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.env: dict[str, str] = {}
        self._lines: list[str] = []
        self._lines_cond = threading.Condition()
        self._reader: threading.Thread | None = None

    # Version lifecycle -------------------------------------------------------------------

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        """Unzips the code and checks it can run here; an exception makes the function Failed
        with the message as its StateReason, as CreateFunction's caller sees it."""
        _check_localstack_version()
        cfg = function_version.config
        name = function_version.id.function_name
        try:
            check_runtime(name, cfg.runtime, cfg.package_type)
            if not cfg.code:
                raise NotRunnable(f"function {name}: it has no code")
            cfg.code.prepare_for_execution()
            check_bootstrap(name, cfg.code.get_unzipped_code_location())
        except NotRunnable as e:
            raise LambdaRuntimeException(str(e)) from None
        rie_path()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        # Nothing of ours to remove: LocalStack deletes the unzipped code with the version.
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        try:
            _check_localstack_version()
            rie_path()
        except LambdaRuntimeException as e:
            LOG.warning("rotaudit-host Lambda executor: %s", e)
            return False
        if not shutil.which("prlimit"):
            LOG.warning("rotaudit-host Lambda executor: prlimit not found; functions run without a memory limit")
        return True

    # Environment lifecycle ---------------------------------------------------------------

    def start(self, env_vars: dict[str, str]) -> None:
        cfg = self.function_version.config
        code_dir = Path(cfg.code.get_unzipped_code_location())
        bootstrap = check_bootstrap(self.function_version.id.function_name, code_dir)
        # The function sees what Lambda gives a provided.al2023 process: LocalStack's
        # variables (credentials, region, AWS_ENDPOINT_URL, its own Environment) and a
        # plain PATH; nothing of LocalStack's own environment (its proxies, its config).
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "HOME": str(code_dir)}
        env.update(extra_env())
        env.update({k: str(v) for k, v in env_vars.items() if v is not None})
        env["LAMBDA_TASK_ROOT"] = str(code_dir)
        env["LAMBDA_RUNTIME_DIR"] = str(code_dir)
        self.env = env
        self._spawn(bootstrap, code_dir)

    def _spawn(self, bootstrap: Path, code_dir: Path) -> None:
        cfg = self.function_version.config
        self.port = _free_port()
        cmd = [
            rie_path(),
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
            "--runtime-api-address", f"127.0.0.1:{_free_port()}",
            "--log-level", "error",
        ]
        prlimit = shutil.which("prlimit")
        if prlimit and cfg.memory_size:
            # The memory setting as the bootstrap's data limit (heap and anonymous mappings),
            # applied to the function only, not to aws-lambda-rie: past it allocations fail
            # and the process dies, as Lambda ends a function that exceeds its memory.
            cmd += [prlimit, f"--data={int(cfg.memory_size) * 1024 * 1024}", "--"]
        cmd.append(str(bootstrap))
        LOG.debug("rotaudit-host: starting %s for %s", cmd, self.function_version.qualified_arn)
        self.process = subprocess.Popen(
            cmd,
            cwd=code_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _live.add(self)
        self._reader = threading.Thread(target=self._read_output, args=(self.process,), daemon=True,
                                        name=f"rotaudit-host-{self.id}")
        self._reader.start()
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise LambdaRuntimeException(
                    f"aws-lambda-rie for {self.function_version.qualified_arn} exited with "
                    f"{self.process.returncode} before it listened:\n{self.get_logs()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise LambdaRuntimeException(
                        f"aws-lambda-rie for {self.function_version.qualified_arn} did not "
                        f"listen on 127.0.0.1:{self.port} within {LISTEN_TIMEOUT_S:.0f} s"
                    )
                time.sleep(0.01)

    def _read_output(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lines_cond:
                self._lines.append(line)
                if len(self._lines) > MAX_LOG_LINES:
                    del self._lines[: len(self._lines) - MAX_LOG_LINES]
                self._lines_cond.notify_all()

    def stop(self) -> None:
        proc, self.process = self.process, None
        _live.discard(self)
        if proc is None or proc.poll() is not None:
            return
        # aws-lambda-rie puts the bootstrap in a process group of its own: end it first,
        # then aws-lambda-rie's group.
        for pid in _children(proc.pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            LOG.warning("rotaudit-host: aws-lambda-rie pid %d did not exit after SIGKILL", proc.pid)

    # Addresses ----------------------------------------------------------------------------

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        # The function runs on the same host as LocalStack: its gateway address as is.
        return _gateway_host()

    def get_runtime_endpoint(self) -> str:
        # Unused (no init calls back), but part of the interface and of the environment.
        return f"http://{_gateway_host()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        with self._lines_cond:
            return "\n".join(self._lines)

    # Invocation ---------------------------------------------------------------------------

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        if self.process is None:
            raise LambdaRuntimeException(f"execution environment {self.id} is not running")
        request_id = payload["invoke-id"]
        timeout_s = int(self.function_version.config.timeout or 3)
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations",
            data=(payload.get("payload") or "").encode(),
            method="POST",
            headers={"Content-Type": "application/json", "X-Amzn-RequestId": request_id,
                     "X-Amzn-Trace-Id": payload.get("trace-id") or ""},
        )
        # No proxy for loopback, whatever LocalStack's environment says.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            # aws-lambda-rie enforces the function timeout (AWS_LAMBDA_FUNCTION_TIMEOUT); the
            # margin here only bounds a wedged emulator.
            with opener.open(req, timeout=timeout_s + 30) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        except OSError as e:
            raise LambdaRuntimeException(f"invoke {request_id} on aws-lambda-rie: {e}") from e
        answer = classify(request_id, status, body, timeout_s)
        result = InvocationResult(request_id, answer.payload, is_error=answer.is_error,
                                  logs=self._logs_for(request_id))
        if answer.restart:
            # After a timeout or a crash Lambda starts the next invocation in a fresh runtime;
            # so does this: a new aws-lambda-rie with the same bootstrap and environment.
            code_dir = Path(self.function_version.config.code.get_unzipped_code_location())
            self.stop()
            self._spawn(code_dir / "bootstrap", code_dir)
        return result

    def _logs_for(self, request_id: str, wait_s: float = 2.0) -> str:
        """The output lines of one invocation, from START to REPORT. aws-lambda-rie prints
        REPORT after it answered, so wait a moment for it."""
        start, end = f"START RequestId: {request_id}", f"REPORT RequestId: {request_id}"
        deadline = time.monotonic() + wait_s
        with self._lines_cond:
            while not any(line.startswith(end) for line in self._lines[-200:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lines_cond.wait(left)
            lines = self._lines
            first = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith(start)), None)
            if first is None:
                return ""
            out = []
            for line in lines[first:]:
                out.append(line)
                if line.startswith(end):
                    break
            return "\n".join(out) + "\n"
