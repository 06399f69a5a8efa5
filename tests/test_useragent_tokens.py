"""Which tokens are gathered, from where, and what is left out."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import read_only_mount

from anaconda_anon_usage import pending as pending_tokens
from anaconda_anon_usage import useragent as collect
from anaconda_anon_usage.tokens import is_valid_token, read_token_file


def kinds(tokens: list[collect.Token]) -> list[str]:
    return [token.kind for token in tokens]


def test_client_session_environment_in_order(home: Path, conda_env: Path):
    tokens = collect.collect_tokens(str(conda_env))
    assert kinds(tokens) == ["c", "s", "e"]
    assert all(is_valid_token(token.value) for token in tokens)
    assert read_token_file(str(home / ".conda" / "aau_token")).token == tokens[0].value
    assert (conda_env / "etc" / "aau_token").read_text().strip() == tokens[2].value


def test_tokens_are_stable_and_session_is_per_process(conda_env: Path):
    first = collect.collect_tokens(str(conda_env))
    second = collect.collect_tokens(str(conda_env))
    assert first == second
    code = (
        "from anaconda_anon_usage.useragent import collect_tokens;"
        f"print(' '.join(t.value for t in collect_tokens({str(conda_env)!r})))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert other[0] == first[0].value  # client
    assert other[1] != first[1].value  # session
    assert other[2] == first[2].value  # environment


def test_no_token_is_derived_from_names(home: Path, conda_env: Path):
    values = " ".join(t.value for t in collect.collect_tokens(str(conda_env)))
    for name in (home.name, conda_env.name, "root"):
        assert name not in values


@pytest.mark.parametrize("home_value", [None, "", "/nonexistent/home"])
def test_without_a_home_the_client_token_is_left_out(
    monkeypatch, conda_env: Path, home_value: str | None
):
    if home_value is None:
        monkeypatch.delenv("HOME")
    else:
        monkeypatch.setenv("HOME", home_value)
    assert kinds(collect.collect_tokens(str(conda_env))) == ["s", "e"]
    assert not Path("/nonexistent").exists()


def test_read_only_home_leaves_out_the_client_token(monkeypatch, tmp_path, conda_env):
    with read_only_mount(tmp_path / "rohome") as home:
        monkeypatch.setenv("HOME", str(home))
        assert kinds(collect.collect_tokens(str(conda_env))) == ["s", "e"]


def test_read_only_environment_leaves_out_its_token(tmp_path: Path):
    with read_only_mount(tmp_path / "roenv") as prefix:
        # an environment whose files nobody may write: no conda-meta can be
        # made either, so it is not an environment: no e/, except for the
        # command that creates it (a pending token, stored once it exists)
        assert kinds(collect.collect_tokens(str(prefix))) == ["c", "s"]
        tokens = collect.collect_tokens(str(prefix), pending=True)
        assert kinds(tokens) == ["c", "s", "e"]
        assert "pending" in tokens[2].source
        pending_tokens.settle_created_environment(str(prefix))
        assert not (prefix / "etc").exists()


def test_a_directory_as_token_file_leaves_it_out(home: Path, conda_env: Path):
    (home / ".conda" / "aau_token").mkdir(parents=True)
    (conda_env / "etc" / "aau_token").mkdir(parents=True)
    assert kinds(collect.collect_tokens(str(conda_env))) == ["s"]


def test_not_yet_an_environment_creates_nothing(tmp_path: Path):
    prefix = tmp_path / "future-env"
    tokens = collect.collect_tokens(str(prefix), pending=True)
    pending = tokens[-1]
    assert pending.kind == "e" and "pending" in pending.source
    assert not prefix.exists()
    # the same process keeps sending the same pending token
    again = collect.collect_tokens(str(prefix), pending=True)
    assert again[-1].value == pending.value
    pending_tokens.settle_created_environment(str(prefix))
    assert not prefix.exists()
    # once conda has made the environment, the sent token is stored in it
    (prefix / "conda-meta").mkdir(parents=True)
    pending_tokens.settle_created_environment(str(prefix))
    assert read_token_file(str(prefix / "etc" / "aau_token")).token == pending.value
    assert collect.collect_tokens(str(prefix))[-1].value == pending.value


def test_a_created_environment_does_not_keep_a_copied_token(tmp_path: Path):
    """conda create --clone copies etc/aau_token: the clone gets its own."""
    copied = collect.new_token()
    for sent_a_request in (True, False):
        prefix = tmp_path / f"clone-{sent_a_request}"
        sent = (
            collect.collect_tokens(str(prefix), pending=True)[-1].value
            if sent_a_request
            else None
        )
        (prefix / "conda-meta").mkdir(parents=True)
        (prefix / "etc").mkdir()
        (prefix / "etc" / "aau_token").write_text(copied + "\n")
        pending_tokens.settle_created_environment(str(prefix))
        path = prefix / "etc" / "aau_token"
        if sent_a_request:
            assert read_token_file(str(path)).token == sent
        else:
            assert not path.exists()
        own = collect.environment_token(str(prefix))
        assert own is not None and own.value != copied


def test_the_target_is_noted_with_the_token_it_held(tmp_path: Path, conda_env: Path):
    """conda create's target is noted (to settle its token afterwards) with
    the token its environment held when the command began, if any."""
    held = collect.environment_token(str(conda_env))
    assert held is not None
    pending_tokens.note_target(str(conda_env))
    assert pending_tokens.target == str(conda_env)
    assert pending_tokens.held == held.value
    future = tmp_path / "a" / ".." / "future"
    pending_tokens.note_target(str(future))
    assert pending_tokens.target == str(tmp_path / "future")
    assert pending_tokens.held is None


def test_an_environment_made_again_keeps_the_token_sent_for_it(conda_env: Path):
    """``conda create -y`` over an environment removes it before its
    requests: the pending token sent for it is stored, not dropped."""
    own = collect.environment_token(str(conda_env))
    assert own is not None
    pending_tokens.note_target(str(conda_env))
    # conda removes the environment, then asks for the user-agent
    (conda_env / "etc" / "aau_token").unlink()
    shutil.rmtree(conda_env / "conda-meta")
    sent = collect.collect_tokens(str(conda_env), pending=True)[-1]
    assert "pending" in sent.source
    (conda_env / "conda-meta").mkdir()
    pending_tokens.settle_created_environment(str(conda_env), pending_tokens.held)
    assert read_token_file(str(conda_env / "etc" / "aau_token")).token == sent.value


def test_an_untouched_environment_keeps_its_own_token(conda_env: Path):
    """A create that changed nothing (no request, nothing copied) leaves the
    environment's token alone; one copied over it by a clone is removed."""
    own = collect.environment_token(str(conda_env))
    assert own is not None
    pending_tokens.note_target(str(conda_env))
    pending_tokens.settle_created_environment(str(conda_env), pending_tokens.held)
    assert read_token_file(str(conda_env / "etc" / "aau_token")).token == own.value
    (conda_env / "etc" / "aau_token").write_text(collect.new_token() + "\n")
    pending_tokens.settle_created_environment(str(conda_env), pending_tokens.held)
    assert not (conda_env / "etc" / "aau_token").exists()


