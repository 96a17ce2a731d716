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
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from data_layer import settings

DAY = dt.timedelta(hours=24)


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
        Metric("in_progress", "cases", "count", higher_is_better=None, decimals=0),
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


def _as_of_lit(as_of: dt.datetime) -> pl.Expr:
    return pl.lit(as_of, dtype=pl.Datetime("us"))


def registered(as_of: dt.datetime) -> pl.Expr:
    """Registered by ``as_of`` (or the source carries no registration time), not rejected:
    also what every open-case flag implies besides ``open_at``."""
    c = pl.col
    return (
        (c("rejected") == False)  # noqa: E712 - null (undecided) is not registered
        & (c("registered_at").is_null() | (c("registered_at") <= _as_of_lit(as_of)))
    ).fill_null(False)


def _closed_by(as_of: dt.datetime) -> pl.Expr:
    return pl.col("closed_at").is_not_null() & (pl.col("closed_at") <= _as_of_lit(as_of))


def open_at(*, as_of: dt.datetime) -> pl.Expr:
    """Not closed by ``as_of``: what every open-case flag (超期未结, 临期) implies, so a
    query may select on it before it flags the cases (the flags then decide)."""
    return ~_closed_by(as_of)


def _due(as_of: dt.datetime) -> pl.Expr:
    """应结案: registered, and at ``as_of`` closed or past its deadline. A postponed (缓办)
    case counts by its (new) ``due_at`` like any other; no deadline and open: not due."""
    past_deadline = (pl.col("due_at") <= _as_of_lit(as_of)).fill_null(False)
    return registered(as_of) & (_closed_by(as_of) | past_deadline)


def assessment_time(*, as_of: dt.datetime) -> pl.Expr:
    """When a case is assessed (按考核时间): ``min(closed_at, due_at)`` as known at ``as_of``.

    Null for a case that is not due at ``as_of`` (open with its deadline ahead, or not
    registered): it has not been assessed yet. Every due case gets one time, at or before
    ``as_of``, that later as-ofs do not move (a closure after the deadline does not change
    the minimum), so each case is assessed exactly once and consecutive periods add up.
    """
    return pl.when(_due(as_of)).then(pl.min_horizontal("closed_at", "due_at"))


def reported_between(start: dt.datetime, end: dt.datetime) -> pl.Expr:
    """Reported in ``start``..``end`` (both included): a window's cases by report time."""
    return pl.col("reported_at").is_between(start, end, closed="both")


def assessed_between(start: dt.datetime, end: dt.datetime, *, as_of: dt.datetime) -> pl.Expr:
    """Assessed in ``start``..``end`` as known at ``as_of`` (and reported by then): a
    window's cases by assessment time (按考核时间)."""
    return assessment_time(as_of=as_of).is_between(start, end, closed="both") & (
        pl.col("reported_at") <= as_of
    )


