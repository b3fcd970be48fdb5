"""A stop that lands in a finaliser (where Python can only print "Exception ignored") still stops
the command, with its one line and exit code and no traceback."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT

SWALLOWED = """
import argparse, signal, sys, time
from tamales_inc.core.cli import run_command, Terminated

class Finaliser:
    def __del__(self):
        raise {stop}()

def command(args):
    Finaliser()  # CPython finalises it at once: the stop is raised inside __del__
    print("finalised", flush=True)
    time.sleep(20)
    return 0

sys.exit(run_command("demo", argparse.ArgumentParser(), command, []))
"""


@pytest.mark.parametrize(
    ("stop", "code", "line"),
    [("Terminated", 143, "demo: terminated;"), ("KeyboardInterrupt", 130, "demo: interrupted;")],
)
def test_a_stop_swallowed_by_a_finaliser_is_delivered_again(
    stop: str, code: int, line: str
) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SWALLOWED.format(stop=stop)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, time.monotonic() - started < 15) == (code, True), done.stderr
    assert done.stdout == "finalised\n"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(line), done.stderr
