"""Issue 8, sections 2 and 3, inside a real conda: one truth for on/off, and
``conda anon-usage`` edits and resets as conda would.

Each case compares three answers: what conda really sends (the User-Agent a
server receives), what the ``anaconda-anon-usage`` tool of conda's
environment says (it asks conda), and what the standard-library reader says
(this test's Python, where conda is not importable).

Runs when AAU_TEST_CONDA is set (see test_real_conda.py); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import test_real_conda
from conftest import make_conda_env, read_only_mount
from fake_channel import PACKAGE
from test_real_conda import CONDA, Conda, conda_version, read_token

# the fixtures of test_real_conda.py, shared
channel = test_real_conda.channel
conda = test_real_conda.conda
root_prefix = test_real_conda.root_prefix

pytestmark = pytest.mark.skipif(
    not CONDA,
    reason="AAU_TEST_CONDA is not set: no real conda to test the plugin in "
    "(set it to a conda executable with anaconda-anon-usage installed)",
)

TOOL = str(Path(CONDA).parent / "anaconda-anon-usage") if CONDA else ""


def tool_json(
    conda: Conda, *args: str, stdlib: bool = False, wrap: tuple[str, ...] = (), **env
) -> dict:
    """The tool's answer: conda's own (it asks conda), or the standard-library
    reader's (run by this test's Python, where conda is not importable)."""
    command = ([sys.executable, "-m", "anaconda_anon_usage"] if stdlib else [TOOL]) + [
        "--json",
        *args,
    ]
    environment = conda.env(**env)
    if stdlib:
        # conda's base environment, as conda itself would find it
        environment.setdefault("CONDA_ROOT", str(Path(CONDA).parent.parent))
        environment["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    environment = {k: v for k, v in environment.items() if v is not None}
    result = subprocess.run(
        [*wrap, *command], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def sent_tokens(conda: Conda, *args: str, wrap: tuple[str, ...] = (), **env) -> dict:
    """What a server receives from a conda command that fetches repodata."""
    conda.channel.clear()
    command = args or ("search", "--override-channels", "-c", conda.channel.url)
    environment = {k: v for k, v in conda.env(**env).items() if v is not None}
    result = subprocess.run(
        [*wrap, CONDA, *command, PACKAGE],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return conda.last_tokens()


def no_token_files(*places: Path) -> list[Path]:
    return [p for p in places if p.exists()]


def agree(conda: Conda, home: Path, expected_on: bool, *places: Path, **env) -> None:
    """The tool (both ways) and conda reach the same decision; when it is off
    nothing created a token file, on any path."""
    token_files = [home / ".conda" / "aau_token", *places]
    for stdlib in (False, True):
        data = tool_json(conda, stdlib=stdlib, **env)
        way = "standard library" if stdlib else "asking conda"
        assert data["enabled"] is expected_on, (way, data)
        if not expected_on:
            assert data["tokens"] == [], way
            assert no_token_files(*token_files) == [], way
    tokens = sent_tokens(conda, **env)
    assert bool(tokens) is expected_on, tokens
    if not expected_on:
        assert no_token_files(*token_files) == []


# --- 2. one truth for on/off ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("", False),
        ("none", False),
        ("non", False),
        ("garbage", False),
        ("1", True),
        ("yes", True),
        ("2", True),
        ("0", False),
    ],
    ids=repr,
)
def test_environment_variable_values(conda: Conda, home: Path, value: str, on: bool):
    agree(conda, home, on, CONDA_ANACONDA_ANON_USAGE=value)


CONDARC_FORMS = {
    "flow": ("{anaconda_anon_usage: false}\n", False),
    "flow-among-others": ("{channels: [a, b], anaconda_anon_usage: false}\n", False),
    "single-quoted-key": ("'anaconda_anon_usage': false\n", False),
    "double-quoted-key": ('"anaconda_anon_usage": false\n', False),
    "bom": ("\ufeffanaconda_anon_usage: false\n", False),
    "next-line": ("anaconda_anon_usage:\n  false\n", False),
    "bool-tag": ("anaconda_anon_usage: !!bool false\n", False),
    "empty-value": ("anaconda_anon_usage:\n", False),
    "garbage": ("anaconda_anon_usage: maybe\n", False),
    "escaped-key": ('"anaconda\\x5fanon_usage": false\n', False),
    "comment-only": ("# anaconda_anon_usage: false\nchannels: [a]\n", True),
    "true-after-lists": ("channels:\n- a\n- b\nanaconda_anon_usage: yes\n", True),
    "flow-true": ("{anaconda_anon_usage: true}\n", True),
}


@pytest.mark.parametrize("form", list(CONDARC_FORMS))
def test_condarc_forms(conda: Conda, home: Path, form: str):
    text, on = CONDARC_FORMS[form]
    (home / ".condarc").write_text(text, encoding="utf-8")
    agree(conda, home, on)


def test_target_environment_condarc(conda: Conda, home: Path, tmp_path: Path):
    """``-p ENV``/``-n NAME`` read ENV/.condarc (conda's $CONDA_PREFIX
    search-path entry is the target environment)."""
    prefix = make_conda_env(tmp_path / "envs" / "quiet")
    (prefix / ".condarc").write_text("anaconda_anon_usage: false\n")
    token_files = [home / ".conda" / "aau_token", prefix / "etc" / "aau_token"]
    for stdlib in (False, True):
        data = tool_json(conda, "--prefix", str(prefix), stdlib=stdlib)
        assert data["enabled"] is False, (stdlib, data)
        assert str(prefix / ".condarc") in data["decided_by"]
        assert no_token_files(*token_files) == []
    conda.channel.clear()
    conda.run("install", "--dry-run", "-p", str(prefix), PACKAGE)
    assert conda.last_tokens() == {}
    assert no_token_files(*token_files) == []
    # By name, conda finds the environment for its search path before it has
    # read CONDA_ENVS_DIRS, so here it does not read ENV/.condarc: whatever
    # it decides, the tool (asking conda) and conda anon-usage say the same.
    by_name = tool_json(conda, "-n", "quiet")
    assert by_name["prefix"] == str(prefix)
    shown = conda.run("anon-usage", "-n", "quiet", "--detail").stdout
    assert detail_source(shown) == by_name["decided_by"]
    conda.channel.clear()
    conda.run("install", "--dry-run", "-n", "quiet", PACKAGE)
    assert bool(conda.last_tokens()) is by_name["enabled"]
    # and an environment without it is on
    other = make_conda_env(tmp_path / "loud")
    assert tool_json(conda, "--prefix", str(other))["enabled"] is True


def test_home_unset_reads_the_accounts_condarc(conda: Conda, tmp_path: Path):
    """With HOME unset conda reads ~ from the password database: give this
    process's account a private home there (a copy of /etc/passwd bind-mounted
    in a new mount namespace)."""
    import pwd

    account = pwd.getpwuid(os.getuid())
    private = tmp_path / "account-home"
    private.mkdir()
    (private / ".condarc").write_text("anaconda_anon_usage: false\n")
    passwd = tmp_path / "passwd"
    lines = Path("/etc/passwd").read_text().splitlines()
    passwd.write_text(
        "\n".join(
            ":".join([*f[:5], str(private), *f[6:]])
            if (f := line.split(":"))[0] == account.pw_name
            else line
            for line in lines
        )
        + "\n"
    )
    wrap = (
        "unshare",
        "-m",
        "sh",
        "-c",
        f'mount --bind "{passwd}" /etc/passwd && exec "$@"',
        "sh",
    )
    probe = subprocess.run(
        [*wrap, sys.executable, "-c", "import os; print(os.path.expanduser('~'))"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    if probe.returncode != 0 or probe.stdout.strip() != str(private):
        pytest.skip(f"cannot give the account a private home: {probe.stderr.strip()}")
    for stdlib in (False, True):
        data = tool_json(conda, stdlib=stdlib, wrap=wrap, HOME=None)
        assert data["enabled"] is False, (stdlib, data)
        assert str(private / ".condarc") in data["decided_by"]
    assert sent_tokens(conda, wrap=wrap, HOME=None) == {}
    assert no_token_files(private / ".conda" / "aau_token") == []


def detail_source(text: str) -> str:
    line = next(line for line in text.splitlines() if "decided by" in line)
    return line.split("decided by: ", 1)[1].rstrip(")")


def test_do_not_track_names_the_same_source_everywhere(conda: Conda):
    env = {"DO_NOT_TRACK": "1", "CONDA_ANACONDA_ANON_USAGE": "true"}
    from_conda = detail_source(conda.run("anon-usage", "--detail", **env).stdout)
    tool = tool_json(conda, **env)
    stdlib = tool_json(conda, stdlib=True, **env)
    assert from_conda == tool["decided_by"] == stdlib["decided_by"] == "DO_NOT_TRACK"
    assert tool["enabled"] is stdlib["enabled"] is False
    assert sent_tokens(conda, **env) == {}


# --- 3. ``conda anon-usage`` edits and resets as conda would -----------------

CREDENTIALS_CONDARC = """\
# proxy with credentials: keep private
proxy_servers:
    ftp: http://user:secret@proxy:3128