def case_flags(*, as_of: dt.datetime) -> list[pl.Expr]:
    """Per-case booleans of DESIGN §2, everything as known at ``as_of``.

    A case counts as registered only once ``registered_at <= as_of`` (or when the source
    carries no registration time), so a frozen as-of reproduces its figures later.
    Registered = due (closed or past the deadline) + in progress (open, deadline ahead).
    """
    c = pl.col
    as_of_lit = _as_of_lit(as_of)
    is_registered = registered(as_of)
    closed_by_as_of = _closed_by(as_of)
    due = _due(as_of)
    closed = is_registered & closed_by_as_of  # every closed case is due
    # closed already implies closed_at <= as_of, so this is closed_at <= min(due_at, as_of)
    on_time = closed & (c("closed_at") <= c("due_at")).fill_null(False)
    overdue_open = due & ~closed_by_as_of & (c("due_at") < as_of_lit).fill_null(False)
    at_risk = (
        is_registered
        & ~closed_by_as_of
        & (c("due_at") >= as_of_lit)
        & (c("due_at") < _as_of_lit(as_of + DAY))
    )
    rated = closed & c("satisfaction").is_not_null()
    responded = (
        is_registered
        & c("dispatched_at").is_not_null()
        & (c("dispatched_at") <= as_of_lit)
        & ((c("dispatched_at") - c("reported_at")) <= pl.duration(hours=24))
    )
    return [
        is_registered.alias("_registered"),
        due.alias("_due"),
        (is_registered & ~due).alias("_in_progress"),
        closed.alias("_closed"),
        on_time.alias("_on_time"),
        overdue_open.alias("_overdue_open"),
        at_risk.fill_null(False).alias("_at_risk"),
        (closed & (c("rework_count").fill_null(0) > 0)).fill_null(False).alias("_reworked"),
        rated.fill_null(False).alias("_rated"),
        (rated & c("satisfaction").is_in(["satisfied", "basic"]))
        .fill_null(False)
        .alias("_satisfied"),
        responded.fill_null(False).alias("_responded"),
        pl.when(closed).then(hours_to_close()).alias("_hours_to_close"),
    ]


def hours_to_close() -> pl.Expr:
    """Hours from report to closing (of any case with both times; ``case_flags`` keeps it
    for the closed ones)."""
    c = pl.col
    return (c("closed_at") - c("reported_at")).dt.total_seconds(fractional=True) / 3600


CASE_COUNT_COLUMNS = [
    "reported",
    "registered",
    "due",
    "in_progress",
    "closed",
    "closed_on_time",
    "overdue_open",
    "at_risk",
    "closed_reworked",
    "rated",
    "rated_satisfied",
    "responded_24h",
]

# Columns counted over the cases *reported* in the period whatever the basis (统计口径):
# the intake (上报, 立案), what is still running (在办未到期, 临期) and the response to reports.
# Every other case column (due, closed, on time, overdue, rework, ratings, hours to close)
# follows the basis: under the assessment basis it counts the cases assessed in the period.
REPORT_TIME_COLUMNS = ("reported", "registered", "in_progress", "at_risk", "responded_24h")


def case_aggregations() -> list[pl.Expr]:
    """Aggregations over flagged cases (``case_flags`` applied), one row per group."""
    c = pl.col
    return [
        *case_count_aggregations(),
        c("_hours_to_close").median().alias("hours_to_close_median"),
        c("_hours_to_close").quantile(0.9, interpolation="linear").alias("hours_to_close_p90"),
    ]


def case_count_aggregations() -> list[pl.Expr]:
    """The ``CASE_COUNT_COLUMNS`` of ``case_aggregations`` (sums: they add up over parts)."""
    c = pl.col
    counts = [
        pl.len().alias("reported"),
        c("_registered").sum().alias("registered"),
        c("_due").sum().alias("due"),
        c("_in_progress").sum().alias("in_progress"),
        c("_closed").sum().alias("closed"),
        c("_on_time").sum().alias("closed_on_time"),
        c("_overdue_open").sum().alias("overdue_open"),
        c("_at_risk").sum().alias("at_risk"),
        c("_reworked").sum().alias("closed_reworked"),
        c("_rated").sum().alias("rated"),
        c("_satisfied").sum().alias("rated_satisfied"),
        c("_responded").sum().alias("responded_24h"),
    ]
    return [e.cast(pl.Int64) for e in counts]


def case_counts(
    cases: pl.LazyFrame, *, by: list[str], as_of: dt.datetime, with_hours: bool = True
) -> pl.LazyFrame:
    """Case counts (and, ``with_hours``, hours to close) per ``by`` group (an empty ``by``
    gives one row for everything)."""
    flagged = cases.with_columns(case_flags(as_of=as_of))
    aggregations = case_aggregations() if with_hours else case_count_aggregations()
    if by:
        return flagged.group_by(by).agg(aggregations)
    return flagged.select(aggregations)


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


