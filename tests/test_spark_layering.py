"""pyspark is loaded by the Spark engine only: never by the plugin side, the
``aau-stats`` command line or the local engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("polars", reason="the counting side needs the stats extra")

LOCAL_ENGINE = [
    "anaconda_anon_usage",
    "anaconda_anon_usage.cli",
    "anaconda_anon_usage.conda_adapter",
    "anaconda_anon_usage.stats.cli",
    "anaconda_anon_usage.stats.lineformat",
    "anaconda_anon_usage.stats.frames",
    "anaconda_anon_usage.stats.ingest",
    "anaconda_anon_usage.stats.totals",
    "anaconda_anon_usage.stats.report",
    "anaconda_anon_usage.stats.synthetic",
]


def _loaded(code: str) -> set[str]:
    code += "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_no_local_module_imports_pyspark():
    loaded = _loaded(f"for m in {LOCAL_ENGINE!r}: __import__(m)")
    assert "anaconda_anon_usage.stats.cli" in loaded  # the check can fail
    assert not {m for m in loaded if m.split(".")[0] in ("pyspark", "py4j")}
    assert not any(m.startswith("anaconda_anon_usage.stats.spark") for m in loaded)


def test_a_local_run_never_loads_pyspark(tmp_path: Path):
    code = (
        "from anaconda_anon_usage.stats.cli import main\n"
        f"main(['sample', {str(tmp_path / 'logs')!r}, '--weeks', '1', '--clients', '10'])\n"
        f"main(['ingest', '--db', {str(tmp_path / 'raw')!r}, "
        f"{str(tmp_path / 'logs' / 'access-2026-10-05.log')!r}])\n"
        f"main(['totals', '--db', {str(tmp_path / 'raw')!r}, '--out', {str(tmp_path / 'out')!r}])\n"
    )
    loaded = _loaded(code)
    assert "anaconda_anon_usage.stats.ingest" in loaded
    assert "pyspark" not in loaded and "py4j" not in loaded


def test_the_spark_package_is_only_imported_inside_itself():
    package = Path(__file__).parent.parent / "src" / "anaconda_anon_usage"
    for module in package.rglob("*.py"):
        if "spark" in module.relative_to(package).parts:
            continue
        text = module.read_text()
        assert "pyspark" not in text, module
        if module.name != "cli.py":  # the command line chooses the engine
            assert ".spark" not in text, module
