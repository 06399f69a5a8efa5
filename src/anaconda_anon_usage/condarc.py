"""Read ``anaconda_anon_usage`` from a condarc's text without a YAML library.

conda reads condarc files with ruamel.yaml and turns the value into a boolean
with its ``boolify``. This module reads the forms a person writes (block or
flow mappings, quoted keys and values, a BOM, the value on the next line,
``!!bool``, ``#!final``) and gives the same answer. Anything it cannot read
for certain (aliases, merge keys, block scalars, several documents, tabs,
numbers YAML may read differently...) raises ``Uncertain``: the caller then
counts tokens as off (fail closed). A file that cannot even spell the key
(no ``anaconda_anon_usage`` in it and no escape sequence that could make
it) never sets it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

PARAMETER = "anaconda_anon_usage"

# conda.auxlib.type_coercion, identical from 23.7 to main
BOOLISH_TRUE = ("true", "yes", "on", "y")
BOOLISH_FALSE = ("false", "off", "n", "no", "non", "none", "")
# ruamel.yaml's !!bool words
TAGGED_BOOLEANS = {
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "true": True,
    "false": False,
    "on": True,
    "off": False,
}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_YAML_TRUE = frozenset({"true", "True", "TRUE"})
_YAML_FALSE = frozenset({"false", "False", "FALSE"})
_DECIMAL = re.compile(r"[-+]?[0-9]+")
_ESCAPES = re.compile(r"\\(?:[xuU]|\r?\n|\r)")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_DOUBLE_QUOTED_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}


class Uncertain(Exception):
    """The file may set the parameter, in a form this reader cannot read."""


class Setting(NamedTuple):
    """The parameter as one file sets it. ``value`` None: conda rejects it."""

    value: bool | None
    final: bool


def boolify(text: str) -> bool | None:
    """conda's ``boolify`` of a string; None where conda raises an error."""
    val = text.strip().lower().replace(".", "", 1)
    try:
        if val.isnumeric():
            return bool(float(val))
        if val in BOOLISH_TRUE:
            return True
        if val in BOOLISH_FALSE:
            return False
        return bool(complex(val))
    except ValueError:
        return None


def may_mention(text: str) -> bool:
    """Could this text set the parameter at all?"""
    return PARAMETER in text or _ESCAPES.search(text) is not None


def read_setting(text: str) -> Setting | None:
    """The parameter as this condarc text sets it; None when it does not."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not may_mention(text):
        return None
    if "\t" in text or any(c in text for c in "\x85\u2028\u2029"):
        raise Uncertain("tabs or unusual line breaks")
    lines = _LINE_BREAKS.split(text)
    return _Document(_document_lines(lines)).setting()


def _document_lines(lines: list[str]) -> list[str]:
    """The lines of the one document, without ``---``/``...`` markers."""
    start = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line.startswith("%"):
            raise Uncertain("a YAML directive")
        if line.startswith("---") and line[3:4] in ("", " "):
            if line[3:].strip() and not line[3:].strip().startswith("#"):
                raise Uncertain("content after ---")
            start = index + 1
        break
    body = lines[start:]
    for index, line in enumerate(body):
        if line.startswith("...") and line[3:4] in ("", " "):
            rest = body[index + 1 :]
            if any(_content(line) for line in rest):
                raise Uncertain("more than one document")
            return body[:index]
        if line.startswith("---") and line[3:4] in ("", " "):
            raise Uncertain("more than one document")
    return body


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Document:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def setting(self) -> Setting | None:
        first = next((i for i, line in enumerate(self.lines) if _content(line)), None)
        if first is None:
            return None
        line = self.lines[first]
        head = line.lstrip(" ")
        if head.startswith("{"):
            text = "\n".join(self.lines[first:])
            return _Flow(text, text.index("{")).top_level()
        if head.startswith(("[", "- ")) or head == "-":
            raise Uncertain("the document is not a mapping")
        return self._block(first, _indent(line))

    def _block(self, index: int, column: int) -> Setting | None:
        found: Setting | None = None
        seen = False
        lines = self.lines
        while index < len(lines):
            line = lines[index]
            if not _content(line):
                index += 1
                continue
            if _indent(line) != column:
                raise Uncertain(f"unexpected indentation on line {index + 1}")
            key, rest = _split_key(line[column:])
            end = index + 1
            while end < len(lines) and (
                not _content(lines[end])
                or _indent(lines[end]) > column
                or (not _value_text(rest) and lines[end][column:].startswith("-"))
            ):
                end += 1
            if key == PARAMETER:
                if seen:
                    raise Uncertain("the key is set twice")
                seen = True
                found = _block_value(rest, lines[index + 1 : end])
            else:
                _check_closed(rest, lines[index + 1 : end])
            index = end
        return found


def _value_text(rest: str) -> str:
    """The part of ``rest`` before a comment (only for emptiness checks)."""
    stripped = rest.strip()
    return "" if stripped.startswith("#") else stripped


def _split_key(line: str) -> tuple[str, str]:
    """(key, text after the colon) of a block mapping entry."""
    text = line
    if text.startswith("&"):
        _, _, text = text.partition(" ")
        text = text.lstrip(" ")
    if text[:1] in ('"', "'"):
        key, end = _quoted(text, 0)
        after = text[end:].lstrip(" ")
        if not after.startswith(":") or after[1:2] not in ("", " "):
            raise Uncertain("a quoted key without ': ' after it")
        return key, after[1:]
    if text[:1] in "?*!<[{|>%@`-#" or text.startswith("<<"):
        raise Uncertain(f"a key this reader does not read: {text[:20]!r}")
    match = re.search(r":(?: |$)", text)
    if match is None:
        raise Uncertain("a line that is not a key: value entry")
    key = text[: match.start()].rstrip(" ")
    if " #" in key:
        raise Uncertain("a comment inside a key")
    return key, text[match.end() :]


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted scalar at ``start`` (one line) and its end."""
    quote = text[start]
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if quote == "'" and char == "'":
            if text[index + 1 : index + 2] == "'":
                out.append("'")
                index += 2
                continue
            return "".join(out), index + 1
        if quote == '"' and char == '"':
            return "".join(out), index + 1
        if quote == '"' and char == "\\":
            escape = text[index + 1 : index + 2]
            widths = {"x": 2, "u": 4, "U": 8}
            if escape in widths:
                digits = text[index + 2 : index + 2 + widths[escape]]
                if len(digits) != widths[escape] or not all(
                    c in "0123456789abcdefABCDEF" for c in digits
                ):
                    raise Uncertain("a bad escape sequence")
                out.append(chr(int(digits, 16)))
                index += 2 + widths[escape]
                continue
            if escape not in _DOUBLE_QUOTED_ESCAPES:
                raise Uncertain("an escape sequence this reader does not read")
            out.append(_DOUBLE_QUOTED_ESCAPES[escape])
            index += 2
            continue
        if char == "\n":
            raise Uncertain("a quoted scalar over several lines")
        out.append(char)
        index += 1
    raise Uncertain("a quoted scalar that is not closed on its line")