channels:
- conda-forge
-   defaults
anaconda_anon_usage: true   # mine
"""


def conda_config_result(conda: Conda, tmp_path: Path, content: str, mode: int) -> str:
    """What ``conda config --set anaconda_anon_usage false`` makes of it."""
    other = tmp_path / "reference-home"
    other.mkdir()
    (other / ".condarc").write_text(content)
    os.chmod(other / ".condarc", mode)
    conda.run("config", "--set", "anaconda_anon_usage", "false", HOME=str(other))
    return (other / ".condarc").read_text()


def test_off_writes_as_conda_config_does(conda: Conda, home: Path, tmp_path: Path):
    condarc = home / ".condarc"
    condarc.write_text(CREDENTIALS_CONDARC)
    os.chmod(condarc, 0o600)
    conda.run("anon-usage", "off")
    assert stat.S_IMODE(condarc.stat().st_mode) == 0o600
    assert condarc.read_text() == conda_config_result(
        conda, tmp_path, CREDENTIALS_CONDARC, 0o600
    )
    assert "secret" in condarc.read_text()
    assert conda.search() == {}
    conda.run("anon-usage", "on")
    assert stat.S_IMODE(condarc.stat().st_mode) == 0o600
    assert list(conda.search()) == ["c", "s", "e"]


def test_off_keeps_a_symlinked_condarc_a_symlink(
    conda: Conda, home: Path, tmp_path: Path
):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "condarc"
    target.write_text(CREDENTIALS_CONDARC)
    (home / ".condarc").symlink_to(target)
    conda.run("anon-usage", "off")
    assert (home / ".condarc").is_symlink()
    assert os.readlink(home / ".condarc") == str(target)
    assert target.read_text() == conda_config_result(
        conda, tmp_path, CREDENTIALS_CONDARC, 0o644
    )
    assert conda.search() == {}


def test_off_in_a_read_only_home_is_an_error_like_condas(conda: Conda, tmp_path: Path):
    with read_only_mount(tmp_path / "rohome") as home:
        conda.home = home
        ours = conda.run("anon-usage", "off", check=False)
        theirs = conda.run(
            "config", "--set", "anaconda_anon_usage", "false", check=False
        )
    assert "Traceback" not in ours.stdout + ours.stderr
    assert ours.returncode == theirs.returncode != 0
    assert ours.stderr.strip() == theirs.stderr.strip()


def envs(conda: Conda, tmp_path: Path) -> tuple[Path, Path]:
    """base's token and a named environment's token, both in place."""
    conda.run("create", "-y", "-n", "target", PACKAGE)
    named = tmp_path / "envs" / "target"
    conda.search()  # makes base's token
    conda.search(CONDA_PREFIX=str(named))  # and the environment's
    return named, tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ("-p", "{prefix}", "reset", "--environment"),
        ("reset", "--environment", "-p", "{prefix}"),
        ("-n", "target", "reset", "--environment"),
        ("reset", "-n", "target"),
        ("-p", "{prefix}", "reset"),
    ],
    ids=" ".join,
)
def test_reset_resets_the_named_environment(
    conda: Conda, tmp_path: Path, root_prefix: Path, args: tuple[str, ...]
):
    named, _ = envs(conda, tmp_path)
    base_before = read_token(root_prefix / "etc" / "aau_token")
    named_before = read_token(named / "etc" / "aau_token")
    conda.run("anon-usage", *(a.format(prefix=named) for a in args))
    assert read_token(root_prefix / "etc" / "aau_token") == base_before
    assert read_token(named / "etc" / "aau_token") != named_before


@pytest.mark.parametrize(
    "args",
    [("-n", "target", "-p", "{prefix}"), ("-n", "target", "reset", "-p", "{prefix}")],
    ids=" ".join,
)
def test_name_and_prefix_together_are_rejected(
    conda: Conda, tmp_path: Path, args: tuple[str, ...]
):
    named = make_conda_env(tmp_path / "envs" / "target")
    ours = conda.run("anon-usage", *(a.format(prefix=named) for a in args), check=False)
    theirs = conda.run("list", "-n", "target", "-p", str(named), check=False)
    assert ours.returncode == theirs.returncode != 0
    assert "not allowed with argument" in ours.stderr
    assert not (named / "etc").exists()


def test_reset_on_a_fresh_home_and_an_environment_without_etc(
    conda: Conda, home: Path, tmp_path: Path
):
    prefix = make_conda_env(tmp_path / "bare")
    out = conda.run("anon-usage", "-p", str(prefix), "reset").stdout
    assert "client token replaced" in out and "environment token replaced" in out
    assert conda.search(CONDA_PREFIX=str(prefix)) == {
        "c": read_token(home / ".conda" / "aau_token"),
        "s": conda.last_tokens()["s"],
        "e": read_token(prefix / "etc" / "aau_token"),
    }


def doctor(conda: Conda, *args: str, **env: str) -> str:
    if conda_version() < (23, 11):
        pytest.skip("conda doctor health checks need conda >= 23.11")
    return conda.run("doctor", *args, check=False, **env).stdout


def test_doctor_lists_a_real_summary(conda: Conda):
    listed = doctor(conda, "--list")
    if "Available health checks" not in listed:
        pytest.skip("this conda's doctor has no --list")
    line = next(line for line in listed.splitlines() if "anaconda-anon-usage" in line)
    assert line.strip() != "anaconda-anon-usage: anaconda-anon-usage"
    assert "token" in line.split(":", 1)[1]


def test_doctor_agrees_with_itself_in_a_read_only_home(conda: Conda, tmp_path: Path):
    with read_only_mount(tmp_path / "rohome") as home:
        conda.home = home
        out = doctor(conda)
    client = next(line for line in out.splitlines() if "client token" in line)
    assert client.startswith("❌"), out
    assert "first use" not in client
    assert "every token location is writable" not in out


def test_doctor_when_dot_conda_is_a_file(conda: Conda, home: Path):
    (home / ".conda").write_text("not a directory\n")
    out = doctor(conda)
    client = next(line for line in out.splitlines() if "client token" in line)
    assert client.startswith("❌"), out
    assert f"{home / '.conda'} is not a directory" in client
    assert "every token location is writable" not in out


def test_paths_lists_every_file_read(conda: Conda, home: Path, root_prefix: Path):
    (home / ".condarc").write_text("channels: [a]\n")
    for stdlib in (False, True):
        command = [sys.executable, "-m", "anaconda_anon_usage"] if stdlib else [TOOL]
        env = conda.env()
        if stdlib:
            env["CONDA_ROOT"] = str(root_prefix)
        listed = subprocess.run(
            [*command, "--paths"], capture_output=True, text=True, env=env, check=True
        ).stdout.splitlines()
        assert str(home / ".condarc") in listed
        assert str(home / ".conda" / "aau_token") in listed
        assert str(root_prefix / "etc" / "aau_token") in listed
        assert "/etc/machine-id" in listed
        assert str(root_prefix / "org_token") in listed


ORACLE = r"""
import json, os, sys
from conda.base.context import reset_context, context
from conda.common.configuration import CustomValidationError
from anaconda_anon_usage import conda_adapter