def activity_aggregations() -> list[pl.Expr]:
    """Volunteer activity counts over activities: 活动场次, 服务时长 and participants."""
    return [
        pl.len().cast(pl.Int64).alias("activities"),
        pl.col("hours").sum().alias("volunteer_hours"),
        pl.col("participants").sum().cast(pl.Int64).alias("participants"),
    ]


def party_report_aggregations() -> list[pl.Expr]:
    """In-service party members over party reports: 在职党员报到 and the posts they claimed."""
    return [
        pl.len().cast(pl.Int64).alias("party_members_reported"),
        pl.col("posts_claimed").sum().cast(pl.Int64).alias("posts_claimed"),
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


def is_low_volume(
    denominator: float | int | pl.Expr | None, *, threshold: int | None = None
) -> bool | pl.Expr:
    """样本少: a rate over too few cases (a missing denominator or one below ``threshold``,
    by default ``settings.min_denominator()``) to compare fairly. Its change is not coloured
    good or bad, and rankings, alerts and maps flag it instead of ranking it. The one place
    the rule is decided: pass a value for a card or an area, or a polars expression (null =
    missing) for a column.
    """
    if threshold is None:
        threshold = settings.min_denominator()
    if isinstance(denominator, pl.Expr):
        return denominator.is_null() | (denominator < threshold)
    return denominator is None or denominator < threshold


def flags_low_volume(key: str) -> bool:
    """Whether metric ``key`` can be 样本少: rates over sampled events only.

    Case rates (denominators are case counts) and the micro-wish fulfilment rate are.
    Coverage rates are a census of grids/compounds (a grid's full-time coverage is 0% or
    100% over a denominator of 1, and that is a fact, not a small sample), and per-1,000
    ratios have population-sized denominators.
    """
    m = metric_def(key)
    return m.kind == "rate" and m.group in ("cases", "volunteer")


def low_volume_in(key: str, row: Mapping[str, object]) -> bool:
    """Whether metric ``key`` of one figures row (a KPI card, an area) is 样本少."""
    return flags_low_volume(key) and is_low_volume(row.get(metric_def(key).denominator))


# -- registry access (pure; shared by pages, CLI and exports) ---------------------------


def metric_def(key: str) -> Metric:
    """A metric of ``METRICS`` or of ``DETAIL_METRICS`` (the analytics pages' figures)."""
    return METRICS[key] if key in METRICS else DETAIL_METRICS[key]


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


# -- detail figures of the analytics pages (cases, coverage, volunteer, ranking) ---------
#
# These are not headline KPIs (the CLI ``kpis`` does not print them) but every figure the
# analytics pages show is defined here, once, next to the KPIs it builds on.
# docs/metrics.md, section "Detail figures", documents them for people.

DETAIL_METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        # closed-loop funnel stages (reached by as_of; see ``funnel_flags``)
        Metric("dispatched", "cases", "count", higher_is_better=None, decimals=0),
        Metric("handled", "cases", "count", higher_is_better=None, decimals=0),
        Metric("verified", "cases", "count", higher_is_better=None, decimals=0),
        Metric("rated", "cases", "count", higher_is_better=None, decimals=0),
        Metric("stage_hours_median", "cases", "value", higher_is_better=False),
        Metric("hours_overdue", "cases", "value", higher_is_better=False),
        Metric("hours_left", "cases", "value", higher_is_better=None),
        Metric("sla_hours", "cases", "value", higher_is_better=None, decimals=0),
        Metric("hours_to_close_p10", "cases", "value", higher_is_better=False),
        Metric("hours_to_close_q1", "cases", "value", higher_is_better=False),
        Metric("hours_to_close_q3", "cases", "value", higher_is_better=False),
        Metric("hours_to_close_min", "cases", "value", higher_is_better=False),
        Metric("hours_to_close_max", "cases", "value", higher_is_better=False),
        # coverage snapshots
        Metric("households", "coverage", "count", higher_is_better=None, decimals=0),
        Metric("grids", "coverage", "count", higher_is_better=None, decimals=0),
        Metric("basic_grids", "coverage", "count", higher_is_better=None, decimals=0),
        Metric("compounds", "coverage", "count", higher_is_better=None, decimals=0),
        # volunteer activity
        Metric("teams", "volunteer", "count", decimals=0),
        Metric("team_members", "volunteer", "count", decimals=0),
        Metric("participants", "volunteer", "count", decimals=0),
        Metric("posts_claimed", "volunteer", "count", decimals=0),
        Metric("wish_days_to_claim_median", "volunteer", "value", higher_is_better=False),
        Metric("wish_days_to_fulfil_median", "volunteer", "value", higher_is_better=False),
        # ranking (红黑榜)
        Metric("ranking_score", "ranking", "value", decimals=1),
    ]
}

