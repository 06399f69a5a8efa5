"""The health-check helpers, without conda: one verdict per token location,
so the lines of ``conda doctor`` never contradict each other."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from conftest import read_only_bind, read_only_mount

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


def test_client_or_environment_need_reset(capsys):
    parser = argparse.ArgumentParser()
    controls.configure_parser(parser)
    for args in (["--client"], ["off", "--environment"]):
        assert controls.run(parser.parse_args(args)) == 2
        assert "go with reset only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["reset", "bogus"])


def test_client_without_reset_with_json_prints_one_json_document(capsys):
    parser = argparse.ArgumentParser()
    controls.configure_parser(parser)
    for args in (["--json", "--client"], ["on", "--environment", "--json"]):
        assert controls.run(parser.parse_args(args)) == 2
        out = capsys.readouterr().out
        data = json.loads(out)
        assert data == {"success": False, "error": controls.ONLY_RESET}


def test_reset_where_a_file_is_in_the_way_says_so(tmp_path: Path):
    """``~/.conda`` (or an environment's ``etc``) being a file: reset said
    "File exists", which names neither the file nor the problem."""
    (tmp_path / ".conda").write_text("not a directory")
    path = str(tmp_path / ".conda" / "aau_token")
    with pytest.raises(OSError) as raised:
        controls._reset_one("environment", path, True)
    assert raised.value.strerror == f"{tmp_path / '.conda'} is not a directory"
    assert (tmp_path / ".conda").read_text() == "not a directory"


def test_doctor_summary_agrees_with_a_valid_read_only_token(
    tmp_path: Path, monkeypatch, capsys
):
    """A valid token in a read-only home is kept and sent (its line is ✅):
    the last line must not then say it cannot be kept."""
    from anaconda_anon_usage import conda_settings
    from anaconda_anon_usage.config import Decision

    conda_dir = tmp_path / "home" / ".conda"
    conda_dir.mkdir(parents=True)
    (conda_dir / "aau_token").write_text(new_token() + "\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(controls, "_context", lambda: object())
    monkeypatch.setattr(
        conda_settings, "decide", lambda context: Decision(True, "default")
    )
    from conftest import read_only_bind

    with read_only_bind(conda_dir):
        controls.health_check(str(tmp_path / "not-an-env"), False)
    lines = capsys.readouterr().out.splitlines()
    client = next(line for line in lines if "client token" in line)
    assert client.startswith("✅") and "kept as it is" in client
    assert lines[-1].startswith("✅"), lines


def test_another_machines_client_token_is_not_called_valid(tmp_path: Path):
    """A copied home's client token (its host line names another machine)
    is never sent: renewed where it can be, left out where it cannot."""
    from anaconda_anon_usage.tokens import host_annotation, host_tag

    here = host_annotation("linux:this-machine")
    token = new_token()
    path = tmp_path / ".conda" / "aau_token"
    path.parent.mkdir()
    path.write_text(f"{token}\nhost {host_tag(token, 'linux:elsewhere')}\n")
    healthy, line, _ = controls.token_health("client", str(path), here)
    assert healthy and line.endswith("is another machine's (replaced on next use)")
    # the same file where nothing can be written
    ro = tmp_path / "ro-home"
    (ro / ".conda").mkdir(parents=True)
    (ro / ".conda" / "aau_token").write_text(path.read_text())
    with read_only_bind(ro):
        healthy, line, problem = controls.token_health(
            "client", str(ro / ".conda" / "aau_token"), here
        )
    assert not healthy and "another machine's and cannot be replaced" in line
    assert problem == f"{ro / '.conda'} is not writable"
    # the same machine, or no host line yet (adopted): valid
    path.write_text(f"{token}\nhost {host_tag(token, 'linux:this-machine')}\n")
    assert controls.token_health("client", str(path), here)[1].endswith("is valid")
    path.write_text(f"{token}\n")
    assert controls.token_health("client", str(path), here)[1].endswith("is valid")
