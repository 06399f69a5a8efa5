"""The plugin inside a real conda, judged by the User-Agent a server receives.

Runs when AAU_TEST_CONDA names a conda executable whose environment has this
package installed (see README.md); skipped with that reason otherwise.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import read_only_bind, read_only_mount
from fake_channel import PACKAGE, FakeChannel

from anaconda_anon_usage import __version__

CONDA = os.environ.get("AAU_TEST_CONDA", "")
pytestmark = pytest.mark.skipif(
    not CONDA,
    reason="AAU_TEST_CONDA is not set: no real conda to test the plugin in "
    "(set it to a conda executable with anaconda-anon-usage installed)",
)

AAU = re.compile(rf" aau/{re.escape(__version__)}(?P<tokens>(?: [a-z]/[^ ]+)*)$")
TOKEN = r"[A-Za-z0-9_-]{22}"


def aau_tokens(user_agent: str) -> dict[str, str]:
    match = AAU.search(user_agent)
    assert match, f"no aau part in {user_agent!r}"
    return dict(part.split("/", 1) for part in match["tokens"].split())


def read_token(path: Path) -> str:
    return path.read_text().strip().splitlines()[0].strip()


class Conda:
    """Runs conda as a user would: a subprocess with its own HOME."""

    def __init__(self, home: Path, channel: FakeChannel, work: Path) -> None:
        self.home = home
        self.channel = channel
        self.work = work
        self.extra_env: dict[str, str] = {}

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            "PATH": f"{Path(CONDA).parent}:/usr/bin:/bin",
            "HOME": str(self.home),
            "CONDA_PKGS_DIRS": str(self.work / "pkgs"),
            "CONDA_ENVS_DIRS": str(self.work / "envs"),
            "CONDA_SOLVER": "classic",
            "CONDA_CHANNELS": self.channel.url,
            "CONDA_CHANNEL_ALIAS": "http://127.0.0.1:9",
            "CONDA_NOTIFY_OUTDATED_CONDA": "false",
            "CONDA_NUMBER_CHANNEL_NOTICES": "0",
            "CONDA_REPORT_ERRORS": "false",
            "LANG": "C.UTF-8",
        }
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def run(
        self, *args: str, check: bool = True, timeout: float = 300, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CONDA, *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def search(self, *args: str, **env: str) -> dict[str, str]:
        """Run a command that fetches repodata; return the tokens the server saw."""
        self.channel.clear()
        self.run(
            "search",
            "--override-channels",
            "-c",
            self.channel.url,
            PACKAGE,
            *args,
            **env,
        )
        return self.last_tokens()

    def last_tokens(self) -> dict[str, str]:
        agents = set(self.channel.user_agents())
        assert len(agents) == 1, agents  # one process, one user-agent
        return aau_tokens(agents.pop())


@pytest.fixture(scope="module")
def channel() -> Iterator[FakeChannel]:
    with FakeChannel() as served:
        yield served


@pytest.fixture(scope="module")
def root_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("info-home")
    out = subprocess.run(
        [CONDA, "info", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "CONDA_SOLVER": "classic"},
    ).stdout
    return Path(json.loads(out)["root_prefix"])


@pytest.fixture
def conda(tmp_path: Path, channel: FakeChannel, home: Path) -> Conda:
    return Conda(home, channel, tmp_path)


def test_tokens_are_sent_and_stable_across_runs(conda: Conda, home: Path, root_prefix):
    first = conda.search()
    second = conda.search()
    assert list(first) == ["c", "s", "e"]
    assert all(re.fullmatch(TOKEN, value) for value in first.values())
    assert first["c"] == second["c"] == read_token(home / ".conda" / "aau_token")
    assert first["e"] == second["e"] == read_token(root_prefix / "etc" / "aau_token")
    assert first["s"] != second["s"]


def test_user_agent_keeps_condas_own_parts_first(conda: Conda):
    conda.search()
    agent = conda.channel.user_agents()[0]
    assert agent.startswith("conda/")
    assert agent.index(" aau/") > agent.index("requests/")


def test_create_stores_the_token_it_sent(conda: Conda, tmp_path: Path):
    prefix = tmp_path / "created"
    conda.channel.clear()
    conda.run("create", "-y", "-p", str(prefix), PACKAGE)
    sent = {aau_tokens(agent)["e"] for agent in conda.channel.user_agents()}
    assert len(sent) == 1
    assert (prefix / "conda-meta").is_dir()
    assert read_token(prefix / "etc" / "aau_token") == sent.pop()
    assert conda.search(CONDA_PREFIX=str(prefix))["e"] == read_token(
        prefix / "etc" / "aau_token"
    )


def test_recreating_an_environment_stores_the_token_it_sent(
    conda: Conda, tmp_path: Path
):
    """``conda create -y`` over an existing environment removes it before its
    requests: the token sent for the new one must be the one it keeps."""
    prefix = tmp_path / "again"
    conda.run("create", "-y", "-p", str(prefix), PACKAGE)
    conda.channel.clear()
    conda.run("create", "-y", "-p", str(prefix), PACKAGE)
    sent = {aau_tokens(agent).get("e") for agent in conda.channel.user_agents()}
    assert len(sent) == 1 and None not in sent
    assert read_token(prefix / "etc" / "aau_token") == sent.pop()
    assert conda.search(CONDA_PREFIX=str(prefix))["e"] == read_token(
        prefix / "etc" / "aau_token"
    )


def test_env_create_named_in_its_file_stores_the_token_it_sent(
    conda: Conda, tmp_path: Path
):
    """``conda env create -f FILE`` takes the name from the file, after the
    pre-command hook: the environment it makes keeps the token sent for it."""
    spec = tmp_path / "environment.yml"
    spec.write_text(
        f"name: from-file\nchannels:\n  - {conda.channel.url}\n"
        f"dependencies:\n  - {PACKAGE}\n"
    )
    conda.channel.clear()
    conda.run("env", "create", "-f", str(spec))
    prefix = tmp_path / "envs" / "from-file"
    assert (prefix / "conda-meta").is_dir()
    sent = {aau_tokens(agent).get("e") for agent in conda.channel.user_agents()}
    own = conda.search(CONDA_PREFIX=str(prefix))["e"]
    assert read_token(prefix / "etc" / "aau_token") == own
    # whatever was sent for the new environment is its token (conda 23.x
    # sends the default target's, base here, for the whole command)
    base = conda.search()["e"]
    assert sent - {base} <= {own}, (sent, base, own)


def test_env_create_keeps_the_token_it_sent_for_an_existing_environment(
    conda: Conda, tmp_path: Path
):
    """An existing environment without a token that ``conda env create -f``
    sends one for (conda 23.x sends the default target's, here the active
    environment's) keeps that token: it is not a copy to be removed."""
    active = tmp_path / "active"
    conda.run("create", "-y", "-p", str(active), PACKAGE)
    (active / "etc" / "aau_token").unlink()
    spec = tmp_path / "environment.yml"
    spec.write_text(
        f"name: made\nchannels:\n  - {conda.channel.url}\n"
        f"dependencies:\n  - {PACKAGE}\n"
    )
    conda.channel.clear()
    conda.run("env", "create", "-f", str(spec), CONDA_PREFIX=str(active))
    sent = {aau_tokens(agent).get("e") for agent in conda.channel.user_agents()}
    made = conda.search(CONDA_PREFIX=str(tmp_path / "envs" / "made"))["e"]
    kept = conda.search(CONDA_PREFIX=str(active))["e"]
    # every environment token sent is the token its environment keeps
    assert sent - {made} <= {kept}, (sent, made, kept)


def test_create_without_package_conflicts_is_not_blocked(conda: Conda, tmp_path: Path):
    """We must not make the directory early: conda refuses non-empty targets."""
    prefix = tmp_path / "fresh"
    result = conda.run("create", "-y", "--dry-run", "-p", str(prefix), PACKAGE)
    assert result.returncode == 0
    assert not prefix.exists()


def test_named_and_path_targets_get_their_own_token(conda: Conda, tmp_path: Path):
    conda.run("create", "-y", "-n", "named", PACKAGE)
    conda.run("create", "-y", "-p", str(tmp_path / "bypath"), PACKAGE)
    named = read_token(tmp_path / "envs" / "named" / "etc" / "aau_token")
    bypath = read_token(tmp_path / "bypath" / "etc" / "aau_token")
    assert named != bypath
    conda.channel.clear()
    conda.run("install", "--dry-run", "-n", "named", PACKAGE)
    assert conda.last_tokens()["e"] == named
    conda.channel.clear()
    conda.run("install", "--dry-run", "-p", str(tmp_path / "bypath"), PACKAGE)
    assert conda.last_tokens()["e"] == bypath
    # the active environment when nothing is named
    assert conda.search(CONDA_PREFIX=str(tmp_path / "bypath"))["e"] == bypath


@pytest.mark.parametrize("word", ["off", "false", "no"])
def test_config_off_sends_version_only_and_creates_no_file(
    conda: Conda, home: Path, word
):
    conda.run("config", "--set", "anaconda_anon_usage", word)
    assert conda.search() == {}
    assert not (home / ".conda" / "aau_token").exists()
    shown = conda.run("config", "--show", "anaconda_anon_usage").stdout
    assert shown.strip().lower() == "anaconda_anon_usage: false"


@pytest.mark.parametrize("word", ["on", "true", "yes"])
def test_config_on_turns_it_back_on(conda: Conda, word: str):
    conda.run("config", "--set", "anaconda_anon_usage", "off")
    conda.run("config", "--set", "anaconda_anon_usage", word)
    assert list(conda.search()) == ["c", "s", "e"]


# Written to stderr when conda exits: the modules of this package it loaded.
REPORT_LOADED = (
    "import atexit, sys\n"
    "def report():\n"
    "    names = sorted(m for m in sys.modules if m.startswith('anaconda_anon_usage'))\n"
    "    sys.stderr.write('LOADED ' + ' '.join(names) + '\\n')\n"
    "atexit.register(report)\n"
    "sys.argv[0] = 'conda'\n"
    "from conda.cli import main\n"
    "sys.exit(main())\n"
)
# What every command that sends tokens needs once the token files exist (not
# the subcommand's arguments: conda would build its parser on every command).
HOT_MODULES = {
    "anaconda_anon_usage",
    "plugin",
    "conda_adapter",
    "useragent",
    "tokens",
}


def modules_loaded_by_search(conda: Conda, **env: str) -> set[str]:
    """The modules of this package that ``conda search`` (one request) loads."""
    conda.channel.clear()
    command = ["search", "--override-channels", "-c", conda.channel.url, PACKAGE]
    result = subprocess.run(
        [str(Path(CONDA).parent / "python"), "-c", REPORT_LOADED, *command],
        capture_output=True,
        text=True,
        env=conda.env(**env),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("LOADED")]
    return {name.rpartition(".")[2] for name in line.split()[1:]}


def test_a_command_loads_only_what_it_uses(conda: Conda):
    conda.search()  # makes the token files
    loaded = modules_loaded_by_search(conda)
    # and redaction where conda makes an error or a log record to show (23.x
    # makes an HTTP error for the channel's missing current_repodata.json)
    assert HOT_MODULES <= loaded <= HOT_MODULES | {"redaction"}
    assert list(conda.last_tokens()) == ["c", "s", "e"]


@pytest.mark.parametrize(
    "off", [{"CONDA_ANACONDA_ANON_USAGE": "false"}, {"DO_NOT_TRACK": "1"}]
)
def test_tokens_off_loads_no_token_module(conda: Conda, off: dict[str, str]):
    loaded = modules_loaded_by_search(conda, **off)
    assert loaded == {"anaconda_anon_usage", "plugin", "conda_adapter"}
    assert conda.last_tokens() == {}


def test_environment_variable_and_do_not_track(conda: Conda, home: Path):
    assert conda.search(CONDA_ANACONDA_ANON_USAGE="false") == {}
    assert conda.search(DO_NOT_TRACK="1") == {}
    assert conda.search(DO_NOT_TRACK="true") == {}
    assert not (home / ".conda").joinpath("aau_token").exists()
    conda.run("config", "--set", "anaconda_anon_usage", "off")
    assert list(conda.search(CONDA_ANACONDA_ANON_USAGE="true")) == ["c", "s", "e"]


def test_final_system_setting_decides_even_against_do_not_track(
    conda: Conda, root_prefix
):
    condarc = root_prefix / ".condarc"
    saved = condarc.read_bytes() if condarc.exists() else None
    try:
        condarc.write_text("anaconda_anon_usage: true #!final\n")
        conda.run("config", "--set", "anaconda_anon_usage", "off")
        assert list(conda.search(DO_NOT_TRACK="1")) == ["c", "s", "e"]
        condarc.write_text("anaconda_anon_usage: false #!final\n")
        assert conda.search(CONDA_ANACONDA_ANON_USAGE="true") == {}
    finally:
        if saved is None:
            condarc.unlink()
        else:
            condarc.write_bytes(saved)


def test_conda_info_redacts_but_the_wire_does_not(conda: Conda):
    text = conda.run("info").stdout
    line = next(line for line in text.splitlines() if "user-agent" in line)
    assert line.rstrip().endswith(f" aau/{__version__} c/. s/. e/.")
    info = json.loads(conda.run("info", "--json").stdout)
    assert info["user_agent"].endswith(f" aau/{__version__} c/. s/. e/.")
    assert info["user_agent"].startswith("conda/")
    assert all(re.fullmatch(TOKEN, v) for v in conda.search().values())


def test_conda_info_when_disabled(conda: Conda):
    info = json.loads(conda.run("info", "--json", DO_NOT_TRACK="1").stdout)
    assert info["user_agent"].endswith(f" aau/{__version__}")


@pytest.mark.parametrize(
    "args",
    [
        ("info", "--json"),
        ("config", "--show", "--json"),
        ("search", "--json", PACKAGE),
        ("search", "--json", "no-such-package"),
        ("create", "--json", "--dry-run", "-n", "x", PACKAGE),
        ("list", "--json"),
        ("env", "list", "--json"),
    ],
)
def test_json_output_stays_valid_and_exit_codes_unchanged(conda: Conda, args):
    with_plugin = conda.run(*args, check=False)
    without = conda.run(*args, check=False, CONDA_NO_PLUGINS="true")
    assert with_plugin.returncode == without.returncode, with_plugin.stderr
    json.loads(with_plugin.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ("install", "-n", "does-not-exist", PACKAGE),
        ("search", "no-such-package"),
        ("remove", "-y", "-p", "/nonexistent/prefix", "python"),
    ],
)
def test_failing_commands_fail_the_same_way(conda: Conda, args):
    with_plugin = conda.run(*args, check=False)
    without = conda.run(*args, check=False, CONDA_NO_PLUGINS="true")
    assert with_plugin.returncode == without.returncode != 0


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "posix"])
def test_shell_code_is_byte_for_byte_unchanged(
    conda: Conda, tmp_path: Path, shell: str
):
    prefix = tmp_path / "shellenv"
    conda.run("create", "-y", "-p", str(prefix), PACKAGE)
    for args in (
        ("hook",),
        ("activate", str(prefix)),
        ("deactivate",),
        ("reactivate",),
    ):
        command = (f"shell.{shell}", *args)
        env = (
            {"CONDA_SHLVL": "1", "CONDA_PREFIX": str(prefix)}
            if args[0] != "hook"
            else {}
        )
        with_plugin = conda.run(*command, check=False, **env)
        without = conda.run(*command, check=False, CONDA_NO_PLUGINS="true", **env)
        assert with_plugin.returncode == without.returncode, command
        assert with_plugin.stdout == without.stdout, command


