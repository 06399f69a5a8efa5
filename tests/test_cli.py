"""The command-line tool prints exactly what would be sent."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from anaconda_anon_usage import __version__
from anaconda_anon_usage.cli import main
from anaconda_anon_usage.tokens import is_valid_token, read_token_file

LINE = re.compile(
    rf"^aau/{re.escape(__version__)} c/[\w-]{{22}} s/[\w-]{{22}} e/[\w-]{{22}}$"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_prints_the_token_string(capsys, home: Path, conda_env: Path):
    out = run(capsys, "--prefix", str(conda_env)).strip()
    assert LINE.match(out), out
    client = read_token_file(str(home / ".conda" / "aau_token")).token
    env = (conda_env / "etc" / "aau_token").read_text().strip()
    assert f" c/{client} " in out and out.endswith(f" e/{env}")


def test_uses_the_active_environment(capsys, monkeypatch, conda_env: Path):
    monkeypatch.setenv("CONDA_PREFIX", str(conda_env))
    out = run(capsys).strip()
    assert out.endswith("e/" + (conda_env / "etc" / "aau_token").read_text().strip())


def test_detail_names_each_source(capsys, home: Path, conda_env: Path):
    lines = run(capsys, "--detail", "-p", str(conda_env)).splitlines()
    assert LINE.match(lines[0])
    assert lines[1] == "# enabled (decided by: default)"
    assert lines[2].endswith(str(home / ".conda" / "aau_token"))
    assert "session: memory" in lines[3]
    assert lines[4].endswith(str(conda_env / "etc" / "aau_token"))


def test_json(capsys, conda_env: Path):
    data = json.loads(run(capsys, "--json", "-p", str(conda_env)))
    assert LINE.match(data["user_agent"])
    assert data["enabled"] is True
    assert [t["kind"] for t in data["tokens"]] == ["c", "s", "e"]
    assert data["user_agent"].endswith("e/" + data["tokens"][2]["value"])


def test_disabled_sends_version_only_and_creates_nothing(
    capsys, monkeypatch, home: Path, conda_env: Path
):
    (home / ".condarc").write_text("anaconda_anon_usage: off\n")
    assert run(capsys, "-p", str(conda_env)).strip() == f"aau/{__version__}"
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    (home / ".condarc").unlink()
    detail = run(capsys, "--detail", "-p", str(conda_env)).splitlines()
    assert detail == [f"aau/{__version__}", "# disabled (decided by: DO_NOT_TRACK)"]
    assert not (home / ".conda").exists()
    assert not (conda_env / "etc").exists()


def test_random(capsys):
    first, second = run(capsys, "--random").strip(), run(capsys, "--random").strip()
    assert is_valid_token(first) and is_valid_token(second) and first != second


def test_paths(capsys, home: Path, conda_env: Path):
    (home / ".condarc").write_text("channels: [defaults]\n")
    lines = run(capsys, "--paths", "-p", str(conda_env)).splitlines()
    assert str(home / ".condarc") in lines
    assert str(home / ".conda" / "aau_token") in lines
    assert str(conda_env / "etc" / "aau_token") in lines


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == __version__


def test_console_script_runs_without_conda(conda_env: Path):
    result = subprocess.run(
        [sys.executable, "-m", "anaconda_anon_usage", "-p", str(conda_env)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert LINE.match(result.stdout.strip())
    assert result.stderr == ""


def _tool_with_debug(
    tmp_path: Path, home: Path, debug: str
) -> subprocess.CompletedProcess[str]:
    """The tool on an environment with ``ANACONDA_ANON_USAGE_DEBUG=debug``,
    and a directory where the client token file should be: not ours to
    judge, so a reason to say something under debug."""
    (home / ".conda" / "aau_token").mkdir(parents=True)
    env_prefix = tmp_path / "env"
    (env_prefix / "conda-meta").mkdir(parents=True)
    return subprocess.run(
        [sys.executable, "-m", "anaconda_anon_usage", "-p", str(env_prefix)],
        capture_output=True,
        text=True,
        env={"HOME": str(home), "ANACONDA_ANON_USAGE_DEBUG": debug, "PATH": "/usr/bin"},
    )


def test_debug_output_goes_to_stderr_only(tmp_path: Path, home: Path):
    result = _tool_with_debug(tmp_path, home, "1")
    assert result.returncode == 0
    assert "c/" not in result.stdout
    assert "not a regular file" in result.stderr


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("FALSE", False),
        (" Off ", False),
        ("N", False),
        ("0", False),
        ("", False),
        ("1", True),
        ("TRUE", True),
        ("yes", True),
    ],
)
def test_debug_values_read_as_do_not_track_values_are(
    tmp_path: Path, home: Path, value: str, shown: bool
):
    """``ANACONDA_ANON_USAGE_DEBUG=FALSE`` (or ``Off``, `` 0 ``) turned debug
    output on: only exact lower-case words were read as "no"."""
    result = _tool_with_debug(tmp_path, home, value)
    assert result.returncode == 0
    assert ("not a regular file" in result.stderr) is shown, result.stderr


def test_paths_include_the_host_tie_identity_files(capsys, conda_env: Path):
    lines = run(capsys, "--paths", "-p", str(conda_env)).splitlines()
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id", "/.dockerenv"):
        assert path in lines


def test_json_names_the_reader(capsys, conda_env: Path):
    data = json.loads(run(capsys, "--json", "-p", str(conda_env)))
    assert data["reader"] == "standard library"  # no conda in the test venv


def test_name_needs_conda(capsys):
    assert main(["-n", "some-env"]) == 1
    assert capsys.readouterr().err.strip() == (
        "anaconda-anon-usage: -n needs conda to find the environment; use -p PATH"
    )


def test_name_and_prefix_are_exclusive(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["-n", "a", "-p", "/b"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text",
    ["{anaconda_anon_usage: false}\n", "anaconda_anon_usage: *alias\n"],
    ids=["off", "uncertain"],
)
def test_off_or_uncertain_creates_no_token_file(
    capsys, home: Path, conda_env: Path, text: str
):
    (home / ".condarc").write_text(text)
    data = json.loads(run(capsys, "--json", "-p", str(conda_env)))
    assert data["enabled"] is False and data["tokens"] == []
    assert data["decided_by"].startswith(str(home / ".condarc"))
    assert not (home / ".conda").exists()
    assert not (conda_env / "etc").exists()


def test_a_named_target_that_is_no_environment_is_an_error(
    capsys, home: Path, tmp_path: Path
):
    """As ``conda anon-usage -p`` says: a typo must not print a plausible
    token string (without e/), nor make token files."""
    missing = tmp_path / "no-such-env"
    assert main(["-p", str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        f"anaconda-anon-usage: no conda environment at {missing}"
    )
    assert not (home / ".conda").exists()


def test_with_json_an_error_is_one_json_document(capsys, home: Path, tmp_path: Path):
    """As ``conda anon-usage --json`` does: a script reading stdout gets JSON
    (it got nothing: the error went to stderr only)."""
    missing = tmp_path / "no-such-env"
    assert main(["--json", "-p", str(missing)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "success": False,
        "error": f"no conda environment at {missing}",
    }
    assert captured.err == ""
    assert not (home / ".conda").exists()
