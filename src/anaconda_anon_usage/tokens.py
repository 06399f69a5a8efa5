"""What a token is: 22 url-safe base64 characters carrying 128 random bits."""

from __future__ import annotations

import base64
import os

TOKEN_BYTES = 16
TOKEN_LENGTH = 22
TOKEN_ALPHABET = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)


def new_token() -> str:
    """A fresh token from the OS's CSPRNG; never derived from anything local."""
    return base64.urlsafe_b64encode(os.urandom(TOKEN_BYTES)).decode("ascii")[
        :TOKEN_LENGTH
    ]


def is_valid_token(value: str) -> bool:
    return len(value) == TOKEN_LENGTH and TOKEN_ALPHABET.issuperset(value)