def value():
    reset_context()
    try:
        return conda_adapter.enabled(context)
    except CustomValidationError:
        return "refused"

answers = []
for home in json.load(sys.stdin):
    os.environ["HOME"] = home
    os.environ.pop("CONDA_ANACONDA_ANON_USAGE", None)
    plain = value()
    is_set = any("anaconda_anon_usage" in v for k, v in context.raw_data.items()
                 if k not in ("envvars", "cmd_line"))
    opposite = "false" if plain is True else "true"
    os.environ["CONDA_ANACONDA_ANON_USAGE"] = opposite
    answers.append([is_set, plain, value() == plain])
print(json.dumps(answers))
"""


def _conda_reads(oracle: str, texts: list[str], tmp_path: Path) -> list:
    """What this conda's own Python answers (``oracle``) for each condarc
    text, each in a home of its own, in one process."""
    homes = []
    for index, text in enumerate(texts):
        home = tmp_path / f"case{index}"
        home.mkdir()
        (home / ".condarc").write_text(text, encoding="utf-8")
        homes.append(str(home))
    result = subprocess.run(
        [str(Path(CONDA).parent / "python"), "-c", oracle],
        input=json.dumps(homes),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=True,
    )
    return json.loads(result.stdout)


def test_the_readers_table_is_what_conda_reads(conda: Conda, tmp_path: Path):
    """Every form in test_condarc.py's table, read by this conda itself: set
    or not, the value (or refused), and whether it is final."""
    from test_condarc import READ

    answers = _conda_reads(ORACLE, list(READ), tmp_path)
    mismatches = []
    for (text, expected), (is_set, value, final) in zip(
        READ.items(), answers, strict=True
    ):
        if expected is None:
            ours = [False, True, False]
        else:
            shown = "refused" if expected.value is None else expected.value
            ours = [True, shown, expected.final]
        theirs = [is_set, value, final if is_set and value != "refused" else False]
        if ours != theirs:
            mismatches.append((text, ours, theirs))
    assert mismatches == []


ORACLE_ANY = r"""
import json, os, sys
from conda.base.context import reset_context, context
from conda.common.configuration import CustomValidationError
from anaconda_anon_usage import conda_adapter

