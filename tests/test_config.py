"""The standard-library reading of ``anaconda_anon_usage`` follows conda's rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anaconda_anon_usage import config
from anaconda_anon_usage.config import parse_boolean, resolve


@pytest.mark.parametrize(
    "word", ["true", "True", "YES", "on", "y", "1", "2", "1.5", "inf", "j"]
)
def test_true_words(word: str):
    assert parse_boolean(word) is True


@pytest.mark.parametrize(
    "word", ["false", "No", "OFF", "n", "0", "0.0", "", " ", "none", "non", "."]
)
def test_false_words(word: str):
    assert parse_boolean(word) is False


@pytest.mark.parametrize("word", ["maybe", "tru", "garbage", "\u00bd", "'on'"])
def test_other_words_are_refused_like_conda_does(word: str):
    assert parse_boolean(word) is None


def test_default_is_enabled(tmp_path: Path):
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(True, "default")


def test_user_condarc_turns_it_off(home: Path, tmp_path: Path):
    (home / ".condarc").write_text("anaconda_anon_usage: off\n")
    decision = resolve(root_prefix=str(tmp_path))
    assert decision == config.Decision(False, str(home / ".condarc"))


def test_later_files_override_earlier_ones(home: Path, tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    (root / ".condarc").write_text("anaconda_anon_usage: false\n")
    (home / ".condarc").write_text("anaconda_anon_usage: yes\n")
    assert resolve(root_prefix=str(root)).enabled is True


def test_final_in_an_earlier_file_wins(home: Path, tmp_path: Path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    (root / ".condarc").write_text("anaconda_anon_usage: true #!final\n")
    (home / ".condarc").write_text("anaconda_anon_usage: false\n")
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    decision = resolve(root_prefix=str(root))
    assert decision == config.Decision(True, str(root / ".condarc"))


def test_environment_variable_overrides_files(home: Path, tmp_path: Path, monkeypatch):
    (home / ".condarc").write_text("anaconda_anon_usage: false\n")
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "on")
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(
        True, "CONDA_ANACONDA_ANON_USAGE"
    )


@pytest.mark.parametrize("value", ["1", "true", "yes", "2", "TRUE ", "anything"])
def test_do_not_track_turns_it_off(tmp_path: Path, monkeypatch, value: str):
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "true")
    monkeypatch.setenv("DO_NOT_TRACK", value)
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(False, "DO_NOT_TRACK")


@pytest.mark.parametrize("value", ["0", "", " ", "false", "No", "off", "n"])
def test_do_not_track_zero_does_nothing(tmp_path: Path, monkeypatch, value: str):
    monkeypatch.setenv("DO_NOT_TRACK", value)
    assert resolve(root_prefix=str(tmp_path)).enabled is True


def test_a_refused_value_turns_tokens_off(home: Path, tmp_path: Path, monkeypatch):
    """conda refuses a value that is not a boolean; the plugin then sends no
    tokens, so the tool says off, naming the source."""
    (home / ".condarc").write_text("anaconda_anon_usage: perhaps\n")
    decision = resolve(root_prefix=str(tmp_path))
    assert decision.enabled is False
    assert decision.source.startswith(str(home / ".condarc"))
    assert "not a boolean" in decision.source
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "sometimes")
    decision = resolve(root_prefix=str(tmp_path))
    assert decision == config.Decision(
        False, "CONDA_ANACONDA_ANON_USAGE (not a boolean: conda refuses it)"
    )


def test_only_the_winning_value_must_be_a_boolean(
    home: Path, tmp_path: Path, monkeypatch
):
    (home / ".condarc").write_text("anaconda_anon_usage: perhaps\n")
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "yes")
    assert resolve(root_prefix=str(tmp_path)).enabled is True


@pytest.mark.parametrize(
    ("value", "enabled"),
    [("", False), ("none", False), ("non", False), ("garbage", False), ("2", True)],
)
def test_environment_variable_values_as_conda_reads_them(
    tmp_path: Path, monkeypatch, value: str, enabled: bool
):
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", value)
    assert resolve(root_prefix=str(tmp_path)).enabled is enabled


def test_environment_variable_any_case_and_important(
    home: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("CONDA_Anaconda_Anon_Usage", "false")
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(
        False, "CONDA_Anaconda_Anon_Usage"
    )
    monkeypatch.delenv("CONDA_Anaconda_Anon_Usage")
    (tmp_path / ".condarc").write_text("anaconda_anon_usage: false\n")
    monkeypatch.setenv("CONDARC", str(tmp_path / ".condarc"))
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "true!important")
    assert resolve(root_prefix=str(tmp_path)).enabled is True


def test_do_not_track_names_itself_over_the_variable(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(False, "DO_NOT_TRACK")


def test_target_prefix_condarc_is_read(home: Path, tmp_path: Path, monkeypatch):
    env = tmp_path / "env"
    env.mkdir()
    (env / ".condarc").write_text("{anaconda_anon_usage: false}\n")
    assert resolve(root_prefix=str(tmp_path)).enabled is True
    decision = resolve(root_prefix=str(tmp_path), target_prefix=str(env))
    assert decision == config.Decision(False, str(env / ".condarc"))
    monkeypatch.setenv("CONDA_PREFIX", str(env))
    assert resolve(root_prefix=str(tmp_path)).enabled is False


def test_home_unset_uses_the_accounts_home(tmp_path: Path, monkeypatch):
    import pwd

    monkeypatch.delenv("HOME")
    account = pwd.getpwuid(os.getuid()).pw_dir
    files = config.search_path_files(root_prefix=str(tmp_path))
    assert config.expand("~/.condarc", {}, {}) == os.path.join(account, ".condarc")
    assert all(not path.startswith("~") for path in files)


def test_no_home_at_all_is_off(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("HOME")
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)
    decision = resolve(root_prefix=str(tmp_path))
    assert decision.enabled is False
    assert "cannot be read for certain" in decision.source


def test_unreadable_or_uncertain_files_turn_it_off(home: Path, tmp_path: Path):
    (home / ".condarc").write_bytes(b"x: caf\xe9\nanaconda_anon_usage: true\n")
    assert resolve(root_prefix=str(tmp_path)).enabled is False
    (home / ".condarc").write_bytes(b"x: caf\xe9\n")  # cannot name the key
    assert resolve(root_prefix=str(tmp_path)).enabled is True
    (home / ".condarc").write_text("anaconda_anon_usage: *alias\n")
    decision = resolve(root_prefix=str(tmp_path))
    assert decision.enabled is False and str(home / ".condarc") in decision.source


def test_a_file_read_twice_through_a_link_counts_as_conda_versions_differ(
    home: Path, tmp_path: Path, monkeypatch
):
    """23.7 reads each real file once (first place), newer conda each
    spelling once: where that changes the answer, tokens are off."""
    (home / ".condarc").write_text("anaconda_anon_usage: false\n")
    (tmp_path / ".condarc").write_text("anaconda_anon_usage: true\n")
    link = tmp_path / "link.yml"
    link.symlink_to(home / ".condarc")
    monkeypatch.setenv("CONDARC", str(link))
    monkeypatch.setenv("CONDA_PREFIX", str(tmp_path))
    decision = resolve(root_prefix=str(tmp_path / "root"))
    assert decision.enabled is False


def test_condarc_d_xdg_and_condarc_variable(home: Path, tmp_path: Path, monkeypatch):
    xdg = tmp_path / "xdg"
    (xdg / "conda" / "condarc.d").mkdir(parents=True)
    (xdg / "conda" / "condarc.d" / "50-aau.yml").write_text("anaconda_anon_usage: no\n")
    (xdg / "conda" / "condarc.d" / "ignored.txt").write_text(
        "anaconda_anon_usage: yes\n"
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert resolve(root_prefix=str(tmp_path)).enabled is False
    extra = tmp_path / "extra.yml"
    extra.write_text("anaconda_anon_usage: yes\n")
    monkeypatch.setenv("CONDARC", str(extra))
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(True, str(extra))


def test_a_condarc_directory_is_read_as_conda_reads_it(home: Path, tmp_path: Path):
    (home / ".condarc").mkdir()  # conda reads the *.yml files in it
    assert resolve(root_prefix=str(tmp_path)).enabled is True
    (home / ".condarc" / "x.yml").write_text("anaconda_anon_usage: no\n")
    assert resolve(root_prefix=str(tmp_path)).enabled is False


def test_condarc_variable_needs_a_condarc_or_yaml_name(tmp_path: Path, monkeypatch):
    odd = tmp_path / "myconfig"
    odd.write_text("anaconda_anon_usage: false\n")
    monkeypatch.setenv("CONDARC", str(odd))
    assert resolve(root_prefix=str(tmp_path)).enabled is True  # conda skips it
