"""Every metric of DESIGN §2, defined once.

Metrics are computed in two steps, both pure polars:

1. ``case_counts`` / ``coverage_counts`` / ``volunteer_counts`` aggregate raw counts
   (numerators and denominators) per group — named expressions, no I/O;
2. ``add_rates`` derives each rate from its numerator and denominator, ``null`` when the
   denominator is 0 (shown as "—").

``METRICS`` is the registry: key, kind, numerator and denominator columns. The CLI, the
pages and the exports all read values through it, so they cannot disagree.
docs/metrics.md documents the same definitions for people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

DAY = dt.timedelta(hours=24)
# A rate over fewer cases than this is flagged "low volume" and kept out of rankings.
MIN_DENOMINATOR = 20


@dataclass(frozen=True)
class Metric:
    key: str
    group: str  # cases | coverage | volunteer
    kind: str  # count | rate | ratio | value
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0  # ratio multiplier (per 1,000 / per 10,000)
    higher_is_better: bool | None = True
    decimals: int = 1

    @property
    def is_rate(self) -> bool:
        return self.kind in ("rate", "ratio")


METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        # cases
        Metric("reported", "cases", "count", higher_is_better=None, decimals=0),
        Metric("registered", "cases", "count", higher_is_better=None, decimals=0),
        Metric("due", "cases", "count", higher_is_better=None, decimals=0),
        Metric("closed", "cases", "count", decimals=0),
        Metric("closure_rate", "cases", "rate", "closed", "due"),
        Metric("on_time_rate", "cases", "rate", "closed_on_time", "due"),
        Metric("overdue_open", "cases", "count", higher_is_better=False, decimals=0),
        Metric("at_risk", "cases", "count", higher_is_better=False, decimals=0),
        Metric(
            "rework_rate",
            "cases",
            "rate",
            "closed_reworked",
            "closed",
            higher_is_better=False,
        ),
        Metric("satisfaction_rate", "cases", "rate", "rated_satisfied", "rated"),
        Metric("response_rate", "cases", "rate", "responded_24h", "registered"),
        Metric("hours_to_close_median", "cases", "value", higher_is_better=False),
        Metric("hours_to_close_p90", "cases", "value", higher_is_better=False),
        Metric(
            "reported_per_1k_households",
            "cases",
            "ratio",
            "reported",
            "households",
            scale=1_000,
            higher_is_better=None,
        ),
        # coverage
        Metric(
            "full_time_coverage",
            "coverage",
            "rate",
            "basic_grids_full_time",
            "basic_grids",
        ),
        Metric("party_org_coverage", "coverage", "rate", "grids_party_org", "grids"),
        Metric(
            "size_standard_rate",
            "coverage",
            "rate",
            "basic_grids_size_ok",
            "basic_grids",
        ),
        Metric(
            "property_coverage",
            "coverage",
            "rate",
            "compounds_with_property",
            "compounds",
        ),
        Metric(
            "workers_per_10k",
            "coverage",
            "ratio",
            "community_workers",
            "population",
            scale=10_000,
        ),
        # volunteer activity
        Metric("activities", "volunteer", "count", decimals=0),
        Metric("volunteer_hours", "volunteer", "value", decimals=1),
        Metric(
            "volunteer_hours_per_1k",
            "volunteer",
            "ratio",
            "volunteer_hours",
            "population",
            scale=1_000,
        ),
        Metric("party_members_reported", "volunteer", "count", decimals=0),
        Metric("wishes_collected", "volunteer", "count", higher_is_better=None, decimals=0),
        Metric("wishes_claimed", "volunteer", "count", decimals=0),
        Metric("wishes_fulfilled", "volunteer", "count", decimals=0),
        Metric(
            "wish_fulfilment_rate",
            "volunteer",
            "rate",
            "wishes_fulfilled",
            "wishes_collected",
        ),
    ]
}

# Standards quoted next to a metric (DESIGN §2).
WORKERS_PER_10K_STANDARD = 18
GRID_HOUSEHOLDS_MIN, GRID_HOUSEHOLDS_MAX = 300, 500


# -- step 1: counts ---------------------------------------------------------------------


def case_flags(*, as_of: dt.datetime) -> list[pl.Expr]:
    """Per-case booleans of DESIGN §2, everything as known at ``as_of``.

    A case counts as registered only once ``registered_at <= as_of`` (or when the source
    carries no registration time), so a frozen as-of reproduces its figures later.
    """
    c = pl.col
    as_of_lit = pl.lit(as_of, dtype=pl.Datetime("us"))
    registered = (c("rejected") == False) & (  # noqa: E712 - null (undecided) is not registered
        c("registered_at").is_null() | (c("registered_at") <= as_of_lit)
    )
    closed_by_as_of = c("closed_at").is_not_null() & (c("closed_at") <= as_of_lit)
    postponed_pending = (
        c("postponed").fill_null(False) & ~closed_by_as_of & (c("due_at") > as_of_lit)
    )
    due = registered & ~postponed_pending.fill_null(False)
    closed = due & closed_by_as_of
    # closed already implies closed_at <= as_of, so this is closed_at <= min(due_at, as_of)
    on_time = closed & (c("closed_at") <= c("due_at"))
    overdue_open = due & ~closed_by_as_of & (c("due_at") < as_of_lit)
    at_risk = (
        registered
        & ~closed_by_as_of
        & (c("due_at") >= as_of_lit)
        & (c("due_at") < pl.lit(as_of + DAY, dtype=pl.Datetime("us")))
    )
    rated = closed & c("satisfaction").is_not_null()
    responded = (
        registered
        & c("dispatched_at").is_not_null()
        & (c("dispatched_at") <= as_of_lit)
        & ((c("dispatched_at") - c("reported_at")) <= pl.duration(hours=24))
    )
    return [
        registered.fill_null(False).alias("_registered"),
        due.fill_null(False).alias("_due"),
        closed.fill_null(False).alias("_closed"),
        on_time.fill_null(False).alias("_on_time"),
        overdue_open.fill_null(False).alias("_overdue_open"),
        at_risk.fill_null(False).alias("_at_risk"),
        (closed & (c("rework_count").fill_null(0) > 0)).fill_null(False).alias("_reworked"),
        rated.fill_null(False).alias("_rated"),
        (rated & c("satisfaction").is_in(["satisfied", "basic"]))
        .fill_null(False)
        .alias("_satisfied"),
        responded.fill_null(False).alias("_responded"),
        pl.when(closed)
        .then((c("closed_at") - c("reported_at")).dt.total_seconds(fractional=True) / 3600)
        .alias("_hours_to_close"),
    ]


CASE_COUNT_COLUMNS = [
    "reported",
    "registered",
    "due",
    "closed",
    "closed_on_time",
    "overdue_open",
    "at_risk",
    "closed_reworked",
    "rated",
    "rated_satisfied",
    "responded_24h",
]


def case_aggregations() -> list[pl.Expr]:
    """Aggregations over flagged cases (``case_flags`` applied), one row per group."""
    c = pl.col
    counts = [
        pl.len().alias("reported"),
        c("_registered").sum().alias("registered"),
        c("_due").sum().alias("due"),
        c("_closed").sum().alias("closed"),
        c("_on_time").sum().alias("closed_on_time"),
        c("_overdue_open").sum().alias("overdue_open"),
        c("_at_risk").sum().alias("at_risk"),
        c("_reworked").sum().alias("closed_reworked"),
        c("_rated").sum().alias("rated"),
        c("_satisfied").sum().alias("rated_satisfied"),
        c("_responded").sum().alias("responded_24h"),
    ]
    return [
        *(e.cast(pl.Int64) for e in counts),
        c("_hours_to_close").median().alias("hours_to_close_median"),
        c("_hours_to_close").quantile(0.9, interpolation="linear").alias("hours_to_close_p90"),
    ]


def case_counts(cases: pl.LazyFrame, *, by: list[str], as_of: dt.datetime) -> pl.LazyFrame:
    """Case counts per ``by`` group (an empty ``by`` gives one row for everything)."""
    flagged = cases.with_columns(case_flags(as_of=as_of))
    if by:
        return flagged.group_by(by).agg(case_aggregations())
    return flagged.select(case_aggregations())


def grid_coverage_aggregations() -> list[pl.Expr]:
    """Coverage counts over grids (DESIGN §2 coverage table)."""
    c = pl.col
    basic = c("kind") == "basic"
    return [
        pl.len().cast(pl.Int64).alias("grids"),
        basic.sum().cast(pl.Int64).alias("basic_grids"),
        (basic & (c("full_time_workers") >= 1)).sum().cast(pl.Int64).alias("basic_grids_full_time"),
        c("party_org").is_in(["branch", "group"]).sum().cast(pl.Int64).alias("grids_party_org"),
        (basic & c("households").is_between(GRID_HOUSEHOLDS_MIN, GRID_HOUSEHOLDS_MAX))
        .sum()
        .cast(pl.Int64)
        .alias("basic_grids_size_ok"),
    ]


def compound_aggregations() -> list[pl.Expr]:
    c = pl.col
    return [
        pl.len().cast(pl.Int64).alias("compounds"),
        (c("property_mode").is_not_null() & (c("property_mode") != "none"))
        .sum()
        .cast(pl.Int64)
        .alias("compounds_with_property"),
    ]


# -- step 2: rates ----------------------------------------------------------------------


def rate_expr(metric: Metric) -> pl.Expr:
    """``numerator / denominator × scale``, null when the denominator is 0 or missing."""
    num, den = pl.col(metric.numerator), pl.col(metric.denominator)
    return (
        pl.when(den.is_not_null() & (den > 0))
        .then(num.cast(pl.Float64) / den.cast(pl.Float64) * metric.scale)
        .otherwise(None)
        .alias(metric.key)
    )


def add_rates(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Add every rate/ratio column whose numerator and denominator are present."""
    names = frame.collect_schema().names()
    exprs = [
        rate_expr(m)
        for m in METRICS.values()
        if m.is_rate and m.numerator in names and m.denominator in names
    ]
    return frame.with_columns(exprs)


