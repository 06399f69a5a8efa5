"""What conda shows people about us, on the commands that show it.

* ``conda config --describe`` lists the parameter under its own category,
  with a description;
* ``conda info`` (text and --json) shows token values as ``.``.

Imported only by those commands (``conda_adapter.pre_command``), so other
commands do not load it.
"""

from __future__ import annotations

import functools
from typing import Any

from . import debug
from .conda_adapter import _MARK, PARAMETER

DESCRIPTION = (
    "Append anonymous usage tokens (client, session, environment) to the "
    "user-agent of conda's requests. Set to false to send only the "
    "anaconda-anon-usage version. DO_NOT_TRACK=1 also turns it off."
)


def prepare(command: str) -> None:
    """What ``command`` shows: ``config`` describes, ``info`` redacts."""
    if command == "config":
        from conda.base.context import Context

        describe_parameter(Context)
    elif command == "info":
        install_info_redaction()


def describe_parameter(context_class: Any) -> None:
    """So that ``conda config --describe`` lists and explains the parameter.

    ``category_map`` is a plain dict in newer conda and a property in older.
    """
    categories = context_class.__dict__.get("category_map")
    if isinstance(categories, dict):
        context_class.category_map = {**categories, "Anonymous Usage": (PARAMETER,)}
    elif isinstance(categories, property) and not getattr(
        categories.fget, _MARK, False
    ):
        getter = categories.fget

        def category_map(self: Any) -> Any:
            return {**getter(self), "Anonymous Usage": (PARAMETER,)}

        setattr(category_map, _MARK, True)
        context_class.category_map = property(category_map)

    describe = context_class.__dict__.get("get_descriptions")
    if describe is not None and not getattr(describe, _MARK, False):

        def get_descriptions(self: Any) -> Any:
            return {**describe(self), PARAMETER: DESCRIPTION}

        setattr(get_descriptions, _MARK, True)
        context_class.get_descriptions = get_descriptions


def install_info_redaction() -> None:
    """``conda info`` (text and --json) shows token values as ``.``."""
    from conda.cli import main_info

    original = main_info.get_info_dict
    if getattr(original, _MARK, False):
        return

    from .redaction import redact

    @functools.wraps(original)
    def get_info_dict(*args: Any, **kwargs: Any) -> Any:
        info = original(*args, **kwargs)
        try:
            info["user_agent"] = redact(info["user_agent"])
        except Exception as error:
            debug("cannot redact conda info: %s", error)
        return info

    setattr(get_info_dict, _MARK, True)
    main_info.get_info_dict = get_info_dict
