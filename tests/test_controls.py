"""The health-check helpers, without conda."""

from __future__ import annotations

from pathlib import Path

from conftest import read_only_mount

from anaconda_anon_usage import controls
from anaconda_anon_usage.tokens import new_token


def test_file_lines(tmp_path: Path):
    path = tmp_path / "aau_token"
    assert controls._file_line("client", None) == (
        False,
        "client token: no home directory, so none can be kept",
    )
    assert controls._file_line("client", str(path))[1].endswith(
        "not yet created (made on first use)"
    )
    path.write_text("junk")
    assert controls._file_line("client", str(path))[1].endswith(
        "is malformed (replaced on next use)"
    )
    path.write_text(new_token())
    assert controls._file_line("client", str(path)) == (
        True,
        f"client token: {path} is valid",
    )
    path.unlink()
    path.mkdir()
    healthy, line = controls._file_line("client", str(path))
    assert not healthy and "cannot be used" in line


def test_writable_looks_at_the_nearest_existing_directory(tmp_path: Path):
    assert controls._writable(str(tmp_path / "not" / "yet" / "aau_token"))
    with read_only_mount(tmp_path / "ro") as directory:
        assert not controls._writable(str(directory / ".conda" / "aau_token"))