answers = []
for home in json.load(sys.stdin):
    os.environ["HOME"] = home
    try:
        reset_context()
        answers.append(conda_adapter.enabled(context))
    except CustomValidationError:
        answers.append("refused")
    except Exception as error:
        answers.append("crash: " + type(error).__name__)
print(json.dumps(answers))
"""

KEYS = [
    "anaconda_anon_usage",
    "'anaconda_anon_usage'",
    '"anaconda_anon_usage"',
    '"anaconda\\x5fanon_usage"',
    "anaconda_anon_usage ",
    "Anaconda_anon_usage",
]
VALUES = [
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "0",
    "1",
    "2",
    "-1",
    "",
    "~",
    "null",
    "none",
    "non",
    "garbage",
    "'false'",
    '"true"',
    "'off'",
    "!!bool false",
    "!!bool yes",
    "0x1",
    ".5",
    "1e3",
    '""',
    "' '",
    "True",
    "FALSE",
    "&a no",
    "*a",
    "|\n  false",
    "[false]",
]
LAYOUTS = [
    "{key}: {value}{comment}\n",
    "{key}:\n  {value}{comment}\n",
    "{{{key}: {value}}}{comment}\n",
    "{{channels: [a, b], {key}: {value}}}\n",
    "  x: 1\n  {key}: {value}{comment}\n",
]
BEFORE = ["", "channels:\n- a\n- b\n", "# note\n", "---\n", "\ufeff", "x: 'q'\n"]
COMMENTS = ["", " #!final", " # note"]


def test_the_reader_never_says_on_where_conda_says_off(conda: Conda, tmp_path: Path):
    """Seeded random condarc texts: where conda runs at all, the reader's
    answer is conda's whenever it is certain, and never on where conda is
    off (uncertain counts as off)."""
    import random

    from anaconda_anon_usage.condarc import Uncertain, read_setting

    chooser = random.Random(8)
    texts = sorted(
        {
            chooser.choice(BEFORE)
            + chooser.choice(LAYOUTS).format(
                key=chooser.choice(KEYS),
                value=chooser.choice(VALUES),
                comment=chooser.choice(COMMENTS),
            )
            for _ in range(400)
        }
    )
    answers = _conda_reads(ORACLE_ANY, texts, tmp_path)
    compared = wrong = certain = 0
    problems = []
    for text, theirs in zip(texts, answers, strict=True):
        if isinstance(theirs, str) and theirs.startswith("crash"):
            continue  # conda does not run at all: nothing is sent
        conda_on = theirs is True
        try:
            setting = read_setting(text)
        except Uncertain:
            ours_on, sure = False, False
        else:
            ours_on = True if setting is None else setting.value is True
            sure = True
        compared += 1
        certain += sure
        if (sure and ours_on != conda_on) or (ours_on and not conda_on):
            wrong += 1
            problems.append((text, ours_on, theirs))
    assert problems == [], f"{wrong} of {compared}"
    assert compared > 200 and certain > compared // 2


def test_tool_and_conda_agree_on_a_missing_named_environment(conda: Conda, home: Path):
    shown = conda.run("anon-usage", "-n", "no-such-env", check=False)
    tool = subprocess.run(
        [TOOL, "-n", "no-such-env"], capture_output=True, text=True, env=conda.env()
    )
    assert shown.returncode == tool.returncode == 1, tool.stdout
    assert tool.stdout == "" and "no conda environment at" in tool.stderr
    assert not (home / ".conda" / "aau_token").exists()


def test_json_output_of_every_action_is_one_json_document(conda: Conda, home: Path):
    """``--json`` before an action: stdout is JSON and nothing else (today
    ``off``/``on`` printed conda config's JSON followed by text, and ``reset``
    plain text)."""
    off = conda.run("anon-usage", "--json", "off")
    data = json.loads(off.stdout)
    assert data["anaconda_anon_usage"] is False and data["enabled"] is False
    assert data["written_to"] == str(home / ".condarc")
    on = json.loads(conda.run("anon-usage", "--json", "on").stdout)
    assert on["anaconda_anon_usage"] is True and on["enabled"] is True
    reset = json.loads(conda.run("anon-usage", "--json", "reset", "--client").stdout)
    client = (home / ".conda" / "aau_token").read_text().split()[0]
    assert reset["success"] is True
    assert [(t["name"], t["value"]) for t in reset["tokens"]] == [("client", client)]
    missing = conda.run("anon-usage", "--json", "-n", "no-such-env", check=False)
    assert missing.returncode == 1
    assert "no conda environment at" in json.loads(missing.stdout)["error"]


@pytest.mark.parametrize("flag", ["-n", "-p", "--name=", "--prefix="])
def test_an_empty_target_is_refused_not_taken_for_the_default_environment(
    conda: Conda, root_prefix: Path, flag: str
):
    """``reset -n "$ENV"`` with ENV unset must not reset the base
    environment's token: conda refuses an empty -n/-p for its own commands."""
    conda.run("anon-usage", "reset", "--environment")
    token = root_prefix / "etc" / "aau_token"
    before = read_token(token)
    args = [flag] if flag.endswith("=") else [flag, ""]
    result = conda.run("anon-usage", "reset", "--environment", *args, check=False)
    assert result.returncode != 0, result.stdout
    assert "requires a value" in result.stderr
    assert read_token(token) == before
    shown = conda.run("anon-usage", *args, check=False)
    assert shown.returncode != 0 and shown.stdout == ""