def _comment(text: str) -> str | None:
    """The comment that ``text`` (what follows a scalar) holds; None if none;
    Uncertain if something else follows."""
    stripped = text.strip(" ")
    if not stripped:
        return None
    if text.startswith(" ") and stripped.startswith("#"):
        return stripped
    raise Uncertain(f"text after a value: {stripped[:20]!r}")


def _final(comment: str | None) -> bool:
    """conda's reading of the comment after a value: ``#!final``."""
    return comment is not None and comment.strip().strip("!#") == "final"


def _block_value(rest: str, more: list[str]) -> Setting:
    """The value of our key in a block mapping: ``rest`` follows the colon on
    the key's line, ``more`` are the lines that belong to it (more indented,
    blank, or comments up to the next entry)."""
    content = [index for index, line in enumerate(more) if _content(line)]
    if _value_text(rest):
        if content:
            raise Uncertain("a value over several lines")
        value, comment = _scalar(rest.lstrip(" "))
        following = more
    elif not content:  # ``key:`` alone is null, which conda reads as false
        if "final" in rest or any("final" in line for line in more):
            raise Uncertain("a #!final mark on an empty value")
        return Setting(False, False)
    else:
        if len(content) > 1:
            raise Uncertain("a value over several lines")
        value, comment = _scalar(more[content[0]].strip(" "))
        following = more[content[0] + 1 :]
    if any(line.strip() for line in following):
        # conda joins the comment lines that follow into one comment: no mark
        return Setting(value, False)
    return Setting(value, _final(comment))


def _scalar(text: str) -> tuple[bool | None, str | None]:
    """(boolean as conda reads it, trailing comment) of one scalar in block
    context, with optional anchor and ``!!bool`` tag."""
    tag = None
    while text.startswith(("&", "!")):
        prop, _, text = text.partition(" ")
        text = text.lstrip(" ")
        if prop.startswith("!"):
            if prop != "!!bool" or tag is not None:
                raise Uncertain(f"the tag {prop}")
            tag = prop
    if text[:1] in ('"', "'"):
        raw, end = _quoted(text, 0)
        comment = _comment(text[end:])
        if tag:
            return _tagged(raw), comment
        return boolify(raw), comment
    if text[:1] in "*|>[{%@`":
        raise Uncertain(f"a value this reader does not read: {text[:20]!r}")
    match = re.search(r" #", text)
    plain = (text[: match.start()] if match else text).strip(" ")
    comment = text[match.start() + 1 :].strip() if match else None
    if ": " in plain or plain.endswith(":"):
        raise Uncertain("a mapping where a value was expected")
    if tag:
        return _tagged(plain), comment
    return _plain(plain), comment


def _tagged(raw: str) -> bool:
    try:
        return TAGGED_BOOLEANS[raw.lower()]
    except KeyError:
        raise Uncertain(f"!!bool {raw!r}") from None


def _plain(plain: str) -> bool | None:
    """A plain scalar: YAML 1.2 resolves some to non-strings first."""
    if plain in _NULLS:
        return False
    if plain in _YAML_TRUE:
        return True
    if plain in _YAML_FALSE:
        return False
    if _DECIMAL.fullmatch(plain):
        return int(plain) != 0
    if plain[:1] in "-+.0123456789":
        raise Uncertain(f"{plain!r} may be a number or a date to YAML")
    return boolify(plain)


