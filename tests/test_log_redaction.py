"""Once tokens are sent, log records show them as ``.`` whatever logs them
(conda, requests, urllib3, another plugin), whichever handler prints them.

The real-conda side (conda's own header dumps, its HTTP errors) is in
test_real_conda_redaction.py; this is the mechanism without conda.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from anaconda_anon_usage import __version__, conda_adapter

C, S, E = "C" * 22, "S" * 22, "E" * 22
AGENT = f"conda/26.1 requests/2.32 aau/{__version__} c/{C} s/{S} e/{E} o/acme"
SHOWN = f"conda/26.1 requests/2.32 aau/{__version__} c/. s/. e/. o/."


@pytest.fixture
def redacting(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    previous = logging.getLogRecordFactory()
    monkeypatch.setattr(conda_adapter, "_redacting_logs", False)
    monkeypatch.setattr(conda_adapter, "_sent_values", {C, S, E})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("aau-test-redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        conda_adapter._redact_log_records()
        conda_adapter._redact_log_records()  # a second call adds nothing
        yield stream
    finally:
        logging.setLogRecordFactory(previous)
        logger.removeHandler(handler)


def test_log_records_show_no_token_values(redacting: io.StringIO):
    logger = logging.getLogger("aau-test-redaction")
    logger.debug("headers: %r", {"User-Agent": AGENT})
    logger.info("> User-Agent: " + AGENT)
    logger.warning("session %s alone", S)
    logger.info("%d%% done, nothing of ours", 50)
    shown = redacting.getvalue()
    assert C not in shown and S not in shown and E not in shown
    assert "acme" not in shown
    assert shown.splitlines() == [
        f"headers: {{'User-Agent': '{SHOWN}'}}",
        f"> User-Agent: {SHOWN}",
        "session . alone",
        "50% done, nothing of ours",
    ]


def test_logged_exceptions_show_no_token_values(redacting: io.StringIO):
    logger = logging.getLogger("aau-test-redaction")
    try:
        raise RuntimeError(f"request failed: {AGENT}")
    except RuntimeError:
        logger.exception("failed")
    shown = redacting.getvalue()
    assert C not in shown and "acme" not in shown
    assert f"RuntimeError: request failed: {SHOWN}" in shown


def test_a_record_that_cannot_be_formatted_is_left_as_it_was(
    redacting: io.StringIO,
):
    record = logging.getLogRecordFactory()(
        "aau-test-redaction", logging.INFO, __file__, 1, "%d", ("x",), None
    )
    assert (record.msg, record.args) == ("%d", ("x",))
