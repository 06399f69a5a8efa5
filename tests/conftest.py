"""Shared fixtures: every test gets its own HOME and a clean environment."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from anaconda_anon_usage import pending

CLEARED_VARIABLES = (
    "CONDA_PREFIX",
    "CONDA_ROOT",
    "CONDARC",
    "XDG_CONFIG_HOME",
    "DO_NOT_TRACK",
    "CONDA_ANACONDA_ANON_USAGE",
    "ANACONDA_ANON_USAGE_DEBUG",
    "ANACONDA_ANON_USAGE_INSTALLER_TOKEN",
    "ANACONDA_ANON_USAGE_ORG_TOKEN",
    "ANACONDA_ANON_USAGE_MACHINE_TOKEN",
)


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(pending, "_pending", {})
    monkeypatch.setattr(pending, "target", None)
    monkeypatch.setattr(pending, "held", None)
    monkeypatch.setattr(pending, "_sent", {})
    return home


@contextlib.contextmanager
def tmpfs_mount(path: Path, options: str) -> Iterator[Path]:
    """Mount an empty tmpfs with ``options`` on ``path`` (skip where not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here: {result.stderr.strip()}")
    try:
        yield path
    finally:
        # lazily where something still holds a file there (a JVM's writer)
        if subprocess.run(["umount", str(path)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(path)], check=False)


def read_only_mount(path: Path) -> contextlib.AbstractContextManager[Path]:
    """An empty read-only tmpfs on ``path`` (root ignores file modes)."""
    return tmpfs_mount(path, "ro")


@contextlib.contextmanager
def read_only_bind(path: Path) -> Iterator[Path]:
    """Make an existing directory read-only in place with a bind mount."""
    for command in (
        ["mount", "--bind", str(path), str(path)],
        ["mount", "-o", "remount,ro,bind", str(path)],
    ):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            subprocess.run(["umount", str(path)], check=False)
            pytest.skip(f"cannot bind-mount read-only here: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def make_conda_env(prefix: Path) -> Path:
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").touch()
    return prefix


@pytest.fixture
def conda_env(tmp_path: Path) -> Path:
    return make_conda_env(tmp_path / "env")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",  # tiny data: few tasks
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
}


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    """One local Spark for every Spark test (start-up costs seconds). In CI
    (CI set) a missing pyspark or Java fails instead of skipping."""
    try:
        from anaconda_anon_usage.stats.spark.session import get_session
    except ImportError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {error}")
        pytest.skip(f"the Spark tests need the spark extra: {error}")
    try:
        session = get_session("local[2]", SPARK_TEST_CONF)
    except Exception as error:  # no Java: pyspark raises its own error types
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {error}")
        pytest.skip(f"the Spark tests need a Java runtime: {error}")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