def test_nothing_on_stdout_or_stderr_without_debug(conda: Conda):
    with_plugin = conda.run("config", "--show", "anaconda_anon_usage")
    assert "anaconda-anon-usage" not in with_plugin.stderr
    debug = conda.run("info", ANACONDA_ANON_USAGE_DEBUG="1")
    assert "anaconda-anon-usage" not in debug.stdout


def test_read_only_home_omits_the_client_token(conda: Conda, tmp_path: Path):
    with read_only_mount(tmp_path / "rohome") as home:
        conda.home = home
        tokens = conda.search()
    assert list(tokens) == ["s", "e"]


def test_read_only_environment_omits_its_token(conda: Conda, tmp_path: Path):
    prefix = tmp_path / "roenv"
    conda.run("create", "-y", "-p", str(prefix), PACKAGE)
    (prefix / "etc" / "aau_token").unlink()
    with read_only_bind(prefix):
        assert list(conda.search(CONDA_PREFIX=str(prefix))) == ["c", "s"]


def test_corrupt_and_unusable_token_files(conda: Conda, home: Path):
    (home / ".conda").mkdir()
    (home / ".conda" / "aau_token").write_text("not a token\n")
    renewed = conda.search()["c"]
    assert read_token(home / ".conda" / "aau_token") == renewed
    (home / ".conda" / "aau_token").unlink()
    (home / ".conda" / "aau_token").mkdir()
    assert "c" not in conda.search()


