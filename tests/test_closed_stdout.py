"""Output into a pipe whose reader has gone (``anaconda-anon-usage --paths |
head -1``) is no traceback: not from the tool, and not from ``conda
anon-usage`` (where conda's error report would blame the plugin), as conda's
own commands (``conda list | head -1``) print none. With PYTHONUNBUFFERED=1
(set in many container images and CI jobs) every line is written at once, so
the second line already meets the closed pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONDA = os.environ.get("AAU_TEST_CONDA", "")


def run_into_a_closed_pipe(command: list[str], home: Path) -> tuple[int, str]:
    """(exit code, stderr) of ``command`` whose stdout reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONUNBUFFERED": "1",
        "CONDA_SOLVER": "classic",
    }
    try:
        result = subprocess.run(
            command,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            timeout=300,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


@pytest.mark.parametrize("option", ["--paths", "--detail", "--json", "--random"])
def test_the_tool_into_a_closed_pipe_prints_no_traceback(home: Path, option: str):
    code, err = run_into_a_closed_pipe(
        [sys.executable, "-m", "anaconda_anon_usage", option], home
    )
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    assert code == 1


@pytest.mark.skipif(not CONDA, reason="AAU_TEST_CONDA is not set: no real conda")
@pytest.mark.parametrize("option", ["--detail", "--json"])
def test_conda_anon_usage_into_a_closed_pipe_prints_no_error_report(
    home: Path, option: str
):
    code, err = run_into_a_closed_pipe([CONDA, "anon-usage", option], home)
    assert "ERROR REPORT" not in err and "Traceback" not in err, err
    assert "BrokenPipeError" not in err, err
    assert code == 1
