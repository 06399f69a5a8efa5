import json

from anaconda_anon_usage import __version__
from anaconda_anon_usage.redaction import redact, redact_text
from anaconda_anon_usage.useragent import Token, aau_user_agent

C, S, E = "a" * 22, "b" * 22, "c" * 22


def test_version_only_without_tokens():
    assert aau_user_agent() == f"aau/{__version__}"


def test_tokens_in_fixed_order_whatever_the_input_order():
    tokens = [Token("e", E, "x"), Token("s", S, "x"), Token("c", C, "x")]
    assert aau_user_agent(tokens) == f"aau/{__version__} c/{C} s/{S} e/{E}"


def test_redact_replaces_only_our_values():
    conda = "conda/24.1.0 requests/2.31 CPython/3.11.7 Linux/6.1 debian/12 glibc/2.36"
    full = f"{conda} aau/{__version__} c/{C} s/{S} e/{E} o/org-1"
    assert redact(full) == f"{conda} aau/{__version__} c/. s/. e/. o/."


def test_redact_leaves_other_user_agents_alone():
    text = "conda/24.1.0 requests/2.31 c/notours"
    assert redact(text) == text
    assert redact(f"x aau/{__version__}") == f"x aau/{__version__}"


AGENT = f"conda/24.1.0 requests/2.31 aau/{__version__} c/{C} s/{S} e/{E} i/acme"
SHOWN = f"conda/24.1.0 requests/2.31 aau/{__version__} c/. s/. e/. i/."


def test_redact_text_finds_our_part_in_any_rendering():
    header_lines = f"> Host: x\n> User-Agent: {AGENT}\n> Accept: */*\n"
    assert (
        redact_text(header_lines)
        == f"> Host: x\n> User-Agent: {SHOWN}\n> Accept: */*\n"
    )
    as_repr = repr({"User-Agent": AGENT, "Accept": "*/*"})
    assert redact_text(as_repr) == repr({"User-Agent": SHOWN, "Accept": "*/*"})
    as_json = json.dumps({"details": header_lines})
    assert json.loads(redact_text(as_json))["details"] == redact_text(header_lines)
    twice = f"{AGENT}, {AGENT}"
    assert redact_text(twice) == f"{SHOWN}, {SHOWN}"


def test_redact_text_is_idempotent_and_leaves_other_text_alone():
    assert redact_text(SHOWN) == SHOWN
    for text in ("", "conda/24.1.0 c/x s/y", "baau/1 c/x", "aau/1.0 x/y c/z"):
        assert redact_text(text) == text


def test_redact_text_replaces_known_values_anywhere():
    wrapped = f"aau/{__version__} c/{C}\n    s/{S} e/{E} and {C[:5]}"
    shown = redact_text(wrapped, [C, S, E])
    assert C not in shown and S not in shown and E not in shown
    assert shown.endswith(f"s/. e/. and {C[:5]}")


def test_tokens_off_send_what_no_tokens_would_give():
    """The plugin sends this while tokens are off, without loading useragent."""
    from anaconda_anon_usage import conda_adapter

    assert aau_user_agent([]) == conda_adapter.VERSION_ONLY
