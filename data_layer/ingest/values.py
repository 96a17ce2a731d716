"""Value parsing: the dates, numbers, yes/no words and code words real exports carry.

Datetimes are parsed with vectorised polars expressions (a few regular expressions, then one
strict ``strptime`` that refuses impossible dates such as 2024-02-30):

* ``2024-03-01 08:05``, ``2024/3/1 8:05``, ``2024.3.1``, ``2024年3月1日 8时5分``, with or without
  seconds, fractions, ``T`` separator and a timezone (``Z``, ``+08:00``, ``-0800``) — a time
  with a zone is converted to Asia/Shanghai local time;
* ``3/14/2025 1:20 PM``, ``1/1/20 0:05`` — a year-last date is month/day/year (US, as Excel
  writes it), with an optional 12-hour clock;
* two-digit years (``1/1/20 0:05``, ``20-03-01 08:05``) take their century as Python's ``%y``
  does: 00–68 → 2000–2068, 69–99 → 1969–1999 (``TWO_DIGIT_PIVOT``);
* ``20240301``, ``20240301 080500``, ``20240301080500``;
* Excel serial dates ``45352`` / ``45352.5`` (days since 1899-12-30, 1954–2119 accepted).

A mapping file's ``[options] date_format`` (or ``[date_formats] <field>``) names the format of
a column whose dates none of these forms read (or read wrongly: day/month/year); it is tried
first, and what it does not read still goes through the forms above.

A value that is given but not a date is ``"unrecognised"`` (no form reads it: the fix is a
date_format), one that names a date or time that does not exist (2024-02-30, 25:00) is
``"impossible"``, and a date outside 1990–2100 is ``"year_out_of_range"``.

Code words (category, source, status, satisfaction, yes/no) are mapped per *distinct* value in
Python, then applied with one ``replace_strict``, so a million rows cost a handful of lookups.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

LOCAL_OFFSET_MIN = 8 * 60  # Asia/Shanghai, no DST
_D = r"(\d{1,2})"
P_YMD = (
    r"^(\d{4})[-/.年]" + _D + r"[-/.月]" + _D + r"日?"
    r"(?:(?:\s+|T|\s*T\s*)" + _D + r"[:：时]" + _D + r"(?:[:：分]" + _D + r"(?:\.\d+)?秒?)?分?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
P_MDY = (
    r"^"
    + _D
    + r"/"
    + _D
    + r"/(\d{4}|\d{2})(?:\s+"
    + _D
    + r":(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?)?$"
)
P_YMD2 = (  # 20-03-01 08:05 (two-digit year first: only with '-', a slash is month first)
    r"^(\d{2})-"
    + _D
    + r"-"
    + _D
    + r"(?:(?:\s+|T)"
    + _D
    + r":"
    + _D
    + r"(?::"
    + _D
    + r"(?:\.\d+)?)?)?$"
)
P_COMPACT = r"^(\d{4})(\d{2})(\d{2})(?:\s*(\d{2}):?(\d{2})(?::?(\d{2}))?)?$"
P_SERIAL = r"^\d{5}(?:\.\d+)?$"
# chrono accepts 1-digit months/days/hours for these, so 2024/3/1 8:05 is a fast-path form
FAST_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
MIN_YEAR = 1990
MAX_YEAR = 2100
TWO_DIGIT_PIVOT = 68  # as Python's %y: 00–68 → 20xx, 69–99 → 19xx
# the error codes of parse_datetime (report.REASONS has their messages)
UNRECOGNISED, IMPOSSIBLE, YEAR_OUT_OF_RANGE = "unrecognised", "impossible", "year_out_of_range"


def _century(y: pl.Expr) -> pl.Expr:
    """A two-digit year with its century (``TWO_DIGIT_PIVOT``); a four-digit one as it is."""
    two = y.str.len_chars() == 2
    low = y.cast(pl.Int32, strict=False) <= TWO_DIGIT_PIVOT
    return pl.when(two & low).then(pl.lit("20") + y).when(two).then(pl.lit("19") + y).otherwise(y)


def _assemble(y, m, d, hh, mm, ss) -> pl.Expr:
    text = pl.concat_str(
        [
            _century(y),
            pl.lit("-"),
            m.str.zfill(2),
            pl.lit("-"),
            d.str.zfill(2),
            pl.lit(" "),
            hh.fill_null("0").str.zfill(2),
            pl.lit(":"),
            mm.fill_null("0").str.zfill(2),
            pl.lit(":"),
            ss.fill_null("0").str.zfill(2),
        ]
    )
    return text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)


def parse_datetime(
    frame: pl.DataFrame, column: str, fmt: str | None = None
) -> tuple[pl.Series, pl.Series]:
    """Parse a string column: (datetimes, error codes) — error is null, ``UNRECOGNISED``,
    ``IMPOSSIBLE`` or ``YEAR_OUT_OF_RANGE``. ``fmt`` (a mapping file's date_format) is tried
    first."""
    s = pl.col(column).str.strip_chars()
    if frame[column].null_count() == frame.height:
        empty = pl.Series(column, [None] * frame.height, dtype=pl.Datetime("us"))
        return empty, pl.Series(column, [None] * frame.height, dtype=pl.String)
    parsed = _strptime(s, fmt) if fmt else _fast_format(frame, s)
    fast = frame.select(parsed.alias("v"), s.is_not_null().alias("given"))
    ok = fast["v"].dt.year().is_between(MIN_YEAR, MAX_YEAR).fill_null(False)
    # what the format did not read — or read as a year such as 0001 ('1/1/20' as %Y/%m/%d) —
    # goes through the patterns, which say why a value is not a date
    todo = fast["given"] & ~ok
    v = fast.select(pl.when(ok).then(pl.col("v"))).to_series().alias(column)
    err = pl.Series(column, [None] * frame.height, dtype=pl.String)
    if todo.any():
        idx = todo.arg_true()
        slow_v, slow_err = _parse_datetime_patterns(
            frame.select(pl.col(column).filter(todo)), column
        )
        v = v.scatter(idx, slow_v)
        err = err.scatter(idx, slow_err)
    return v, err


def _fast_format(frame: pl.DataFrame, s: pl.Expr) -> pl.Expr:
    """One export uses one format per column: the fast format that reads most of a sample
    (with a plausible year), as one strptime over the column."""
    sample = frame.select(s.drop_nulls().head(50)).to_series()
    best, best_n = None, 0
    for fmt in FAST_FORMATS:
        got = sample.str.strptime(pl.Datetime("us"), fmt, strict=False)
        n = got.dt.year().is_between(MIN_YEAR, MAX_YEAR).sum()
        if n > best_n:
            best, best_n = fmt, n
    if best is None:
        return pl.lit(None, dtype=pl.Datetime("us"))
    return s.str.strptime(pl.Datetime("us"), best, strict=False)


def _strptime(s: pl.Expr, fmt: str) -> pl.Expr:
    """``fmt`` as the mapping file gives it; ``%y`` takes its century as Python's does."""
    v = s.str.strptime(pl.Datetime("us"), fmt, strict=False)
    if "%y" in fmt:  # chrono reads 69–99 as 2069–2099
        pivot = 2000 + TWO_DIGIT_PIVOT
        v = pl.when(v.dt.year() > pivot).then(v.dt.offset_by("-100y")).otherwise(v)
    return v


def check_date_format(fmt: object) -> str | None:
    """Why ``fmt`` cannot be a date_format (None when it can): it must be text that writes and
    reads back a date, such as ``%m/%d/%y %H:%M``."""
    if not isinstance(fmt, str) or "%" not in fmt:
        return "不是日期格式 / not a date format"
    probe = dt.datetime(2024, 3, 14, 8, 5, 6)
    try:
        text = probe.strftime(fmt)
        back = pl.Series([text]).str.strptime(pl.Datetime("us"), fmt, strict=False).item()
    except (ValueError, pl.exceptions.PolarsError) as exc:
        return f"无法使用 / cannot be used: {str(exc).splitlines()[0]}"
    if back is None or back.date() != probe.date():
        return "读不出完整的日期（年、月、日）/ does not read back a whole date (year, month, day)"
    return None


def _parse_datetime_patterns(frame: pl.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    s = pl.col(column).str.strip_chars()
    ymd = s.str.extract_groups(P_YMD)
    mdy = s.str.extract_groups(P_MDY)
    ymd2 = s.str.extract_groups(P_YMD2)
    cpt = s.str.extract_groups(P_COMPACT)
    f = frame.select(
        s.alias("s"),
        ymd.alias("ymd"),
        mdy.alias("mdy"),
        ymd2.alias("ymd2"),
        cpt.alias("cpt"),
        s.str.contains(P_SERIAL).alias("is_serial"),
    )
    g = pl.col("ymd").struct.field
    v_ymd = _assemble(g("1"), g("2"), g("3"), g("4"), g("5"), g("6"))
    tz = g("7")
    tz_min = (
        pl.when(tz == "Z")
        .then(0)
        .otherwise(
            (
                tz.str.slice(1, 2).cast(pl.Int32, strict=False) * 60
                + tz.str.replace(":", "").str.slice(3, 2).cast(pl.Int32, strict=False)
            )
            * pl.when(tz.str.starts_with("-")).then(-1).otherwise(1)
        )
    )
    v_ymd = (
        pl.when(tz.is_null())
        .then(v_ymd)
        .otherwise(v_ymd + pl.duration(minutes=pl.lit(LOCAL_OFFSET_MIN) - tz_min))
    )
    u = pl.col("mdy").struct.field
    hour = u("4").cast(pl.Int32, strict=False)
    ampm = u("7").str.to_lowercase().str.slice(0, 1)
    hour12 = (
        pl.when(ampm.is_null())
        .then(hour)
        .when((hour < 1) | (hour > 12))
        .then(pl.lit(99))  # "13:00 PM" is impossible
        .when(ampm == "p")
        .then(hour % 12 + 12)
        .otherwise(hour % 12)
    )
    v_mdy = _assemble(u("3"), u("1"), u("2"), hour12.cast(pl.String), u("5"), u("6"))
    y2 = pl.col("ymd2").struct.field
    v_ymd2 = _assemble(y2("1"), y2("2"), y2("3"), y2("4"), y2("5"), y2("6"))
    c = pl.col("cpt").struct.field
    v_cpt = _assemble(c("1"), c("2"), c("3"), c("4"), c("5"), c("6"))
    days = pl.col("s").cast(pl.Float64, strict=False)
    serial_ok = pl.col("is_serial") & days.is_between(20_000, 80_000)
    v_ser = pl.when(serial_ok).then(
        pl.lit(EXCEL_EPOCH) + pl.duration(seconds=(days * 86_400).round(0).cast(pl.Int64))
    )
    matched = (
        pl.col("ymd").struct.field("1").is_not_null()
        | pl.col("mdy").struct.field("1").is_not_null()
        | pl.col("ymd2").struct.field("1").is_not_null()
        | pl.col("cpt").struct.field("1").is_not_null()
        | serial_ok
    )
    out = f.select(
        pl.coalesce(v_ymd, v_mdy, v_ymd2, v_cpt, v_ser).cast(pl.Datetime("us")).alias("any"),
        matched.alias("matched"),
        pl.col("s").is_not_null().alias("given"),
    ).with_columns(
        pl.col("any").dt.year().is_between(MIN_YEAR, MAX_YEAR).fill_null(False).alias("ok")
    )
    err = out.select(
        pl.when(pl.col("given") & ~pl.col("ok"))
        .then(
            pl.when(pl.col("any").is_not_null())
            .then(pl.lit(YEAR_OUT_OF_RANGE))
            .when(pl.col("matched"))
            .then(pl.lit(IMPOSSIBLE))
            .otherwise(pl.lit(UNRECOGNISED))
        )
        .alias(column)
    ).to_series()
    v = out.select(pl.when(pl.col("ok")).then(pl.col("any"))).to_series()
    return v.alias(column), err


_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(小时|个小时|h|hours?|天|日|个自然日|自然日|days?|个工作日|工作日)?\s*$",
    re.I,
)


def duration_hours(text: str | None) -> float | None:
    """'72小时' → 72, '3天' → 72, '5个工作日' → 168 (weekends added), '48' → 48 hours."""
    if text is None:
        return None
    m = _DURATION.match(text)
    if not m:
        return None
    n, unit = float(m.group(1)), (m.group(2) or "h").lower()
    if "工作日" in unit:
        return (n + 2 * (n // 5)) * 24.0
    if unit in ("天", "日", "个自然日", "自然日") or unit.startswith("day"):
        return n * 24.0
    return n


def parse_float(frame: pl.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    s = pl.col(column).str.strip_chars().str.replace_all(r"[,，°\s]", "")
    out = frame.select(s.cast(pl.Float64, strict=False).alias("v"), s.is_not_null().alias("g"))
    err = out.select(
        pl.when(pl.col("g") & (pl.col("v").is_null() | pl.col("v").is_nan()))
        .then(pl.lit("not_a_number"))
        .alias(column)
    ).to_series()
    return out["v"].alias(column), err


def parse_int(frame: pl.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    v, err = parse_float(frame, column)
    bad = v.is_not_null() & ((v != v.round(0)) | (v < 0) | (v > 1_000_000))
    err = pl.select(
        pl.when(bad).then(pl.lit("not_a_count")).otherwise(err).alias(column)
    ).to_series()
    return pl.select(pl.when(~bad).then(v).cast(pl.Int32).alias(column)).to_series(), err


def map_words(
    series: pl.Series, lookup, *, unknown: str | None = "unknown_value"
) -> tuple[pl.Series, pl.Series]:
    """Map each distinct word with ``lookup(word) -> code | None``; a word that maps to None is
    an error ``unknown`` (or, with ``unknown=None``, simply null)."""
    words = series.str.strip_chars()
    distinct = [w for w in words.unique().to_list() if w is not None]
    table = {w: lookup(w) for w in distinct}
    codes = words.replace_strict(table, default=None, return_dtype=pl.String)
    if unknown is None:
        return codes, pl.Series(series.name, [None] * len(series), dtype=pl.String)
    err = pl.select(
        pl.when(words.is_not_null() & codes.is_null()).then(pl.lit(unknown)).alias(series.name)
    ).to_series()
    return codes, err


def _norm(word: str) -> str:
    return re.sub(r"[\s_\-—()（）]", "", word).lower()


CATEGORY_WORDS = {
    "dispute": ["矛盾纠纷", "纠纷", "邻里纠纷", "家庭纠纷", "劳资纠纷", "调解", "矛盾"],
    "safety_hazard": [
        "安全隐患",
        "消防隐患",
        "安全生产",
        "治安隐患",
        "消防",
        "安全",
        "隐患",
        "治安",
    ],
    "environment": [
        "环境卫生",
        "环境",
        "卫生",
        "垃圾",
        "生态环境",
        "市容环境",
        "市容",
        "污染",
        "噪音",
    ],
    "property": ["物业管理", "物业", "物业服务", "小区管理"],
    "municipal": [
        "市政设施",
        "市政",
        "城市管理",
        "城管",
        "道路",
        "路灯",
        "公共设施",
        "城市部件",
        "井盖",
        "供水",
        "排水",
    ],
    "livelihood": ["民生服务", "民生", "社会保障", "养老", "医疗", "教育", "就业", "救助", "社保"],
    "other": ["其他", "其它", "other"],
}
SOURCE_WORDS = {
    "grid_worker": [
        "网格员上报",
        "网格员",
        "网格员巡查",
        "巡查上报",
        "巡查",
        "网格上报",
        "网格化平台",
    ],
    "hotline_12345": [
        "12345",
        "12345热线",
        "市长热线",
        "热线",
        "政务服务热线",
        "便民热线",
        "open311",
        "市民热线",
    ],
    "resident_order": ["居民点单", "居民", "群众", "群众反映", "居民上报", "小程序", "随手拍"],
    "micro_wish": ["微心愿", "心愿"],
    "party_member": ["在职党员", "党员", "党员报到", "在职党员报到"],
}
SATISFACTION_WORDS = {
    "satisfied": ["满意", "非常满意", "很满意", "十分满意"],
    "basic": ["基本满意", "一般", "比较满意", "较满意"],
    "dissatisfied": ["不满意", "非常不满意", "很不满意", "不太满意"],
}
SATISFACTION_NONE = {"未评价", "无", "暂无", "未回访", "—", "-", "/", "none", "null", "n/a"}
# status → the stage it says the case reached in the closed loop (DESIGN §1)
STATUS_WORDS = {
    "reported": ["上报", "已上报", "待受理", "待立案", "待审核", "新建", "待处理", "受理中"],
    "rejected": [
        "不予立案",
        "不立案",
        "作废",
        "已作废",
        "退回",
        "已退回",
        "驳回",
        "已驳回",
        "无效",
        "rejected",
    ],
    "registered": ["已立案", "立案", "待派遣", "已受理", "受理", "open", "opened"],
    "dispatched": [
        "已派遣",
        "派遣",
        "处置中",
        "办理中",
        "处理中",
        "待处置",
        "已派单",
        "in_progress",
        "inprogress",
    ],
    "handled": ["已处置", "处置完成", "待核查", "待核实", "核查中", "已处理"],
    "closed": [
        "已结案",
        "结案",
        "已办结",
        "办结",
        "已完成",
        "完成",
        "已关闭",
        "关闭",
        "已评价",
        "已归档",
        "closed",
        "已解决",
        "解决",
    ],
}
STAGES = ("reported", "rejected", "registered", "dispatched", "handled", "closed")
YES = {"是", "y", "yes", "true", "1", "已", "有", "√", "t"}
NO = {"否", "n", "no", "false", "0", "未", "无", "×", "f"}


def word_lookup(
    words: dict[str, list[str]], extra: dict[str, str] | None, codes, *, contains: bool
):
    """A lookup function: exact word (or code) → code; then, if ``contains``, a keyword inside."""
    exact = {_norm(w): code for code, ws in words.items() for w in ws}
    exact.update({_norm(c): c for c in codes})
    exact.update({_norm(k): v for k, v in (extra or {}).items()})
    keywords = sorted(
        ((_norm(w), code) for code, ws in words.items() for w in ws), key=lambda p: -len(p[0])
    )

    def lookup(word: str) -> str | None:
        key = _norm(word)
        if key in exact:
            return exact[key]
        if contains:
            for kw, code in keywords:
                if kw and kw in key:
                    return code
        return None

    return lookup


def yes_no(word: str) -> str | None:
    key = _norm(word)
    return "true" if key in YES else "false" if key in NO else None
