"""Where token files live. Knowing a path never creates anything."""

from __future__ import annotations

import os
import sys

TOKEN_FILENAME = "aau_token"


def home_directory() -> str | None:
    """The user's home from the environment, or None when it is unset or absent.

    ``os.path.expanduser`` would fall back to the password database when HOME
    is unset; we deliberately do not: no HOME means no client token.
    """
    variable = "USERPROFILE" if sys.platform == "win32" else "HOME"
    home = os.environ.get(variable, "")
    if not home or not os.path.isdir(home):
        return None
    return home


def user_conda_dir() -> str | None:
    home = home_directory()
    return os.path.join(home, ".conda") if home else None


def client_token_path() -> str | None:
    conda_dir = user_conda_dir()
    return os.path.join(conda_dir, TOKEN_FILENAME) if conda_dir else None


def environment_token_path(prefix: str) -> str:
    return os.path.join(prefix, "etc", TOKEN_FILENAME)


def is_conda_environment(prefix: str) -> bool:
    """A directory conda made: it has ``conda-meta``. Only these get a token file."""
    return os.path.isdir(os.path.join(prefix, "conda-meta"))
