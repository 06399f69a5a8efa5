"""Administrator tokens: installer (i/), organisation (o/), machine (m/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anaconda_anon_usage import useragent
from anaconda_anon_usage.cli import main
from anaconda_anon_usage.redaction import redact


def sent(root: Path) -> list[tuple[str, str]]:
    return [(t.kind, t.value) for t in useragent.system_tokens(str(root))]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


def test_none_by_default(root: Path):
    assert sent(root) == []


def test_variables_and_files_in_path_order(root, home, tmp_path, monkeypatch):
    xdg = tmp_path / "xdg"
    (xdg / "conda").mkdir(parents=True)
    (home / ".config" / "conda").mkdir(parents=True)
    (home / ".conda").mkdir()
    active = tmp_path / "active"
    active.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("CONDA_PREFIX", str(active))
    monkeypatch.setenv("ANACONDA_ANON_USAGE_ORG_TOKEN", "org-from-variable")
    (root / "org_token").write_text("org-root\n")
    (xdg / "conda" / ".org_token").write_text("\n  org-xdg  \n")
    (home / ".config" / "conda" / "machine_token").write_text("machine_1")
    (home / ".conda" / "installer_token").write_text("installer-A")
    (active / "org_token").write_text("org-active")
    assert sent(root) == [
        ("i", "installer-A"),
        ("o", "org-from-variable"),
        ("o", "org-root"),
        ("o", "org-xdg"),
        ("o", "org-active"),
        ("m", "machine_1"),
    ]


def test_each_value_once_variable_first(root, home, monkeypatch):
    monkeypatch.setenv("ANACONDA_ANON_USAGE_MACHINE_TOKEN", "same")
    (root / "machine_token").write_text("same")
    (root / ".machine_token").write_text("other")
    tokens = useragent.system_tokens(str(root))
    assert [(t.kind, t.value) for t in tokens] == [("m", "same"), ("m", "other")]
    assert tokens[0].source == "$ANACONDA_ANON_USAGE_MACHINE_TOKEN"


@pytest.mark.parametrize(
    "content", ["", "x" * 37, "has space", "semi;colon", "ünïcode", "a/b"]
)
def test_invalid_values_are_dropped(root, content, capsys, monkeypatch):
    monkeypatch.setenv("ANACONDA_ANON_USAGE_DEBUG", "1")
    (root / "installer_token").write_text(content)
    assert sent(root) == []
    assert "dropping i token" in capsys.readouterr().err


def test_binary_and_directory_files_are_dropped(root):
    (root / "installer_token").write_bytes(b"\x00\x01abc")
    (root / "org_token").mkdir()
    (root / "machine_token").write_text("x" * 36)
    assert sent(root) == [("m", "x" * 36)]


def test_active_prefix_equal_to_root_is_read_once(root, monkeypatch):
    monkeypatch.setenv("CONDA_PREFIX", str(root))
    (root / "org_token").write_text("org")
    assert useragent.system_token_directories(str(root)).count(str(root)) == 1
    assert sent(root) == [("o", "org")]


def test_sent_after_the_environment_token(root, conda_env, monkeypatch):
    monkeypatch.setenv("ANACONDA_ANON_USAGE_INSTALLER_TOKEN", "inst")
    monkeypatch.setenv("ANACONDA_ANON_USAGE_MACHINE_TOKEN", "mach")
    found = useragent.collect_tokens(str(conda_env), str(root))
    line = useragent.aau_user_agent(found)
    assert [t.kind for t in found] == ["c", "s", "e", "i", "m"]
    assert line.endswith(" i/inst m/mach")
    assert redact("conda/1 " + line).endswith(" e/. i/. m/.")


def test_cli_detail_paths_and_disabled(root, conda_env, home, monkeypatch, capsys):
    monkeypatch.setenv("CONDA_ROOT", str(root))
    (root / "org_token").write_text("acme")
    assert main(["--detail", "-p", str(conda_env)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith(" o/acme")
    assert f"o/acme  organization: {root / 'org_token'}" in out
    assert main(["--paths", "-p", str(conda_env)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert str(root / "org_token") in listed
    assert "/etc/conda/installer_token" in listed
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert main(["-p", str(conda_env)]) == 0
    assert "acme" not in capsys.readouterr().out


def test_every_administrator_token_file_name_is_recognised_in_a_listing():
    """The listing's name table (a literal, not built at import) names each
    file of ``SYSTEM_TOKEN_FILES``, with and without a leading dot, and
    nothing else."""
    expected = {}
    for kind, name in useragent.SYSTEM_TOKEN_FILES.items():
        expected[name] = expected["." + name] = kind
    assert expected == useragent._SYSTEM_FILE_KINDS