def test_cli_prints_what_conda_sends(conda: Conda, root_prefix):
    sent = conda.search()
    cli = Path(CONDA).parent / "anaconda-anon-usage"
    out = subprocess.run(
        [str(cli), "--json", "--prefix", str(root_prefix)],
        capture_output=True,
        text=True,
        check=True,
        env=conda.env(),
    ).stdout
    shown = {t["kind"]: t["value"] for t in json.loads(out)["tokens"]}
    assert shown["c"] == sent["c"] and shown["e"] == sent["e"]
    assert shown["s"] != sent["s"]  # a different process


def test_64_concurrent_first_runs_agree_on_one_client_token(conda: Conda, home: Path):
    conda.channel.clear()
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(
            pool.map(
                # Separate package caches: conda 23.7's own repodata cache is
                # not safe under this much concurrency. HOME is shared.
                lambda n: conda.run(
                    "search",
                    "--override-channels",
                    "-c",
                    conda.channel.url,
                    PACKAGE,
                    check=False,
                    CONDA_PKGS_DIRS=str(conda.work / f"pkgs{n}"),
                ),
                range(64),
            )
        )
    failures = [r.stderr for r in results if r.returncode]
    assert not failures, failures[0]
    clients = {aau_tokens(agent).get("c") for agent in conda.channel.user_agents()}
    sessions = {aau_tokens(agent)["s"] for agent in conda.channel.user_agents()}
    assert clients == {read_token(home / ".conda" / "aau_token")}
    assert len(sessions) == 64


