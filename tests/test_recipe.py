"""The conda recipe agrees with pyproject.toml (conda-build cannot run here).

The recipe is rendered the way conda-build does it: Jinja first (with
conda-build's ``load_file_regex`` helper), then YAML.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

jinja2 = pytest.importorskip("jinja2", reason="jinja2 comes with the dev extra")
yaml = pytest.importorskip("yaml", reason="pyyaml comes with the dev extra")

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipe" / "meta.yaml"


def load_file_regex(load_file: str, regex_pattern: str, from_recipe_dir: bool = False):
    base = RECIPE.parent if from_recipe_dir else ROOT
    return re.search(regex_pattern, (base / load_file).read_text())


def render() -> dict[str, Any]:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    template = environment.from_string(RECIPE.read_text())
    text = template.render(load_file_regex=load_file_regex, PYTHON="python")
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def recipe() -> dict[str, Any]:
    return render()


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_name_and_version_come_from_the_package(recipe, project):
    from anaconda_anon_usage import __version__

    assert recipe["package"]["name"] == project["name"]
    assert recipe["package"]["version"] == __version__
    assert "version" in project["dynamic"]


def test_noarch_python_built_with_pip(recipe):
    build = recipe["build"]
    assert build["noarch"] == "python"
    assert build["script"].split()[1:] == [
        "-m",
        "pip",
        "install",
        ".",
        "--no-deps",
        "--no-build-isolation",
        "-vv",
    ]


def test_python_bound_matches(recipe, project):
    bound = project["requires-python"]
    assert f"python {bound}" in recipe["requirements"]["run"]
    assert f"python {bound}" in recipe["requirements"]["host"]


def test_conda_is_a_constraint_not_a_dependency(recipe, project):
    assert "conda >=23.7" in recipe["requirements"]["run_constrained"]
    assert not any(dep.split()[0] == "conda" for dep in recipe["requirements"]["run"])
    assert not any(re.match(r"conda\b", dep) for dep in project["dependencies"])


def test_license_matches(recipe, project):
    assert recipe["about"]["license"] == project["license"]
    assert recipe["about"]["license_file"] in project["license-files"]
    assert (ROOT / recipe["about"]["license_file"]).is_file()


def test_entry_points_match(recipe, project):
    scripts = [f"{k} = {v}" for k, v in project["scripts"].items()]
    assert recipe["build"]["entry_points"] == scripts
    assert project["entry-points"]["conda"] == {
        "anaconda-anon-usage": "anaconda_anon_usage.plugin"
    }


def test_every_test_command_exists(recipe, project):
    available = set(project["scripts"]) | {"python"}
    available |= {spec.split()[0] for spec in recipe["test"]["requires"]}
    for command in recipe["test"]["commands"]:
        for segment in command.split("|"):
            program = shlex.split(segment)[0]
            assert program in available, (program, command)
    for module in recipe["test"]["imports"]:
        path = ROOT / "src" / module.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_test_section_checks_what_the_issue_asks(recipe):
    commands = recipe["test"]["commands"]
    assert "anaconda-anon-usage --version" in commands
    assert "pip check" in commands
    assert any(c.startswith("conda info") and " aau/" in c for c in commands)
    assert "anaconda_anon_usage" in recipe["test"]["imports"]
