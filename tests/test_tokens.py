import base64
import re

from anaconda_anon_usage.tokens import TOKEN_LENGTH, is_valid_token, new_token

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")


def test_new_tokens_are_22_url_safe_characters():
    for _ in range(200):
        token = new_token()
        assert TOKEN_PATTERN.match(token), token
        assert is_valid_token(token)


def test_tokens_carry_128_random_bits():
    token = new_token()
    raw = base64.urlsafe_b64decode(token + "==")
    assert len(raw) == 16
    assert len({new_token() for _ in range(1000)}) == 1000


def test_validation_rejects_wrong_length_and_alphabet():
    good = new_token()
    assert not is_valid_token(good[:-1])
    assert not is_valid_token(good + "A")
    assert not is_valid_token("+" + good[1:])
    assert not is_valid_token("/" + good[1:])
    assert not is_valid_token(" " * TOKEN_LENGTH)
    assert not is_valid_token("é" + good[1:])
    assert not is_valid_token("")
