"""The health-check helpers, without conda: one verdict per token location,
so the lines of ``conda doctor`` never contradict each other."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from conftest import read_only_mount

from anaconda_anon_usage import controls
from anaconda_anon_usage.tokens import new_token


def test_token_health(tmp_path: Path):
    path = tmp_path / "aau_token"
    assert controls.token_health("client", None) == (
        False,
        "client token: no home directory, so none is kept",
        None,
    )
    assert controls.token_health("client", str(path))[1].endswith(
        "not yet created (made on first use)"
    )
    path.write_text("junk")
    assert controls.token_health("client", str(path))[1].endswith(
        "is malformed (replaced on next use)"
    )
    path.write_text(new_token())
    assert controls.token_health("client", str(path)) == (
        True,
        f"client token: {path} is valid",
        None,
    )
    path.unlink()
    path.mkdir()
    healthy, line, _ = controls.token_health("client", str(path))
    assert not healthy and "cannot be used" in line


def test_a_read_only_place_is_never_made_on_first_use(tmp_path: Path):
    with read_only_mount(tmp_path / "ro") as directory:
        healthy, line, problem = controls.token_health(
            "client", str(directory / ".conda" / "aau_token")
        )
    assert not healthy
    assert "first use" not in line and "cannot be made" in line
    assert problem == f"{directory} is not writable"


def test_a_file_in_the_way_is_no_directory(tmp_path: Path):
    (tmp_path / ".conda").write_text("a file\n")
    healthy, line, problem = controls.token_health(
        "client", str(tmp_path / ".conda" / "aau_token")
    )
    assert not healthy
    assert problem == f"{tmp_path / '.conda'} is not a directory"
    assert line.endswith(f"cannot be used: {problem}")


def test_cannot_write_looks_at_the_nearest_existing_directory(tmp_path: Path):
    assert controls._cannot_write(str(tmp_path / "not" / "yet" / "aau_token")) is None
    with read_only_mount(tmp_path / "ro") as directory:
        assert controls._cannot_write(str(directory / ".conda" / "aau_token"))


def test_name_and_prefix_on_both_sides_of_the_action_are_refused(capsys):
    args = argparse.Namespace(name="a", prefix="/b", anon_usage_action="reset")
    assert controls.run(args) == 2
    assert "not allowed with argument -n/--name" in capsys.readouterr().err


def test_reset_target_is_not_overridden_by_the_action(capsys):
    parser = argparse.ArgumentParser()
    controls.configure_parser(parser)
    args = parser.parse_args(["-p", "/env", "reset", "--environment"])
    assert args.prefix == "/env" and args.name is None
    args = parser.parse_args(["reset", "-n", "x"])
    assert args.name == "x" and args.prefix is None
    with pytest.raises(SystemExit):
        parser.parse_args(["-n", "x", "-p", "/env"])
