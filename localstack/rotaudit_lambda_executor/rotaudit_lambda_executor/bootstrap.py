"""Checks that a deployed function is something a host process can run.

Kept free of LocalStack imports so that the unit tests run on any Python.
"""

import os
import platform
from pathlib import Path

# The runtimes whose zip holds an executable named bootstrap that implements the Lambda
# runtime API itself. The managed runtimes (python3.x, nodejs..., java...) need the language
# runtime of Lambda's images, which a host process does not have.
PROVIDED_RUNTIMES = ("provided.al2023", "provided.al2")

# ELF e_machine values (System V ABI) of the hosts this runs on, by platform.machine().
_ELF_MACHINE = {"x86_64": 62, "amd64": 62, "aarch64": 183, "arm64": 183}
_ELF_NAMES = {62: "x86_64", 183: "arm64"}


class NotRunnable(Exception):
    """The function cannot run as a host process; the message says why and what to do."""


def check_runtime(function_name: str, runtime: str | None, package_type: str | None) -> None:
    """Refuses anything but a zip for a provided.* runtime."""
    if package_type and package_type != "Zip":
        raise NotRunnable(
            f"function {function_name}: package type {package_type} is not supported by the "
            f"rotaudit-host executor, which runs a zip's bootstrap as a host process "
            f"(use runtime {' or '.join(PROVIDED_RUNTIMES)} with a zip)"
        )
    if runtime not in PROVIDED_RUNTIMES:
        raise NotRunnable(
            f"function {function_name}: runtime {runtime!r} is not supported by the rotaudit-host "
            f"executor: it runs only {' and '.join(PROVIDED_RUNTIMES)} zips, whose bootstrap is "
            f"a self-contained executable (LAMBDA_RUNTIME_EXECUTOR=docker runs the others)"
        )


def host_elf_machine() -> int | None:
    """The ELF machine of this host, None when it is not one this module knows."""
    return _ELF_MACHINE.get(platform.machine().lower())


def check_bootstrap(function_name: str, code_dir: Path, host_machine: int | None = None) -> Path:
    """Returns the path of the zip's bootstrap after checking that this host can execute it."""
    path = Path(code_dir) / "bootstrap"
    if not path.is_file():
        found = sorted(p.name for p in Path(code_dir).iterdir())[:10] if Path(code_dir).is_dir() else []
        raise NotRunnable(
            f"function {function_name}: the zip has no file named bootstrap at its root "
            f"(found {found}); a provided.al2023 zip must hold the executable as ./bootstrap"
        )
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        kind = "a script" if head[:2] == b"#!" else "not an ELF executable"
        raise NotRunnable(
            f"function {function_name}: bootstrap is {kind}; the rotaudit-host executor runs "
            f"only compiled bootstraps (GOOS=linux go build -tags lambda.norpc -o bootstrap)"
        )
    little = head[5] == 1
    machine = int.from_bytes(head[18:20], "little" if little else "big")
    want = host_elf_machine() if host_machine is None else host_machine
    if want is not None and machine != want:
        raise NotRunnable(
            f"function {function_name}: bootstrap is built for "
            f"{_ELF_NAMES.get(machine, f'ELF machine {machine}')} but this host runs "
            f"{_ELF_NAMES.get(want, platform.machine())}, and a host process cannot emulate "
            f"another CPU; build the zip for this host (scripts/package.sh with "
            f"PACKAGE_GOARCH={_ELF_NAMES.get(want, platform.machine()).replace('x86_64', 'amd64')})"
        )
    if not os.access(path, os.X_OK):
        raise NotRunnable(
            f"function {function_name}: bootstrap is not executable (the zip entry needs mode 0755)"
        )
    return path
