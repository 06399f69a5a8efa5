"""The core and the CLI never import conda; the plugin never imports the counting
side."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "anaconda_anon_usage",
    "anaconda_anon_usage.tokens",
    "anaconda_anon_usage.tokenstore",
    "anaconda_anon_usage.hostid",
    "anaconda_anon_usage.admintokens",
    "anaconda_anon_usage.config",
    "anaconda_anon_usage.condarc",
    "anaconda_anon_usage.useragent",
    "anaconda_anon_usage.pending",
    "anaconda_anon_usage.redaction",
    "anaconda_anon_usage.cli",
]


def imported_after(modules: list[str]) -> set[str]:
    code = (
        "import sys\n"
        f"for m in {modules!r}: __import__(m)\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_core_and_cli_never_import_conda():
    loaded = imported_after(CORE_MODULES)
    assert not {m for m in loaded if m == "conda" or m.startswith("conda.")}
    assert "pluggy" not in loaded


def test_core_imports_nothing_outside_the_standard_library():
    loaded = imported_after(CORE_MODULES)
    outside = {
        name.split(".")[0]
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith("anaconda_anon_usage")
        and not name.startswith("_")
    }
    assert not outside, outside


def test_conda_adapter_does_not_import_conda_at_import_time():
    loaded = imported_after(["anaconda_anon_usage.conda_adapter"])
    assert "conda" not in loaded
    # nor what only some commands need (conda info, conda config), nor the core
    for module in ("conda_display", "useragent", "tokens", "redaction"):
        assert f"anaconda_anon_usage.{module}" not in loaded


# What a command that sends tokens loads once every token file is in place:
# writing, administrator tokens' values (none are deployed here), redaction
# and the tool's modules are not among them.
STEADY_STATE = """
import sys
from anaconda_anon_usage import useragent
part = useragent.aau_user_agent(useragent.collect_tokens(sys.argv[1], sys.argv[2]))
assert " c/" in part and " e/" in part, part
print("\\n".join(sorted(m for m in sys.modules if m.startswith("anaconda_anon_usage"))))
"""


def test_the_steady_state_loads_only_the_hot_modules(tmp_path, home, conda_env):
    root = tmp_path / "base"
    root.mkdir()

    def loaded() -> set[str]:
        return set(
            subprocess.run(
                [sys.executable, "-c", STEADY_STATE, str(conda_env), str(root)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        )

    first = loaded()  # creates the token files
    assert "anaconda_anon_usage.tokenstore" in first
    assert loaded() == {
        "anaconda_anon_usage",
        "anaconda_anon_usage.useragent",
        "anaconda_anon_usage.tokens",
    }


def test_the_plugin_side_never_loads_the_counting_side():
    loaded = imported_after(
        [
            *CORE_MODULES,
            "anaconda_anon_usage.conda_adapter",
            "anaconda_anon_usage.controls",
        ]
    )
    assert not any(m.startswith("anaconda_anon_usage.stats") for m in loaded)
    assert "polars" not in loaded and "matplotlib" not in loaded


def test_no_plugin_side_module_mentions_the_counting_side():
    from pathlib import Path

    import anaconda_anon_usage

    package = Path(anaconda_anon_usage.__file__).parent
    for module in package.glob("*.py"):
        assert ".stats" not in module.read_text(), module.name


def test_aau_stats_without_the_extra_says_what_to_install():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, *args):\n"
        "        if name.split('.')[0] in ('polars', 'matplotlib'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from anaconda_anon_usage.stats.cli import main\n"
        "sys.exit(main(['totals']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "pip install 'anaconda-anon-usage[stats]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_plugins_path_does_not_load_the_tools_or_subcommands_modules():
    """Deciding on/off the way the tool does (config, condarc) and asking
    conda for the tool (conda_settings) are never on the plugin's path."""
    loaded = imported_after(["anaconda_anon_usage.conda_adapter"])
    for module in ("config", "condarc", "conda_settings", "controls", "cli"):
        assert f"anaconda_anon_usage.{module}" not in loaded
