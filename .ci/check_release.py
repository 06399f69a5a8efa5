"""Release checks: build the sdist and wheel, inspect the wheel, validate the
metadata, install the wheel into a fresh virtual environment and run the tool.

Usage: python .ci/check_release.py   (from the repository root; exits non-zero
with a message on the first problem)
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "anaconda_anon_usage"
REQUIRED = [f"{PACKAGE}/__init__.py", f"{PACKAGE}/plugin.py", f"{PACKAGE}/cli.py"]


def fail(message: str) -> None:
    sys.exit(f"release check failed: {message}")


def run(*command: str | Path, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True
    )
    if result.returncode != 0:
        fail(f"{' '.join(map(str, command))}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for required in REQUIRED:
            if required not in names:
                fail(f"{required} is missing from {wheel.name}")
        if any(name.startswith(("tests/", "benchmarks/")) for name in names):
            fail(f"{wheel.name} contains tests or benchmarks")
        if not any(name.endswith(".dist-info/licenses/LICENSE") for name in names):
            fail(f"LICENSE is missing from {wheel.name}")
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(entry_points).decode())
    if parser.get("conda", "anaconda-anon-usage", fallback=None) != f"{PACKAGE}.plugin":
        fail("the conda entry point is missing or wrong")
    script = parser.get("console_scripts", "anaconda-anon-usage", fallback=None)
    if script != f"{PACKAGE}.cli:main":
        fail("the console script entry point is missing or wrong")
    stats = parser.get("console_scripts", "aau-stats", fallback=None)
    if stats != f"{PACKAGE}.stats.cli:main":
        fail("the aau-stats entry point is missing or wrong")
    print(f"wheel contents ok: {len(names)} files, entry points, LICENSE, no tests")


def main() -> int:
    dist = Path(tempfile.mkdtemp(prefix="aau-dist-"))
    try:
        run(sys.executable, "-m", "build", "--outdir", dist, ".")
        [wheel] = dist.glob("*.whl")
        [sdist] = dist.glob("*.tar.gz")
        print(f"built {sdist.name} and {wheel.name}")
        check_wheel(wheel)
        print(
            run(
                sys.executable, "-m", "twine", "check", "--strict", wheel, sdist
            ).strip()
        )
        target = dist / "venv"
        venv.create(target, with_pip=True)
        run(target / "bin" / "python", "-m", "pip", "install", "-q", wheel)
        version = run(target / "bin" / "anaconda-anon-usage", "--version").strip()
        home = dist / "home"
        home.mkdir()
        line = subprocess.run(
            [target / "bin" / "anaconda-anon-usage"],
            capture_output=True,
            text=True,
            env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout.strip()
        if not line.startswith(f"aau/{version} c/"):
            fail(f"the installed tool printed {line!r}")
        print(f"installed wheel runs: {line.split()[0]} with tokens")
        hint = subprocess.run(
            [target / "bin" / "aau-stats", "totals"], capture_output=True, text=True
        )
        if hint.returncode != 2 or "anaconda-anon-usage[stats]" not in hint.stderr:
            fail(f"aau-stats without its extra said: {hint.stderr!r}")
        print("aau-stats without the stats extra says what to install")
    finally:
        shutil.rmtree(dist, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
