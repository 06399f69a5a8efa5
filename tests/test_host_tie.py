"""A client token that arrives on another machine is replaced there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anaconda_anon_usage import tokens
from anaconda_anon_usage.tokens import load_or_create, read_token_file

MACHINE_ID = "3d1219c7c4c5404aaa1f6d2a48adfda4"


def test_same_machine_keeps_its_token_another_renews(tmp_path: Path):
    path = str(tmp_path / "aau_token")
    on_a = tokens.host_annotation("linux:machine-a")
    on_b = tokens.host_annotation("linux:machine-b")
    first = load_or_create(path, annotate=on_a)
    assert load_or_create(path, annotate=on_a) == first
    second = load_or_create(path, annotate=on_b)
    assert second != first
    assert load_or_create(path, annotate=on_b) == second


def test_the_tag_reveals_nothing_and_is_salted_by_the_token(tmp_path: Path):
    identity = f"linux:{MACHINE_ID}:myhost"
    path = tmp_path / "aau_token"
    token = load_or_create(str(path), annotate=tokens.host_annotation(identity))
    text = path.read_text()
    assert MACHINE_ID not in text and "myhost" not in text
    tag = read_token_file(str(path)).annotations[tokens.HOST_KEY]
    assert tag == tokens.host_tag(token, identity)
    assert tokens.host_tag(tokens.new_token(), identity) != tag


def test_no_identity_means_no_tie(tmp_path: Path):
    path = str(tmp_path / "aau_token")
    token = load_or_create(path, annotate=tokens.host_annotation(None))
    assert Path(path).read_text() == token + "\n"


def test_linux_identity_is_read_without_a_subprocess(monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")

    def no_subprocess(*args, **kwargs):
        raise AssertionError("a subprocess was started")

    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    identity = tokens.machine_identity()
    if not any(Path(p).exists() for p in tokens.LINUX_ID_FILES):
        assert identity is None
    else:
        assert identity and identity.startswith("linux:")


def _namespaces_available() -> bool:
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    if not Path("/etc/machine-id").is_file():
        return False
    probe = subprocess.run(["unshare", "-m", "-u", "true"], capture_output=True)
    return probe.returncode == 0


def client_token_on(machine_id: str, hostname: str, home: Path, tmp_path: Path) -> str:
    """Run the real tool on a simulated machine: a private mount and UTS
    namespace with its own /etc/machine-id and host name."""
    id_file = tmp_path / f"machine-id-{machine_id}"
    id_file.write_text(machine_id + "\n")
    script = (
        f"mount --bind {id_file} /etc/machine-id && hostname {hostname} && "
        f"exec {sys.executable} -m anaconda_anon_usage --json"
    )
    result = subprocess.run(
        ["unshare", "-m", "-u", "sh", "-c", script],
        capture_output=True,
        text=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    return next(t["value"] for t in data["tokens"] if t["kind"] == "c")


@pytest.mark.skipif(not _namespaces_available(), reason="needs root and unshare")
def test_a_copied_home_gets_a_new_token_on_another_machine(tmp_path: Path):
    home_a = tmp_path / "home-a"
    home_a.mkdir()
    first = client_token_on("a" * 32, "machine-a", home_a, tmp_path)
    assert client_token_on("a" * 32, "machine-a", home_a, tmp_path) == first

    home_b = tmp_path / "home-b"
    shutil.copytree(home_a, home_b)
    second = client_token_on("b" * 32, "machine-b", home_b, tmp_path)
    assert second != first
    assert client_token_on("b" * 32, "machine-b", home_b, tmp_path) == second
    # the original machine still has its own token
    assert client_token_on("a" * 32, "machine-a", home_a, tmp_path) == first


def test_the_identity_file_is_read_without_waiting(tmp_path: Path):
    plain = tmp_path / "machine-id"
    plain.write_text(f"\n{MACHINE_ID}\n")  # the first line only, even if blank
    assert tokens._read_first_line(str(plain)) is None
    plain.write_text(f"  {MACHINE_ID}  \nmore\n")
    assert tokens._read_first_line(str(plain)) == MACHINE_ID
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: a blocking open or read would hang here
    assert tokens._read_first_line(str(fifo)) is None
    assert tokens._read_first_line(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("odd", ["directory", "huge", "empty", "fifo"])
def test_an_odd_identity_file_gives_the_next_one_or_no_tie(
    tmp_path: Path, monkeypatch, odd: str
):
    """A machine-id that is no small regular file is passed over (the dbus
    copy is asked next); with none usable the token is not tied."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    first = tmp_path / "machine-id"
    if odd == "directory":
        first.mkdir()
    elif odd == "huge":
        first.write_text(MACHINE_ID + "\n" + "x" * tokens.MAX_FILE_BYTES)
    elif odd == "empty":
        first.write_text("")
    else:
        os.mkfifo(first)
    dbus = tmp_path / "dbus-machine-id"
    monkeypatch.setattr(tokens, "LINUX_ID_FILES", (str(first), str(dbus)))
    monkeypatch.setattr(tokens, "CONTAINER_MARKERS", ())
    assert tokens.machine_identity() is None
    path = str(tmp_path / "aau_token")
    token = load_or_create(path, annotate=tokens.host_annotation(None))
    assert Path(path).read_text() == f"{token}\n"
    dbus.write_text(MACHINE_ID + "\n")
    assert tokens.machine_identity() == f"linux:{MACHINE_ID}"