@pytest.mark.parametrize("where", ["after", "before"])
def test_json_with_a_target_keeps_conda_errors_json(
    conda: Conda, tmp_path: Path, where: str
):
    """-n/-p make conda's context target another environment; conda's own
    errors after that (a read-only home for ``off``) stay JSON with --json."""
    make_conda_env(tmp_path / "envs" / "x")
    args = ["off", "--json", "-n", "x"] if where == "after" else ["off", "-n", "x"]
    wrap = [] if where == "after" else ["--json"]
    with read_only_mount(tmp_path / "rohome") as home:
        result = conda.run(*wrap, "anon-usage", *args, check=False, HOME=str(home))
    assert result.returncode == 1
    assert "Read-only file system" in json.loads(result.stdout)["error"]


def test_json_before_the_subcommand_is_honoured(conda: Conda, home: Path):
    """``conda --json anon-usage ...``: conda's own ``--json``, before the
    subcommand, asks for the same JSON as ``--json`` after it."""
    shown = json.loads(conda.run("--json", "anon-usage").stdout)
    assert [t["kind"] for t in shown["tokens"]][:2] == ["c", "s"]
    off = json.loads(conda.run("--json", "anon-usage", "off").stdout)
    assert off["anaconda_anon_usage"] is False and off["enabled"] is False
    on = json.loads(conda.run("--json", "anon-usage", "on").stdout)
    assert on["enabled"] is True
    reset = json.loads(conda.run("--json", "anon-usage", "reset", "--client").stdout)
    assert reset["success"] is True and reset["tokens"][0]["name"] == "client"
    missing = conda.run("--json", "anon-usage", "-n", "no-such-env", check=False)
    assert missing.returncode == 1
    assert "no conda environment at" in json.loads(missing.stdout)["error"]


