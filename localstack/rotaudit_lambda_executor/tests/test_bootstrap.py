"""Unit tests of the executor's checks on a deployed zip; no LocalStack needed.

python3 -m unittest discover -s localstack/rotaudit_lambda_executor/tests
"""

import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rotaudit_lambda_executor.bootstrap import (  # noqa: E402
    NotRunnable,
    check_bootstrap,
    check_runtime,
)

X86_64, ARM64 = 62, 183


def elf(machine: int) -> bytes:
    # ELF64 little-endian header up to e_machine: magic, class, data, version, padding, type.
    return b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + (2).to_bytes(2, "little") + machine.to_bytes(2, "little")


class CheckRuntime(unittest.TestCase):
    def test_cases(self):
        cases = [
            ("provided.al2023 zip", "provided.al2023", "Zip", None),
            ("provided.al2 zip", "provided.al2", "Zip", None),
            ("python", "python3.12", "Zip", "python3.12"),
            ("go1.x, retired", "go1.x", "Zip", "go1.x"),
            ("image", None, "Image", "package type Image"),
        ]
        for name, runtime, package, err in cases:
            with self.subTest(name):
                if err is None:
                    check_runtime("fn", runtime, package)
                else:
                    with self.assertRaisesRegex(NotRunnable, err):
                        check_runtime("fn", runtime, package)


class CheckBootstrap(unittest.TestCase):
    def write(self, content: bytes, name: str = "bootstrap", mode: int = 0o755) -> Path:
        d = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: [p.unlink() for p in d.iterdir()] and None or d.rmdir())
        p = d / name
        p.write_bytes(content)
        os.chmod(p, mode)
        return d

    def test_cases(self):
        cases = [
            ("host binary", elf(X86_64), "bootstrap", 0o755, X86_64, None),
            ("other CPU", elf(ARM64), "bootstrap", 0o755, X86_64, "built for arm64 but this host runs x86_64"),
            ("arm64 on arm64", elf(ARM64), "bootstrap", 0o755, ARM64, None),
            ("script", b"#!/bin/sh\nexit 1\n", "bootstrap", 0o755, X86_64, "bootstrap is a script"),
            ("not ELF", b"PK\x03\x04", "bootstrap", 0o755, X86_64, "not an ELF executable"),
            ("no bootstrap", elf(X86_64), "main", 0o755, X86_64, r"no file named bootstrap .*'main'"),
            ("not executable", elf(X86_64), "bootstrap", 0o644, X86_64, "not executable"),
        ]
        for name, content, fname, mode, host, err in cases:
            with self.subTest(name):
                d = self.write(content, fname, mode)
                if err is None:
                    self.assertEqual(check_bootstrap("fn", d, host), d / "bootstrap")
                else:
                    with self.assertRaisesRegex(NotRunnable, err):
                        check_bootstrap("fn", d, host)


if __name__ == "__main__":
    unittest.main()
