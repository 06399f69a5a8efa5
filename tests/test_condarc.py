"""The standard-library condarc reader: the forms conda accepts give conda's
answer; what it cannot read for certain is ``Uncertain`` (tokens off).

The same texts are checked against a real conda in test_real_conda_config.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from anaconda_anon_usage.condarc import Setting, Uncertain, read_setting

OFF, ON = Setting(False, False), Setting(True, False)
FINAL_ON = Setting(True, True)

# text -> what conda 23.7.4 and main make of it (checked in a real conda)
READ = {
    "anaconda_anon_usage: false\n": OFF,
    "{anaconda_anon_usage: false}\n": OFF,
    "{channels: [a, {b: c}], anaconda_anon_usage: false}\n": OFF,
    "{\n  channels: [a, b],\n  anaconda_anon_usage: no\n}\n": OFF,
    "'anaconda_anon_usage': false\n": OFF,
    '"anaconda_anon_usage": false\n': OFF,
    "\ufeffanaconda_anon_usage: false\n": OFF,
    "anaconda_anon_usage:\n  false\n": OFF,
    "anaconda_anon_usage: !!bool false\n": OFF,
    "anaconda_anon_usage: !!bool off\n": OFF,
    "anaconda_anon_usage:\n": OFF,
    "anaconda_anon_usage: ~\n": OFF,
    "anaconda_anon_usage: off\n": OFF,
    "anaconda_anon_usage: 'off'\n": OFF,
    "anaconda_anon_usage: 0\n": OFF,
    "anaconda_anon_usage: 2\n": ON,
    "anaconda_anon_usage: maybe\n": Setting(None, False),
    '"anaconda\\x5fanon_usage": false\n': OFF,
    "  anaconda_anon_usage: false\n": OFF,
    "---\nanaconda_anon_usage: false\n...\n": OFF,
    "anaconda_anon_usage: false\r\n": OFF,
    "anaconda_anon_usage: &x yes\n": ON,
    "Anaconda_Anon_Usage: false\n": None,
    "# anaconda_anon_usage: false\n": None,
    "channels:\n- anaconda_anon_usage\n- b\nx: 'anaconda_anon_usage: no'\n": None,
    "channels:\n- a\n- b\nanaconda_anon_usage: true\n": ON,
    "x: |\n  anaconda_anon_usage: false\nanaconda_anon_usage: yes\n": ON,
    "anaconda_anon_usage: true #!final\n": FINAL_ON,
    "anaconda_anon_usage: true # !final\n": ON,
    "anaconda_anon_usage: true #!final\n# note\n": ON,
    "anaconda_anon_usage: true #!final\n\nx: 1\n": FINAL_ON,
    "anaconda_anon_usage: true #!final\n  # note\nx: 1\n": ON,
    "anaconda_anon_usage:\n  true #!final\n": FINAL_ON,
    "anaconda_anon_usage: 'true' #!final\n": FINAL_ON,
    "anaconda_anon_usage: true #!final!\n": FINAL_ON,
    "{anaconda_anon_usage: true} #!final\n": ON,
}

# conda reads these as off or refuses them, or crashes; either way no
# tokens: this reader cannot be sure, so off
UNCERTAIN = [
    "anaconda_anon_usage: 0x1\n",
    "anaconda_anon_usage: .nan\n",
    "anaconda_anon_usage: 2001-01-01\n",
    "anaconda_anon_usage: true\n  false\n",
    "anaconda_anon_usage: false\nanaconda_anon_usage: true\n",
    "a: 1\n---\nanaconda_anon_usage: false\n",
    "- anaconda_anon_usage: false\n",
    "anaconda_anon_usage: false\nfoo: [\n",
    "anaconda_anon_usage: |\n  false\n",
    "x: &a false\nanaconda_anon_usage: *a\n",
    "anaconda_anon_usage: !!str false\n",
    "? anaconda_anon_usage\n: false\n",
    "<<: {anaconda_anon_usage: false}\n",
    "anaconda_anon_usage:\tfalse\n",
    "%YAML 1.1\n---\nanaconda_anon_usage: off\n",
    "{anaconda_anon_usage: true #!final\n}\n",
    "anaconda_anon_usage:false\n",
    '"anaconda_anon_usage":false\n',
    'x: "a\\\n  b"\nanaconda_anon_usage: true\n',
]


@pytest.mark.parametrize("text", list(READ), ids=repr)
def test_forms_conda_accepts(text: str):
    assert read_setting(text) == READ[text]


@pytest.mark.parametrize("text", UNCERTAIN, ids=repr)
def test_what_cannot_be_read_for_certain(text: str):
    with pytest.raises(Uncertain):
        read_setting(text)


def test_a_file_that_cannot_spell_the_key_is_not_parsed():
    assert read_setting("channels: [unclosed\n? odd: *alias\n") is None


# A flow node cut short right after an anchor or a tag (a half-edited or
# truncated file): the reader stopped advancing and looped for ever.
CUT_AFTER_A_PROPERTY = [
    "{anaconda_anon_usage: &",
    "{anaconda_anon_usage: !!bool",
    "{anaconda_anon_usage: [&a",
    "anaconda_anon_usage: true\nchannels: [&",
    "anaconda_anon_usage: true\nchannels: [&a\n",
    "anaconda_anon_usage: true\nchannels: {a: &b\n",
    "lanaconda_anon_usage: [&",
]


@pytest.mark.parametrize("text", CUT_AFTER_A_PROPERTY, ids=repr)
def test_a_flow_node_cut_after_an_anchor_or_tag_is_uncertain(text: str):
    # in a child process: the failure is a loop that never ends
    code = (
        "import sys\n"
        "from anaconda_anon_usage.condarc import Uncertain, read_setting\n"
        "try:\n"
        "    read_setting(sys.argv[1])\n"
        "except Uncertain:\n"
        "    print('uncertain')\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code, text],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {text!r} never ends")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "uncertain\n"