# The closed loop of DESIGN §1, in order. Each stage's timestamp column (None: no time).
FUNNEL_STAGES: tuple[str, ...] = (
    "reported",
    "registered",
    "dispatched",
    "handled",
    "verified",
    "closed",
    "rated",
)
STAGE_TIME_COLUMN: dict[str, str | None] = {
    "reported": "reported_at",
    "registered": "registered_at",
    "dispatched": "dispatched_at",
    "handled": "handled_at",
    "verified": "verified_at",
    "closed": "closed_at",
    "rated": None,  # the source carries no rating time
}


def _hours(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_seconds(fractional=True) / 3600


def funnel_flags(*, as_of: dt.datetime) -> list[pl.Expr]:
    """Per-case stage flags ``_stage_<stage>`` and stage durations ``_stage_hours_<stage>``.

    Apply after ``case_flags``. A case has *reached* a stage when it is registered and the
    time of that stage or of any later stage is ``<= as_of`` (so a closed case whose source
    lacks a handling time still counts as handled, and every stage is a subset of the one
    before). ``closed`` equals the KPI ``closed`` and ``rated`` the KPI ``rated``.
    The time spent in a stage is ``time(stage) − time(previous stage)`` in hours, over
    cases that reached the stage with both times present; ``registered`` counts from the
    report; ``rated`` has no time.
    """
    c = pl.col
    as_of_lit = pl.lit(as_of, dtype=pl.Datetime("us"))
    timed = ["dispatched", "handled", "verified"]
    exprs: list[pl.Expr] = [
        pl.lit(True).alias("_stage_reported"),
        c("_registered").alias("_stage_registered"),
    ]
    for i, stage in enumerate(timed):
        later = [STAGE_TIME_COLUMN[s] for s in timed[i:]]
        reached = pl.any_horizontal(
            [(c(col).is_not_null() & (c(col) <= as_of_lit)) for col in later]
        ) | c("_closed")
        exprs.append((c("_registered") & reached).fill_null(False).alias(f"_stage_{stage}"))
    exprs += [c("_closed").alias("_stage_closed"), c("_rated").alias("_stage_rated")]
    previous = {
        "registered": "reported_at",
        "dispatched": "registered_at",
        "handled": "dispatched_at",
        "verified": "handled_at",
        "closed": "verified_at",
    }
    for stage, before in previous.items():
        now = STAGE_TIME_COLUMN[stage]
        exprs.append(
            pl.when(c(now).is_not_null() & (c(now) <= as_of_lit) & c(before).is_not_null())
            .then(_hours(c(now), c(before)))
            .alias(f"_stage_hours_{stage}")
        )
    return exprs


def funnel_aggregations() -> list[pl.Expr]:
    """Stage counts ``<stage>`` and median stage hours ``<stage>_hours`` (one row)."""
    c = pl.col
    out = [c(f"_stage_{s}").sum().cast(pl.Int64).alias(s) for s in FUNNEL_STAGES]
    out += [
        (c("rejected") == True).sum().cast(pl.Int64).alias("rejected"),  # noqa: E712
    ]
    for stage in FUNNEL_STAGES[1:-1]:
        # a stage's time counts only for cases that reached it (registered ones)
        out.append(
            c(f"_stage_hours_{stage}").filter(c(f"_stage_{stage}")).median().alias(f"{stage}_hours")
        )
    return out


# The distribution of hours to close: column → quantile (0 = min, 1 = max, linear).
HOURS_TO_CLOSE_QUANTILES = {
    "hours_to_close_min": 0.0,
    "hours_to_close_p10": 0.1,
    "hours_to_close_q1": 0.25,
    "hours_to_close_median": 0.5,
    "hours_to_close_q3": 0.75,
    "hours_to_close_p90": 0.9,
    "hours_to_close_max": 1.0,
}


def hours_to_close_distribution() -> list[pl.Expr]:
    """Distribution of ``_hours_to_close`` over closed cases (``HOURS_TO_CLOSE_QUANTILES``)."""
    h = pl.col("_hours_to_close")
    return [
        h.count().cast(pl.Int64).alias("closed"),
        *(
            h.quantile(q, interpolation="linear").alias(n)
            for n, q in HOURS_TO_CLOSE_QUANTILES.items()
        ),
    ]


def hours_overdue_expr(*, as_of: dt.datetime) -> pl.Expr:
    """Hours past the deadline at as_of (overdue cases)."""
    return _hours(pl.lit(as_of, dtype=pl.Datetime("us")), pl.col("due_at")).alias("hours_overdue")


def hours_left_expr(*, as_of: dt.datetime) -> pl.Expr:
    """Hours until the deadline at as_of (at-risk cases)."""
    return _hours(pl.col("due_at"), pl.lit(as_of, dtype=pl.Datetime("us"))).alias("hours_left")


def wish_aggregations(*, as_of: dt.datetime) -> list[pl.Expr]:
    """Micro-wish funnel over wishes created in the period (same counts as ``kpis``).

    Median days to claim / fulfil: ``claimed_at − created_at`` / ``fulfilled_at −
    created_at`` in days, over wishes claimed / fulfilled by as_of.
    """
    c = pl.col
    claimed = c("claimed_at") <= as_of
    fulfilled = c("fulfilled_at") <= as_of
    return [
        pl.len().cast(pl.Int64).alias("wishes_collected"),
        claimed.sum().cast(pl.Int64).alias("wishes_claimed"),
        fulfilled.sum().cast(pl.Int64).alias("wishes_fulfilled"),
        (_hours(c("claimed_at"), c("created_at")) / 24)
        .filter(claimed.fill_null(False))
        .median()
        .alias("wish_days_to_claim_median"),
        (_hours(c("fulfilled_at"), c("created_at")) / 24)
        .filter(fulfilled.fill_null(False))
        .median()
        .alias("wish_days_to_fulfil_median"),
    ]


def composite_score_expr(weights: Mapping[str, float]) -> pl.Expr:
    """The ranking score (红黑榜): weighted mean of rates, 0–100, higher is better.

    Each weighted metric must be a rate of ``METRICS``. A rate where lower is better
    (rework) enters as ``1 − rate``. A rate with no value for an area (denominator 0) is
    left out and the remaining weights are renormalised; no value at all → null.
    """
    parts, present = [], []
    for key, weight in weights.items():
        metric = METRICS[key]
        if metric.kind != "rate":
            raise ValueError(f"ranking weight {key!r}: only rates can be weighted")
        value = pl.col(key)
        if metric.higher_is_better is False:
            value = 1 - value
        parts.append((value * weight).fill_null(0.0))
        present.append(pl.when(pl.col(key).is_not_null()).then(weight).otherwise(0.0))
    total = pl.sum_horizontal(present)
    return (
        pl.when(total > 0)
        .then(pl.sum_horizontal(parts) / total * 100)
        .otherwise(None)
        .alias("ranking_score")
    )
