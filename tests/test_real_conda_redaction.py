"""Issue 8, section 1, inside a real conda: token values never appear in what
conda shows people (the output they paste into issue trackers), while the
requests still carry them.

Runs when AAU_TEST_CONDA is set (see test_real_conda.py); skipped otherwise.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import test_real_conda
from fake_channel import PACKAGE
from test_real_conda import CONDA, TOKEN, Conda, aau_tokens, read_token

from anaconda_anon_usage import __version__

pytestmark = pytest.mark.skipif(
    not CONDA,
    reason="AAU_TEST_CONDA is not set: no real conda to test the plugin in "
    "(set it to a conda executable with anaconda-anon-usage installed)",
)

SHOWN = f"aau/{__version__} c/. s/. e/. i/."
# Our part followed by one of our kinds whose value is not the redaction mark.
UNREDACTED = re.compile(r"\baau/[^ ]+(?: [a-z]/\.)* [cseiom]/(?!\.(?:\s|$|['\",\\]))")
INSTALLER = "inst4ller-Tok3n"

# The fixtures this module shares with test_real_conda.
channel = test_real_conda.channel
conda = test_real_conda.conda


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Token values (or unredacted aau parts) found in output people see."""
    found = [secret for secret in secrets if secret and secret in text]
    found += [match.group(0) for match in UNREDACTED.finditer(text)]
    return found


def secrets_on_the_wire(conda: Conda) -> list[str]:
    """Every token value the channel received (the wire keeps the real ones)."""
    values = set()
    for agent in conda.channel.user_agents():
        received = aau_tokens(agent)
        assert list(received) == ["c", "s", "e", "i"], agent
        assert all(re.fullmatch(TOKEN, received[kind]) for kind in "cse"), agent
        assert received["i"] == INSTALLER
        values.update(received.values())
    assert values, "no request reached the channel"
    return sorted(values)


# --- the unexpected-error report -------------------------------------------------


def broken_environment(conda: Conda, tmp_path: Path) -> Path:
    """The issue's repro: a conda-meta record that makes ``conda list`` crash."""
    prefix = tmp_path / "envs" / "bad"
    conda.run("create", "-p", str(prefix), "-y", "--offline")
    (prefix / "conda-meta" / "x-1-0.json").write_text('{"name": "x"}')
    return prefix


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_unexpected_error_report_shows_no_tokens_and_creates_none(
    conda: Conda, tmp_path: Path, home: Path, as_json: bool
):
    conda.extra_env = {"ANACONDA_ANON_USAGE_INSTALLER_TOKEN": INSTALLER}
    prefix = broken_environment(conda, tmp_path)
    args = ("list", "-p", str(prefix)) + (("--json",) if as_json else ())

    report = conda.run(*args, check=False)
    output = report.stdout + report.stderr
    assert report.returncode != 0
    assert "user-agent" in output or "user_agent" in output, output  # the report
    assert SHOWN in output, output
    assert leaks(output, [INSTALLER]) == []
    # it made no request, so it made no token either
    assert not (home / ".conda" / "aau_token").exists()
    assert not (prefix / "etc" / "aau_token").exists()

    # once the tokens exist, the report still does not show them
    conda.channel.clear()
    conda.run(
        "search",
        "--override-channels",
        "-c",
        conda.channel.url,
        PACKAGE,
        CONDA_PREFIX=str(prefix),
    )
    secrets = secrets_on_the_wire(conda)
    assert read_token(home / ".conda" / "aau_token") in secrets
    assert read_token(prefix / "etc" / "aau_token") in secrets
    report = conda.run(*args, check=False)
    output = report.stdout + report.stderr
    assert SHOWN in output, output
    assert leaks(output, secrets) == []
    if as_json:
        info = json.loads(report.stdout)["conda_info"]
        assert info["user_agent"].endswith(SHOWN)


def test_the_uploaded_error_report_shows_no_tokens(conda: Conda, tmp_path: Path):
    """conda < 26.1 uploads the report when ``report_errors`` is on: its body
    is redacted, the upload request itself carries the real values."""
    if test_real_conda.conda_version() >= (26, 1):
        pytest.skip("conda >= 26.1 uploads no error reports")
    conda.extra_env = {"ANACONDA_ANON_USAGE_INSTALLER_TOKEN": INSTALLER}
    prefix = broken_environment(conda, tmp_path)
    conda.channel.clear()
    report = conda.run(
        "list",
        "-p",
        str(prefix),
        check=False,
        CONDA_REPORT_ERRORS="true",
        CONDA_ERROR_UPLOAD_URL=f"{conda.channel.url}/upload",
    )
    assert report.returncode != 0
    assert len(conda.channel.posts) == 1, report.stderr
    secrets = secrets_on_the_wire(conda)  # the upload's own User-Agent
    uploaded = conda.channel.posts[0].decode()
    assert json.loads(uploaded)["conda_info"]["user_agent"].endswith(SHOWN)
    assert leaks(uploaded, secrets) == []
    assert leaks(report.stdout + report.stderr, secrets) == []


# --- logs and HTTP errors ---------------------------------------------------------

SEARCH = ("search", "--override-channels", "-c")


@pytest.mark.parametrize(
    "verbosity", ["-v", "-vv", "-vvv", "--debug"], ids=lambda flag: flag.strip("-")
)
def test_verbose_logs_show_no_tokens_but_the_wire_has_them(
    conda: Conda, verbosity: str
):
    conda.extra_env = {"ANACONDA_ANON_USAGE_INSTALLER_TOKEN": INSTALLER}
    conda.channel.clear()
    result = conda.run(*SEARCH, conda.channel.url, PACKAGE, verbosity)
    secrets = secrets_on_the_wire(conda)
    output = result.stdout + result.stderr
    assert leaks(output, secrets) == []
    if verbosity != "-v":  # conda logs the request headers from -vv on
        assert SHOWN in output, output


@pytest.mark.parametrize(
    "flags",
    [(), ("-v",), ("-vvv",), ("--json",), ("--json", "-v")],
    ids=lambda flags: "plain" if not flags else "".join(flags).replace("--", "+"),
)
def test_http_errors_show_no_tokens_but_the_wire_has_them(
    conda: Conda, flags: tuple[str, ...]
):
    """conda puts the request, headers included, into its HTTP error messages."""
    conda.extra_env = {"ANACONDA_ANON_USAGE_INSTALLER_TOKEN": INSTALLER}
    missing = f"{conda.channel.url}-missing"
    conda.channel.clear()
    result = conda.run(*SEARCH, missing, PACKAGE, *flags, check=False)
    assert result.returncode != 0
    secrets = secrets_on_the_wire(conda)
    output = result.stdout + result.stderr
    assert leaks(output, secrets) == []
    assert "404" in output, output
    if flags == ("--json",):  # the request, headers included, is in the error
        error = json.loads(result.stdout)
        assert SHOWN in error["response_details"]


def test_conda_info_shows_no_administrator_tokens(conda: Conda):
    conda.extra_env = {"ANACONDA_ANON_USAGE_INSTALLER_TOKEN": INSTALLER}
    for args in (("info",), ("info", "-a"), ("info", "--json"), ("info", "-vvv")):
        result = conda.run(*args)
        output = result.stdout + result.stderr
        assert SHOWN in output, args
        assert leaks(output, [INSTALLER]) == [], args