# --- issue 3: administrator tokens and conda-native controls -------------------


def conda_version() -> tuple[int, ...]:
    out = subprocess.run([CONDA, "--version"], capture_output=True, text=True).stdout
    return tuple(int(part) for part in re.findall(r"\d+", out)[:2])


def test_administrator_tokens_are_sent_after_e_and_redacted(
    conda: Conda, root_prefix: Path
):
    token_file = root_prefix / "org_token"
    assert not token_file.exists()
    try:
        token_file.write_text("acme-corp\n")
        conda.extra_env = {
            "ANACONDA_ANON_USAGE_INSTALLER_TOKEN": "miniforge-26",
            "ANACONDA_ANON_USAGE_MACHINE_TOKEN": "not valid!",
        }
        sent = conda.search()
        assert list(sent) == ["c", "s", "e", "i", "o"]
        assert sent["i"] == "miniforge-26" and sent["o"] == "acme-corp"
        agent = conda.channel.user_agents()[0]
        assert agent.endswith(" i/miniforge-26 o/acme-corp")
        info = json.loads(conda.run("info", "--json").stdout)["user_agent"]
        assert info.endswith(" c/. s/. e/. i/. o/.")
        assert conda.search(DO_NOT_TRACK="1") == {}
    finally:
        token_file.unlink()


