"""The standard-library reading of ``anaconda_anon_usage`` follows conda's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from anaconda_anon_usage import config
from anaconda_anon_usage.config import find_setting, parse_boolean, resolve


@pytest.mark.parametrize(
    "word", ["true", "True", "YES", "on", "'on'", '"yes"', "y", "1"]
)
def test_true_words(word: str):
    assert parse_boolean(word) is True


@pytest.mark.parametrize("word", ["false", "No", "OFF", "'off'", "n", "0"])
def test_false_words(word: str):
    assert parse_boolean(word) is False


@pytest.mark.parametrize("word", ["", "maybe", "2", "tru"])
def test_other_words_are_not_booleans(word: str):
    assert parse_boolean(word) is None


def test_find_setting_reads_the_top_level_key_and_final_mark():
    text = "channels:\n  - defaults\nanaconda_anon_usage: off  #!final\n"
    assert find_setting(text) == ("off", True)
    assert find_setting("anaconda_anon_usage: true\n") == ("true", False)
    assert find_setting("  anaconda_anon_usage: false\n") is None  # nested
    assert find_setting("anaconda_anon_usage_x: false\n") is None
    assert find_setting("# anaconda_anon_usage: false\n") is None


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


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_do_not_track_turns_it_off(tmp_path: Path, monkeypatch, value: str):
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "true")
    monkeypatch.setenv("DO_NOT_TRACK", value)
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(False, "DO_NOT_TRACK")


@pytest.mark.parametrize("value", ["0", "", "false"])
def test_do_not_track_zero_does_nothing(tmp_path: Path, monkeypatch, value: str):
    monkeypatch.setenv("DO_NOT_TRACK", value)
    assert resolve(root_prefix=str(tmp_path)).enabled is True


def test_garbage_values_are_ignored(home: Path, tmp_path: Path, monkeypatch):
    (home / ".condarc").write_text("anaconda_anon_usage: perhaps\n")
    monkeypatch.setenv("CONDA_ANACONDA_ANON_USAGE", "sometimes")
    assert resolve(root_prefix=str(tmp_path)) == config.Decision(True, "default")


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


def test_unreadable_condarc_is_skipped(home: Path, tmp_path: Path):
    (home / ".condarc").mkdir()  # a directory where a file is expected
    assert resolve(root_prefix=str(tmp_path)).enabled is True
