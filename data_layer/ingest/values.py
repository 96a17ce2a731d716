"""Value parsing: the dates, numbers, yes/no words and code words real exports carry.

Datetimes are parsed with vectorised polars expressions (a few regular expressions, then one
strict ``strptime`` that refuses impossible dates such as 2024-02-30):

* ``2024-03-01 08:05``, ``2024/3/1 8:05``, ``2024.3.1``, ``2024年3月1日 8时5分``, with or without
  seconds, fractions, ``T`` separator and a timezone (``Z``, ``+08:00``, ``-0800``) — a time
  with a zone is converted to Asia/Shanghai local time;
* ``3/14/2025 1:20 PM`` — a year-last date is month/day/year (US, as Excel writes it), with an
  optional 12-hour clock;
* ``20240301``, ``20240301 080500``, ``20240301080500``;
* Excel serial dates ``45352`` / ``45352.5`` (days since 1899-12-30, 1954–2119 accepted).

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
    + r"/(\d{4})(?:\s+"
    + _D
    + r":(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?)?$"
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


def _assemble(y, m, d, hh, mm, ss) -> pl.Expr:
    text = pl.concat_str(
        [
            y,
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


def parse_datetime(frame: pl.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    """Parse a string column: (datetimes, error codes) — error is null, ``"unparseable"`` or
    ``"impossible"`` (a recognised form naming a date or time that does not exist, or a year
    outside 1990–2100)."""
    s = pl.col(column).str.strip_chars()
    if frame[column].null_count() == frame.height:
        empty = pl.Series(column, [None] * frame.height, dtype=pl.Datetime("us"))
        return empty, pl.Series(column, [None] * frame.height, dtype=pl.String)
    # fast path: one export uses one format per column; find it on a sample and read the
    # whole column with it; whatever it does not read goes through the patterns
    sample = frame.select(s.drop_nulls().head(50)).to_series()
    best, best_n = None, 0
    for fmt in FAST_FORMATS:
        n = sample.str.strptime(pl.Datetime("us"), fmt, strict=False).is_not_null().sum()
        if n > best_n:
            best, best_n = fmt, n
    parsed = (
        s.str.strptime(pl.Datetime("us"), best, strict=False)
        if best
        else pl.lit(None, dtype=pl.Datetime("us"))
    )
    fast = frame.select(parsed.alias("v"), s.is_not_null().alias("given"))
    todo = fast["given"] & fast["v"].is_null()
    ok = fast["v"].dt.year().is_between(MIN_YEAR, MAX_YEAR).fill_null(False)
    v = fast.select(pl.when(ok).then(pl.col("v"))).to_series().alias(column)
    err = fast.select(
        pl.when(pl.col("given") & ~ok & pl.col("v").is_not_null())
        .then(pl.lit("impossible"))
        .alias(column)
    ).to_series()
    if todo.any():  # only the rows the fast formats did not read go through the patterns
        idx = todo.arg_true()
        slow_v, slow_err = _parse_datetime_patterns(
            frame.select(pl.col(column).filter(todo)), column
        )
        v = v.scatter(idx, slow_v)
        err = err.scatter(idx, slow_err)
    return v, err


def _parse_datetime_patterns(frame: pl.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    s = pl.col(column).str.strip_chars()
    ymd = s.str.extract_groups(P_YMD)
    mdy = s.str.extract_groups(P_MDY)
    cpt = s.str.extract_groups(P_COMPACT)
    f = frame.select(
        s.alias("s"),
        ymd.alias("ymd"),
        mdy.alias("mdy"),
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
        | pl.col("cpt").struct.field("1").is_not_null()
        | serial_ok
    )
    out = f.select(
        pl.coalesce(v_ymd, v_mdy, v_cpt, v_ser).cast(pl.Datetime("us")).alias("v"),
        matched.alias("matched"),
        pl.col("s").is_not_null().alias("given"),
    ).with_columns(
        pl.when(pl.col("v").dt.year().is_between(MIN_YEAR, MAX_YEAR)).then(pl.col("v")).alias("v")
    )
    err = out.select(
        pl.when(pl.col("given") & pl.col("v").is_null())
        .then(
            pl.when(pl.col("matched")).then(pl.lit("impossible")).otherwise(pl.lit("unparseable"))
        )
        .alias(column)
    ).to_series()
    return out["v"].alias(column), err


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