def test_anon_usage_subcommand_shows_what_is_sent(conda: Conda, tmp_path: Path):
    sent = conda.search()
    shown = conda.run("anon-usage").stdout.strip()
    assert shown.startswith(f"aau/{__version__} c/{sent['c']} s/")
    assert shown.endswith(f" e/{sent['e']}")
    detail = conda.run("anon-usage", "--detail").stdout
    assert "# enabled (decided by: default)" in detail
    conda.run("create", "-y", "-n", "shown", PACKAGE)
    data = json.loads(conda.run("anon-usage", "--json", "-n", "shown").stdout)
    env_token = read_token(tmp_path / "envs" / "shown" / "etc" / "aau_token")
    assert data["tokens"][2]["value"] == env_token
    missing = conda.run("anon-usage", "-n", "no-such-env", check=False)
    assert missing.returncode == 1 and "no conda environment" in missing.stderr


def test_anon_usage_help_and_usage_errors_come_from_its_own_parser(
    conda: Conda, home: Path
):
    """conda hands ``conda anon-usage`` its arguments as typed: its help,
    and argparse's one-line usage errors, are still those of the subcommand."""
    listed = conda.run("--help").stdout
    assert "anon-usage" in listed and "Show, reset, or turn off" in listed
    for flag in ("--help", "-h"):
        shown = conda.run("anon-usage", flag)
        assert shown.stdout.startswith("usage: conda anon-usage ")
        assert "{reset,off,on}" in shown.stdout or "ACTION" in shown.stdout
        assert "--environment" in shown.stdout
    for args in (("bogus",), ("-n", "a", "-p", "/b"), ("--no-such-flag",)):
        wrong = conda.run("anon-usage", *args, check=False)
        assert wrong.returncode == 2, args
        assert "usage: conda anon-usage" in wrong.stderr
        assert "Traceback" not in wrong.stderr and wrong.stdout == ""
    assert not (home / ".conda" / "aau_token").exists()
    assert not (home / ".condarc").exists()