@pytest.mark.parametrize(
    "args",
    [
        ("--json", "--client"),
        ("--environment", "--json"),
        ("off", "--client", "--json"),
    ],
    ids=" ".join,
)
def test_a_usage_error_of_ours_with_json_is_one_json_document(
    conda: Conda, home: Path, args: tuple[str, ...]
):
    """``--client``/``--environment`` without ``reset`` is refused by our own
    check, not argparse's: with ``--json`` stdout was empty (the one-line
    error went to stderr only), unlike a missing environment's JSON error."""
    result = conda.run("anon-usage", *args, check=False)
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["success"] is False
    assert "go with reset only" in data["error"]
    assert "Traceback" not in result.stderr
    assert not (home / ".condarc").exists()


@pytest.mark.parametrize("args", [("-n", "no-such-env"), ("-n", "a/b")], ids=" ".join)
def test_the_tool_with_json_gives_one_json_document_on_errors(
    conda: Conda, home: Path, args: tuple[str, ...]
):
    """A missing environment and a name conda refuses: JSON on stdout, as
    ``conda anon-usage --json`` gives for the first (stdout was empty)."""
    tool = subprocess.run(
        [TOOL, "--json", *args], capture_output=True, text=True, env=conda.env()
    )
    assert tool.returncode == 1
    data = json.loads(tool.stdout)
    assert data["success"] is False and data["error"]
    assert "Traceback" not in tool.stderr
    assert not (home / ".conda" / "aau_token").exists()


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_the_tool_finds_no_missing_environment_in_a_fresh_envs_dir(
    conda: Conda, home: Path, tmp_path: Path, json_flag: tuple[str, ...]
):
    """conda 23.7.4 outside its command line: finding where ``-n`` would go
    makes a fresh envs directory and logs at conda's TRACE level, which its
    command line sets up; the tool did not, so the lookup failed, the base
    environment was shown instead (exit 0) and a client token was made."""
    envs = tmp_path / "fresh-envs"
    tool = subprocess.run(
        [TOOL, *json_flag, "-n", "no-such-env"],
        capture_output=True,
        text=True,
        env=conda.env(CONDA_ENVS_DIRS=str(envs)),
    )
    assert tool.returncode == 1, tool.stdout
    where = str(envs / "no-such-env")
    if json_flag:
        assert json.loads(tool.stdout)["error"] == f"no conda environment at {where}"
    else:
        assert tool.stdout == ""
        assert f"no conda environment at {where}" in tool.stderr
    assert not (home / ".conda" / "aau_token").exists()


def test_reset_when_dot_conda_is_a_file_names_the_problem(conda: Conda, home: Path):
    (home / ".conda").write_text("a file, not a directory\n")
    result = conda.run("anon-usage", "reset", "--client", check=False)
    assert result.returncode == 1
    assert f"{home / '.conda'} is not a directory" in result.stdout
    assert "File exists" not in result.stdout and "Traceback" not in result.stderr
    assert (home / ".conda").read_text() == "a file, not a directory\n"