def _check_closed(rest: str, more: list[str]) -> None:
    """Another key's value: a quoted scalar or flow collection must close
    within its own lines, else it may swallow the lines after it."""
    text = rest.lstrip(" ")
    while text.startswith(("&", "!")):
        _, _, text = text.partition(" ")
        text = text.lstrip(" ")
    if text[:1] not in ('"', "'", "[", "{"):
        return
    whole = "\n".join([text, *(line.strip(" ") for line in more)])
    if text[:1] in "[{":
        _Flow(whole, 0).skip_collection()
        return
    try:
        _quoted(text, 0)
    except Uncertain:
        if PARAMETER in whole or _ESCAPES.search(whole):
            raise
        # a multi-line quoted value that cannot hide our key


class _Flow:
    """A flow collection (``{...}``/``[...]``) read from ``text[start:]``."""

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.pos = start

    def _skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \n":
                self.pos += 1
            elif char == "#" and (self.pos == 0 or text[self.pos - 1] in " \n"):
                raise Uncertain("a comment inside a flow collection")
            else:
                return

    def top_level(self) -> Setting | None:
        found = self._mapping(top=True)
        rest = self.text[self.pos :]
        for line in rest.split("\n"):
            if line.strip() and not line.strip().startswith("#"):
                raise Uncertain("content after the flow mapping")
        return found

    def skip_collection(self) -> None:
        if self.text[self.pos] == "{":
            self._mapping(top=False)
        else:
            self._sequence()

    def _mapping(self, top: bool) -> Setting | None:
        assert self.text[self.pos] == "{"
        self.pos += 1
        found: Setting | None = None
        seen = False
        while True:
            self._skip_space()
            if self._at("}"):
                self.pos += 1
                return found
            key = self._node(key=True)
            self._skip_space()
            value: object = None
            if self._at(":"):
                self.pos += 1
                self._skip_space()
                if self._at(",") or self._at("}"):
                    value = ("plain", "")
                else:
                    value = self._node(key=False)
            else:
                value = ("plain", "")
            if top and key in (("plain", PARAMETER), ("quoted", PARAMETER)):
                if seen:
                    raise Uncertain("the key is set twice")
                else:
                    seen = True
                    found = Setting(_flow_value(value), False)
            self._skip_space()
            if self._at(","):
                self.pos += 1
            elif not self._at("}"):
                raise Uncertain("a flow mapping this reader does not read")

    def _sequence(self) -> None:
        self.pos += 1
        while True:
            self._skip_space()
            if self._at("]"):
                self.pos += 1
                return
            self._node(key=False)
            self._skip_space()
            if self._at(","):
                self.pos += 1
            elif not self._at("]"):
                raise Uncertain("a flow sequence this reader does not read")

    def _at(self, char: str) -> bool:
        return self.text[self.pos : self.pos + 1] == char

    def _node(self, key: bool) -> object:
        self._skip_space()
        if self.pos >= len(self.text):
            raise Uncertain("a flow collection that is not closed")
        char = self.text[self.pos]
        if char in "{[":
            self.skip_collection()
            return ("collection", "")
        tag = None
        # (``char`` is "" at the end of the text: "" is in every string)
        while char and char in "&!":
            end = self.pos
            while end < len(self.text) and self.text[end] not in " \n,]}":
                end += 1
            prop = self.text[self.pos : end]
            if prop.startswith("!"):
                if prop != "!!bool" or key:
                    raise Uncertain(f"the tag {prop}")
                tag = prop
            self.pos = end
            self._skip_space()
            char = self.text[self.pos : self.pos + 1]
        if not char:
            raise Uncertain("a flow collection that is not closed")
        if char in ('"', "'"):
            value, self.pos = _quoted(self.text, self.pos)
            return ("tagged" if tag else "quoted", value)
        if char in "*|>?%@`" or (
            char == "<" and self.text[self.pos + 1 : self.pos + 2] == "<"
        ):
            raise Uncertain(f"a flow node this reader does not read: {char!r}")
        start = self.pos
        text = self.text
        while self.pos < len(text):
            here = text[self.pos]
            if here in ",]}\n":
                break
            if here == ":" and text[self.pos + 1 : self.pos + 2] in (
                " ",
                ",",
                "]",
                "}",
                "\n",
                "",
            ):
                break
            if here == "#" and text[self.pos - 1] == " ":
                raise Uncertain("a comment inside a flow collection")
            self.pos += 1
        if self._at("\n"):
            after = text[self.pos :].lstrip(" \n")
            if after[:1] not in (",", "]", "}", ":"):
                raise Uncertain("a plain scalar over several lines")
        return ("tagged" if tag else "plain", text[start : self.pos].strip(" "))


def _flow_value(node: object) -> bool | None:
    assert isinstance(node, tuple)
    style, text = node
    if style == "collection":
        raise Uncertain("a collection where a value was expected")
    if style == "tagged":
        return _tagged(text)
    if style == "quoted":
        return boolify(text)
    return _plain(text)