def test_anon_usage_reset_gives_fresh_tokens(conda: Conda, tmp_path: Path):
    prefix = tmp_path / "resetenv"
    conda.run("create", "-y", "-p", str(prefix), PACKAGE)
    before = conda.search(CONDA_PREFIX=str(prefix))
    out = conda.run("anon-usage", "reset", "--client").stdout
    assert "client token replaced" in out
    after_client = conda.search(CONDA_PREFIX=str(prefix))
    assert after_client["c"] != before["c"] and after_client["e"] == before["e"]
    conda.run("anon-usage", "reset", "--environment", "-p", str(prefix))
    after_env = conda.search(CONDA_PREFIX=str(prefix))
    assert after_env["e"] != before["e"] and after_env["c"] == after_client["c"]


def test_anon_usage_off_and_on(conda: Conda, home: Path):
    out = conda.run("anon-usage", "off").stdout
    assert f"off (written to {home / '.condarc'})" in out
    assert conda.search() == {}
    shown = conda.run("config", "--show", "anaconda_anon_usage").stdout
    assert shown.strip().lower() == "anaconda_anon_usage: false"
    out = conda.run("anon-usage", "on", DO_NOT_TRACK="1").stdout
    assert "DO_NOT_TRACK decides, so tokens stay off" in out
    assert list(conda.search()) == ["c", "s", "e"]


