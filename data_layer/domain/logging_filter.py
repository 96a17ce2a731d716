"""Logs carry no personal data: every record's message, arguments, traceback and stack are
masked (``data_layer.domain.privacy.mask_text``: mobile and ID card numbers) before any handler
sees them.

A traceback quotes the line that raised and the exception's text, and polars errors quote cell
values (``could not parse "13912345678"``), so masking the message alone is not enough: the
traceback is formatted here and the masked text kept in ``record.exc_text`` (the raw
``exc_info`` is dropped, so no handler can format it again).

``install()`` puts the masking where every record passes: the log record factory. A filter on
a logger is skipped for records that propagate from its children, and Streamlit replaces its
console handlers when it reads its config, so a filter on loggers or handlers would leave
holes; the factory serves the root logger, Streamlit's loggers and every other one. The UI
installs it on import (``ui/__init__.py``) and the CLI in ``main``. ``MaskingFilter`` is the
same masking as a filter, for a handler of your own.
"""

from __future__ import annotations

import logging
from typing import Any

from data_layer.domain.privacy import mask_text

_INSTALLED = "_gridpulse_masks_personal_data"  # marks the installed factory


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with message, arguments, traceback and stack masked (changed in place)."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not lose the record, nor leak its args
        message = f"{record.msg} {record.args}"
    record.msg, record.args = mask_text(message), None
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    return record


class MaskingFilter(logging.Filter):
    """A logging filter that masks each record it passes (and drops none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install() -> None:
    """Mask every log record made in this process from now on; a second call does nothing."""
    make = logging.getLogRecordFactory()
    if getattr(make, _INSTALLED, False):
        return

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(make(*args, **kwargs))

    setattr(masked, _INSTALLED, True)
    logging.setLogRecordFactory(masked)
