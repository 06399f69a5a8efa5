"""The README's example run of ``aau-stats`` prints what a newcomer who
types it sees: each command of the block is run, and what the README shows
under it is the start of its output (a line ``…`` stands for the rest)."""

from __future__ import annotations

import glob
import os
import re
import shlex
from pathlib import Path

import pytest

pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def example_block() -> list[tuple[str, list[str]]]:
    """(command, shown output) of the console block that starts with the
    stats extra's install."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"```console\n(\$ pip install '\.\[stats\]'\n.*?)```", text, re.S)
    assert match, "the README's aau-stats example block"
    steps: list[tuple[str, list[str]]] = []
    for line in match.group(1).splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def run(command: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    words = shlex.split(command, comments=True)
    if words[0] == "pip":
        return []
    if words[0] == "rm":
        for word in words[1:]:
            os.unlink(word)
        return []
    if words[0] == "head":
        count = int(words[1].removeprefix("-"))
        return Path(words[2]).read_text().splitlines()[:count]
    assert words[0] == "aau-stats", command
    arguments = [
        match for word in words[1:] for match in sorted(glob.glob(word)) or [word]
    ]
    capsys.readouterr()
    assert main(arguments) == 0, command
    return capsys.readouterr().out.splitlines()


def test_the_readme_example_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for command, shown in example_block():
        output = run(command, capsys)
        if shown and shown[-1] == "…":
            shown = shown[:-1]
            output = output[: len(shown)]
        assert output == shown, command