def test_doctor_reports_tokens(conda: Conda, tmp_path: Path):
    if conda_version() < (23, 11):
        pytest.skip("conda doctor health checks need conda >= 23.11")
    conda.search()
    out = conda.run("doctor", check=False).stdout
    assert "tokens are enabled (decided by: default)" in out
    assert "client token:" in out and "is valid" in out
    assert "every token location is writable" in out
    with read_only_mount(tmp_path / "rohome") as home:
        conda.home = home
        out = conda.run("doctor", check=False).stdout
    assert f"{home} is not writable" in out  # issue 8: the one verdict, with why
    assert "every token location is writable" not in out
    conda.home = tmp_path
    out = conda.run("doctor", check=False, CONDA_ANACONDA_ANON_USAGE="no").stdout
    assert "tokens are disabled (decided by: CONDA_ANACONDA_ANON_USAGE)" in out


def test_doctor_agrees_with_the_wire_on_another_machines_client_token(
    conda: Conda, home: Path
):
    """A client token whose host line names another machine (a copied home)
    is not sent where it cannot be renewed: doctor must not call it valid."""
    if conda_version() < (23, 11):
        pytest.skip("conda doctor health checks need conda >= 23.11")
    from anaconda_anon_usage.tokens import machine_identity

    if machine_identity() is None:
        pytest.skip("no machine identity here: client tokens are not tied")
    token = "Q29waWVkLWZyb20tb3RoZXI"[:22]
    conda_dir = home / ".conda"
    conda_dir.mkdir()
    (conda_dir / "aau_token").write_text(f"{token}\nhost {'0' * 32}\n")
    with read_only_bind(home):
        assert "c" not in conda.search()
        out = conda.run("doctor", check=False).stdout
    line = next(line for line in out.splitlines() if "client token:" in line)
    assert "another machine" in line and line.startswith("❌"), out
    assert "every token is kept" not in out
    # writable: renewed on next use, which doctor says (and conda then does)
    out = conda.run("doctor", check=False).stdout
    line = next(line for line in out.splitlines() if "client token:" in line)
    assert "another machine" in line and "replaced on next use" in line, out
    assert conda.search()["c"] != token


# --- issue 8: nothing waits, nothing is lost; honest environment counts --------