def test_a_token_a_creating_command_sent_for_an_environment_is_kept(
    conda_env: Path,
):
    """An environment without a token when the command began, whose token
    the creating command then made and sent (conda 23.x sends the default
    target's), keeps it; one a clone copied there is still removed."""
    (conda_env / "etc").mkdir(exist_ok=True)
    pending_tokens.note_target(str(conda_env))
    assert pending_tokens.held is None
    sent = collect.collect_tokens(str(conda_env), pending=True)[-1]
    assert sent.kind == "e" and "pending" not in sent.source
    pending_tokens.settle()
    assert read_token_file(str(conda_env / "etc" / "aau_token")).token == sent.value
    (conda_env / "etc" / "aau_token").write_text(collect.new_token() + "\n")
    pending_tokens.settle()
    assert not (conda_env / "etc" / "aau_token").exists()


@pytest.mark.parametrize("where", ["plain", "missing"])
def test_a_target_that_is_not_an_environment_sends_no_e(tmp_path: Path, where):
    """A stale CONDA_PREFIX or a plain directory: a fresh e/ in every process
    would inflate environment counts."""
    prefix = tmp_path / where
    if where == "plain":
        prefix.mkdir()
        (prefix / "etc").mkdir()
        (prefix / "etc" / "aau_token").write_text(collect.new_token() + "\n")
    first = collect.collect_tokens(str(prefix))
    assert kinds(first) == ["c", "s"]
    pending_tokens.settle_created_environment(str(prefix))
    assert not (prefix / "conda-meta").exists()


def test_existing_directory_that_is_not_an_environment_is_untouched(tmp_path: Path):
    prefix = tmp_path / "plain"
    prefix.mkdir()
    collect.collect_tokens(str(prefix), pending=True)
    pending_tokens.settle_created_environment(str(prefix))
    assert list(prefix.iterdir()) == []


def test_threads_of_one_process_send_the_same_tokens(conda_env: Path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(lambda _: collect.collect_tokens(str(conda_env)), range(64))
        )
    assert all(result == results[0] for result in results)


def test_settle_stores_every_pending_token_of_an_environment_made(tmp_path: Path):
    """``conda env create -f FILE`` names its target after the pre-command
    hook noted the default one: the made environment still keeps its token."""
    default, made = tmp_path / "default", tmp_path / "from-file"
    pending_tokens.note_target(str(default))
    sent = collect.collect_tokens(str(made), pending=True)[-1].value
    (made / "conda-meta").mkdir(parents=True)
    pending_tokens.settle()
    assert read_token_file(str(made / "etc" / "aau_token")).token == sent
    assert not default.exists()
