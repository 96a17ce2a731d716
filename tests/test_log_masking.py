"""Logs carry no personal data (data_layer.domain.logging_filter): message, arguments and the
formatted traceback of every record are masked, for our loggers, the root and Streamlit's."""

from __future__ import annotations

import io
import logging

import polars as pl
import pytest
import streamlit.logger

from data_layer.domain import logging_filter

PHONE, PHONE_MASKED = "13912345678", "139****5678"
ID_NUMBER, ID_MASKED = "360102198512045678", "360102********5678"


@pytest.fixture
def installed():
    """The masking installed as the app installs it, and the process's factory put back."""
    before = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)  # as a fresh process has it
    logging_filter.install()
    yield
    logging.setLogRecordFactory(before)


def capture(logger: logging.Logger, *, masking: bool = False) -> io.StringIO:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    if masking:
        handler.addFilter(logging_filter.MaskingFilter())
    logger.addHandler(handler)
    return out


def fail_on_a_row() -> None:
    try:  # a polars error quotes the cell it could not convert
        pl.Series("reporter_phone", [PHONE]).cast(pl.Int8, strict=True)
    except pl.exceptions.InvalidOperationError as exc:
        raise ValueError(f"row 2: 身份证 {ID_NUMBER}, 电话 {PHONE}") from exc


def assert_masked(text: str) -> None:
    assert "Traceback" in text and "ValueError" in text and "InvalidOperationError" in text
    assert PHONE_MASKED in text and ID_MASKED in text
    assert PHONE not in text and ID_NUMBER not in text


def test_a_handler_with_the_filter_masks_message_args_and_traceback():
    log = logging.getLogger("gridpulse.test_log_masking.handler")
    out = capture(log, masking=True)
    try:
        fail_on_a_row()
    except ValueError:
        log.exception("import of %s failed", f"联系人 {PHONE}")
    assert_masked(out.getvalue())
    assert f"import of 联系人 {PHONE_MASKED} failed" in out.getvalue()


def test_installed_once_every_logger_is_masked(installed, caplog):
    logging_filter.install()  # a second call (every rerun of the app) changes nothing
    ours = logging.getLogger("gridpulse.test_log_masking.app")
    ours_out = capture(ours)  # no filter anywhere: the record itself is masked
    ui = streamlit.logger.get_logger("streamlit.test_log_masking")  # own handler, no propagation
    ui_out = capture(ui)
    for log in (ours, ui, logging.getLogger()):
        try:
            fail_on_a_row()
        except ValueError:
            log.exception("failed: %s", ID_NUMBER)
    assert_masked(ours_out.getvalue())
    assert_masked(ui_out.getvalue())
    assert_masked(caplog.text)  # the root's handlers (pytest's capture) see masked records
    assert all(r.exc_info is None and r.args is None for r in caplog.records)


def test_install_wraps_the_factory_once(installed):
    factory = logging.getLogRecordFactory()
    logging_filter.install()
    assert logging.getLogRecordFactory() is factory


def test_a_broken_format_string_keeps_the_record_and_masks_it(installed, caplog):
    logging.getLogger("gridpulse.test_log_masking").error("bad %d format", PHONE)
    assert "bad %d format" in caplog.text and PHONE_MASKED in caplog.text
    assert PHONE not in caplog.text