def test_a_held_lock_does_not_make_conda_wait(conda: Conda, home: Path):
    import fcntl

    conda_dir = home / ".conda"
    conda_dir.mkdir()
    (conda_dir / "aau_token").write_text("not a token\n")
    held = os.open(conda_dir, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # held until conda is done
        conda.channel.clear()
        conda.run(
            "search",
            "--override-channels",
            "-c",
            conda.channel.url,
            PACKAGE,
            timeout=60,
        )
    finally:
        os.close(held)
    assert conda.last_tokens()["c"] == read_token(conda_dir / "aau_token")


def test_a_fifo_as_token_file_does_not_make_conda_wait(conda: Conda, home: Path):
    (home / ".conda").mkdir()
    os.mkfifo(home / ".conda" / "aau_token")
    conda.channel.clear()
    conda.run(
        "search", "--override-channels", "-c", conda.channel.url, PACKAGE, timeout=60
    )
    assert list(conda.last_tokens()) == ["s", "e"]


@pytest.mark.parametrize("series", ["0.7", "0.8"])
def test_upgraders_keep_their_client_token(conda: Conda, home: Path, series: str):
    token = "Q0hBTkdFRC1UT0tFTi0xMg"[:22]
    conda_dir = home / ".conda"
    conda_dir.mkdir()
    if series == "0.7":
        (conda_dir / "aau_token").write_text(f"{token} y9SxzOn2Tj6q3dF0bWk4hQ\n")
    else:
        (conda_dir / "aau_token").write_text(f"{token}\n")
        (conda_dir / "aau_token_host").write_text("c2e1b4d7a9f06b38\n")
    assert conda.search()["c"] == token
    assert conda.search()["c"] == token
    assert read_token(conda_dir / "aau_token") == token


def test_a_valid_token_in_a_read_only_home_is_sent(conda: Conda, home: Path):
    token = "VGhpcy1pcy1hLXRva2VuLQ"
    conda_dir = home / ".conda"
    conda_dir.mkdir()
    (conda_dir / "aau_token").write_text(f"{token}\n")
    with read_only_bind(home):
        assert conda.search()["c"] == token


@pytest.mark.parametrize(
    "content", [b"\0" * 23, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"], ids=["nul", "binary"]
)
def test_a_damaged_client_token_file_is_repaired(
    conda: Conda, home: Path, content: bytes
):
    (home / ".conda").mkdir()
    (home / ".conda" / "aau_token").write_bytes(content)
    sent = conda.search()["c"]
    assert read_token(home / ".conda" / "aau_token") == sent
    assert conda.search()["c"] == sent


def test_nothing_is_written_through_a_symlink(conda: Conda, home: Path, tmp_path):
    target = tmp_path / "dotfiles-aau_token"
    target.write_text("garbage\n")
    (home / ".conda").mkdir()
    (home / ".conda" / "aau_token").symlink_to(target)
    sent = conda.search()["c"]
    assert target.read_text() == "garbage\n"
    assert read_token(home / ".conda" / "aau_token") == sent


def test_a_clone_gets_its_own_environment_token(conda: Conda, tmp_path: Path):
    source, clone = tmp_path / "source", tmp_path / "clone"
    conda.run("create", "-y", "-p", str(source), PACKAGE)
    source_token = conda.search(CONDA_PREFIX=str(source))["e"]
    conda.run("create", "-y", "--clone", str(source), "-p", str(clone))
    clone_token = conda.search(CONDA_PREFIX=str(clone))["e"]
    assert clone_token != source_token
    assert read_token(clone / "etc" / "aau_token") == clone_token
    assert read_token(source / "etc" / "aau_token") == source_token
    assert conda.search(CONDA_PREFIX=str(clone))["e"] == clone_token


@pytest.mark.parametrize("where", ["stale", "plain"])
def test_a_target_that_is_not_an_environment_sends_no_e(
    conda: Conda, tmp_path: Path, where: str
):
    prefix = tmp_path / where
    if where == "plain":
        prefix.mkdir()
    assert list(conda.search(CONDA_PREFIX=str(prefix))) == ["c", "s"]
    assert list(conda.search(CONDA_PREFIX=str(prefix))) == ["c", "s"]
    assert not (prefix / "etc").exists()


def test_commands_without_requests_create_no_token_files(
    conda: Conda, home: Path, tmp_path: Path
):
    """The error report and conda info build a user-agent only to show it."""
    bad = tmp_path / "envs" / "bad"
    conda.run("create", "-p", str(bad), "-y", "--offline")
    (bad / "conda-meta" / "x-1-0.json").write_text('{"name": "x"}')
    report = conda.run("list", "-p", str(bad), check=False)
    assert report.returncode != 0
    conda.run("info")
    conda.run("info", "--json")
    assert not (home / ".conda" / "aau_token").exists()
    assert not (bad / "etc" / "aau_token").exists()
    assert list(conda.search(CONDA_PREFIX=str(bad))) == ["c", "s", "e"]
    assert (home / ".conda" / "aau_token").exists()


def test_config_describe_explains_the_parameter(conda: Conda):
    """conda_display adds the description and category for ``conda config``."""
    one = conda.run("config", "--describe", "anaconda_anon_usage").stdout
    assert "Append anonymous usage tokens" in one
    assert "anaconda_anon_usage: true" in one
    every = conda.run("config", "--describe").stdout
    assert "Anonymous Usage" in every