def is_low_volume(denominator: float | int | None) -> bool:
    """A rate over too few cases to compare fairly."""
    return denominator is None or denominator < MIN_DENOMINATOR


# -- presentation helpers (pure; shared by pages, CLI and exports) ----------------------

DASH = "—"


def format_value(key: str, value: float | int | None) -> str:
    """Display text of a metric value: rates as percentages, "—" when there is no value."""
    if value is None or (isinstance(value, float) and value != value):
        return DASH
    metric = METRICS[key]
    if metric.kind == "rate":
        return f"{value * 100:.{metric.decimals}f}%"
    if metric.kind == "count":
        return f"{int(value):,}"
    return f"{value:,.{metric.decimals}f}"


def format_fraction(numerator: float | int | None, denominator: float | int | None) -> str:
    """ "70,897 / 70,970" — the numerator and denominator behind a rate."""

    def num(v: float | int | None) -> str:
        if v is None:
            return DASH
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"

    return f"{num(numerator)} / {num(denominator)}"


def metric_fields(row: dict, key: str) -> dict:
    """One metric of a result row as ``{"value", "numerator", "denominator"}``.

    Counts and values carry only ``value``. This is the CLI's JSON form (issue: CLI contract).
    """
    metric = METRICS[key]
    value = row.get(key)
    if isinstance(value, float) and value != value:
        value = None
    out: dict = {"value": value}
    if metric.is_rate:
        out["numerator"] = row.get(metric.numerator)
        out["denominator"] = row.get(metric.denominator)
    return out
