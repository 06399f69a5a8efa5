from anaconda_anon_usage import __version__
from anaconda_anon_usage.useragent import Token, aau_user_agent, redact

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
