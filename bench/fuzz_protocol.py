"""The full hostile-input run: 10⁵ generated messages through ``Endpoint.handle`` (CI runs 10⁴).

Runs ``tests/test_fuzz_protocol.py`` (see its docstring for what each message gets and what is
asserted) with ``VOXWIDGET_FUZZ_MESSAGES`` set, and reports the count and the time.

    .venv/bin/python bench/fuzz_protocol.py [--messages 100000]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    env = dict(os.environ, VOXWIDGET_FUZZ_MESSAGES=str(args.messages))
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_fuzz_protocol.py", "-q", "-s", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    lines = [line for line in done.stdout.splitlines() if line.startswith("fuzz:") or "passed" in line]
    print("\n".join(lines) or done.stdout[-3000:])
    if done.returncode:
        print(done.stdout[-5000:], done.stderr[-2000:], sep="\n")
    print(f"fuzz_protocol: {args.messages} messages requested, exit {done.returncode}, {seconds:.1f} s wall")
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
