"""Detail queries of the analytics pages: case closure, grid coverage, volunteers, ranking.

Each query takes a ``Dataset``, the ``Filter``, the role ``Scope`` and (for period figures)
a ``Window``, composes the named expressions of ``metrics`` into one LazyFrame pipeline and
collects it at the end. Figures agree with ``figures.kpis`` for the same arguments (the
tests check it); personal data leaves this module masked unless the scope allows it.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from data_layer.domain import metrics, schema
from data_layer.domain.filters import Filter, Window
from data_layer.domain.privacy import mask_personal
from data_layer.domain.scope import Scope
from data_layer.queries import figures
from data_layer.settings import RANKING_TOML
from data_layer.storage.source import Dataset, load_sla_hours

COMPARISONS = ("previous", "last_year", "none")
BUCKETS = {"week": "1w", "month": "1mo"}
TREND_COLUMNS = ("reported", "due", "closed", "closed_on_time", "closure_rate", "on_time_rate")


def _window(flt: Filter, window: Window | None) -> Window:
    return window or flt.window()


def _flagged_cases(ds: Dataset, flt: Filter, scope: Scope, window: Window) -> pl.LazyFrame:
    return figures.cases_in_window(ds, flt, scope, window).with_columns(
        metrics.case_flags(as_of=window.as_of)
    )


# -- windows -----------------------------------------------------------------------------


def _shift_years(value, years: int):
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


def comparison_window(window: Window, compare: str) -> Window | None:
    """The window a trend is compared with.

    ``previous``: ``Window.previous`` (the previous calendar month/quarter/year over the same
    days, or the range of equal length just before); ``last_year``: the same dates and as_of
    one year earlier; ``none``: no comparison.
    """
    if compare == "previous":
        return window.previous()
    if compare == "last_year":
        return Window(
            start=_shift_years(window.start, -1),
            end=_shift_years(window.end, -1),
            as_of=_shift_years(window.as_of, -1),
        )
    if compare == "none":
        return None
    raise ValueError(f"compare must be one of {COMPARISONS}, got {compare!r}")


# -- case closure --------------------------------------------------------------------------


def case_funnel(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """The closed loop 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 → 评价.

    One row per stage (``metrics.FUNNEL_STAGES``): ``count`` (cases that reached it by
    as_of), ``share`` of reported, ``drop_off`` (reached the stage before but not this one:
    at 立案 the rejected and not-yet-registered cases, later the cases still open at the
    stage before, at 评价 the closed cases without a rating), ``rejected`` (立案 row only)
    and ``median_hours`` spent reaching the stage from the one before.
    """
    window = _window(flt, window)
    row = (
        _flagged_cases(ds, flt, scope, window)
        .with_columns(metrics.funnel_flags(as_of=window.as_of))
        .select(metrics.funnel_aggregations())
        .collect()
        .row(0, named=True)
    )
    stages = list(metrics.FUNNEL_STAGES)
    counts = [int(row[s] or 0) for s in stages]
    reported = counts[0]
    return pl.DataFrame(
        {
            "stage": stages,
            "count": counts,
            "share": [c / reported if reported else None for c in counts],
            "drop_off": [None, *(a - b for a, b in zip(counts[:-1], counts[1:], strict=True))],
            "rejected": [int(row["rejected"] or 0) if s == "registered" else None for s in stages],
            "median_hours": [row.get(f"{s}_hours") for s in stages],
        },
        schema={
            "stage": pl.String,
            "count": pl.Int64,
            "share": pl.Float64,
            "drop_off": pl.Int64,
            "rejected": pl.Int64,
            "median_hours": pl.Float64,
        },
    )


def _trend_counts(cases: pl.LazyFrame, *, every: str, as_of: dt.datetime) -> pl.LazyFrame:
    counts = metrics.case_counts(cases, by=["bucket"], as_of=as_of)
    return metrics.add_rates(counts).select("bucket", *TREND_COLUMNS)


def case_trend(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    every: str = "month",
    compare: str = "previous",
) -> pl.DataFrame:
    """Reported, closed, closure and on-time rate per week or month, with a comparison.

    ``bucket`` is the first day of the week (Monday) or month of the report (the window's
    first day for a week or month that began before the window). The comparison
    window's cases are moved onto this window's time line (by the distance between the two
    starts) before bucketing, so ``cmp_<column>`` of a bucket is the same stretch of the
    previous period or of last year. Rates of both use their own window's as_of.
    """
    window = _window(flt, window)
    if every not in BUCKETS:
        raise ValueError(f"every must be one of {tuple(BUCKETS)}, got {every!r}")
    step = BUCKETS[every]
    first = pl.lit(window.start, dtype=pl.Date)

    def bucket(times: pl.Expr) -> pl.Expr:
        # a week or month that began before the window is labelled by the window's start
        return pl.max_horizontal(times.dt.truncate(step).dt.date(), first).alias("bucket")

    current = figures.cases_in_window(ds, flt, scope, window).with_columns(
        bucket(pl.col("reported_at"))
    )
    result = _trend_counts(current, every=step, as_of=window.as_of)
    other = comparison_window(window, compare)
    if other is not None:
        shifted = pl.col("reported_at")
        if compare == "last_year":
            shifted = shifted.dt.offset_by("1y")
        else:
            shifted = shifted + pl.duration(days=(window.start - other.start).days)
        cmp_cases = figures.cases_in_window(ds, flt, scope, other).with_columns(bucket(shifted))
        cmp = _trend_counts(cmp_cases, every=step, as_of=other.as_of).rename(
            {c: f"cmp_{c}" for c in TREND_COLUMNS}
        )
        result = result.join(cmp, on="bucket", how="full", coalesce=True)
    frame = result.sort("bucket").collect()
    count_cols = [c for c in frame.columns if c.removeprefix("cmp_") in metrics.CASE_COUNT_COLUMNS]
    return frame.with_columns(pl.col(count_cols).fill_null(0))


def case_breakdown(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    by: str = "category",
    sla_hours: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Case metrics per category or source, every code in the filter (zero rows included).

    Columns: ``code``, the case count columns, every case rate, median/p90 hours to close,
    ``low_volume`` (due < ``MIN_DENOMINATOR``) and, by category, ``sla_hours``.
    """
    window = _window(flt, window)
    codes = {"category": schema.CATEGORIES, "source": schema.SOURCES}
    if by not in codes:
        raise ValueError(f"by must be 'category' or 'source', got {by!r}")
    chosen = flt.categories if by == "category" else flt.sources
    wanted = [c for c in codes[by] if not chosen or c in chosen]
    base = pl.LazyFrame({"code": wanted}, schema={"code": pl.String})
    cases = figures.cases_in_window(ds, flt, scope, window).with_columns(pl.col(by).alias("code"))
    counts = metrics.case_counts(cases, by=["code"], as_of=window.as_of)
    frame = base.join(counts, on="code", how="left", maintain_order="left").with_columns(
        pl.col(metrics.CASE_COUNT_COLUMNS).fill_null(0)
    )
    frame = metrics.add_rates(frame).with_columns(
        (pl.col("due") < metrics.MIN_DENOMINATOR).alias("low_volume")
    )
    if by == "category":
        sla = sla_hours if sla_hours is not None else load_sla_hours()
        frame = frame.with_columns(
            pl.col("code")
            .replace_strict(sla, default=None, return_dtype=pl.Int64)
            .alias("sla_hours")
        )
    return frame.collect()


def unit_scorecard(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """承办单位 scorecard: volume, on-time, rework, satisfaction, overdue per handling unit.

    Cases with no handling unit (not dispatched) are left out. Sorted by open overdue
    cases, then volume. ``low_volume`` flags units with fewer than ``MIN_DENOMINATOR``
    due cases (their rates are not comparable).
    """
    window = _window(flt, window)
    cases = figures.cases_in_window(ds, flt, scope, window).filter(
        pl.col("handling_unit").is_not_null()
    )
    counts = metrics.case_counts(cases, by=["handling_unit"], as_of=window.as_of)
    return (
        metrics.add_rates(counts)
        .with_columns((pl.col("due") < metrics.MIN_DENOMINATOR).alias("low_volume"))
        .sort(["overdue_open", "registered", "handling_unit"], descending=[True, True, False])
        .collect()
    )


def close_time_stats(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    sla_hours: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Hours from report to close per category (closed cases): min, p10, q1, median, q3,
    p90, max, and the category deadline ``sla_hours`` (counted from registration, so it
    marks the target, not an exact cut). Categories without closed cases are left out.
    """
    window = _window(flt, window)
    sla = sla_hours if sla_hours is not None else load_sla_hours()
    order = {code: i for i, code in enumerate(schema.CATEGORIES)}
    return (
        _flagged_cases(ds, flt, scope, window)
        .filter(pl.col("_closed"))
        .group_by("category")
        .agg(metrics.hours_to_close_distribution())
        .with_columns(
            pl.col("category")
            .replace_strict(sla, default=None, return_dtype=pl.Int64)
            .alias("sla_hours"),
            pl.col("category")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("_order"),
        )
        .sort("_order")
        .drop("_order")
        .collect()
    )


OPEN_LIST_COLUMNS = (
    "case_id",
    "street_name",
    "community_name",
    "grid_name",
    "category",
    "source",
    "handling_unit",
    "reported_at",
    "due_at",
)


def open_cases(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    kind: str = "overdue",
) -> pl.DataFrame:
    """超期 (``kind="overdue"``) or 临期 (``"at_risk"``) cases, as counted by the KPIs.

    Columns: case, street/community/grid names, category, source, unit, report and due
    times, ``hours_overdue`` (overdue, longest first) or ``hours_left`` (at risk, soonest
    first), and the reporter's name and phone — masked (张*, 138****1234) unless the scope
    may see personal data.
    """
    window = _window(flt, window)
    if kind not in ("overdue", "at_risk"):
        raise ValueError(f"kind must be 'overdue' or 'at_risk', got {kind!r}")
    flag, hours = (
        ("_overdue_open", metrics.hours_overdue_expr(as_of=window.as_of))
        if kind == "overdue"
        else ("_at_risk", metrics.hours_left_expr(as_of=window.as_of))
    )
    grids = ds.lazy("grids").select("grid_code", pl.col("name").alias("grid_name"))
    communities = ds.lazy("communities").select(
        "community_code", pl.col("name").alias("community_name")
    )
    streets = ds.lazy("streets").select("street_code", pl.col("name").alias("street_name"))
    lf = (
        _flagged_cases(ds, flt, scope, window)
        .filter(pl.col(flag))
        .with_columns(hours)
        .join(grids, on="grid_code", how="left")
        .join(communities, on="community_code", how="left")
        .join(streets, on="street_code", how="left")
        .select(*OPEN_LIST_COLUMNS, hours.meta.output_name(), "reporter_name", "reporter_phone")
        .sort(hours.meta.output_name(), descending=kind == "overdue")
    )
    return mask_personal(lf, allowed=scope.personal_data).collect()


# -- coverage -------------------------------------------------------------------------------


def _zero_filled(codes: tuple[str, ...], counts: pl.LazyFrame, key: str) -> pl.DataFrame:
    base = pl.LazyFrame({key: list(codes)}, schema={key: pl.String})
    extra = counts.join(base, on=key, how="anti").sort(key)  # codes outside the list, kept
    joined = base.join(counts, on=key, how="left", maintain_order="left")
    frame = pl.concat([joined, extra], how="vertical_relaxed")
    names = [c for c in frame.collect_schema().names() if c != key]
    return frame.with_columns(pl.col(names).fill_null(0)).collect()


def grid_kinds(ds: Dataset, flt: Filter, scope: Scope) -> pl.DataFrame:
    """Basic vs dedicated grids: grids, households, population, full- and part-time workers,
    grids without a full-time worker."""
    counts = (
        figures.scoped_grids(ds, flt, scope)
        .group_by("kind")
        .agg(
            pl.len().cast(pl.Int64).alias("grids"),
            pl.col("households").sum().cast(pl.Int64).alias("households"),
            pl.col("population").sum().cast(pl.Int64).alias("population"),
            pl.col("full_time_workers").sum().cast(pl.Int64).alias("full_time_workers"),
            pl.col("part_time_workers").sum().cast(pl.Int64).alias("part_time_workers"),
            (pl.col("full_time_workers").fill_null(0) < 1)
            .sum()
            .cast(pl.Int64)
            .alias("without_full_time"),
        )
    )
    return _zero_filled(schema.GRID_KINDS, counts, "kind")


def party_orgs(ds: Dataset, flt: Filter, scope: Scope) -> pl.DataFrame:
    """Grids by party organisation (branch / group / none) and kind."""
    counts = (
        figures.scoped_grids(ds, flt, scope)
        .with_columns(pl.col("party_org").fill_null("none"))
        .group_by("party_org")
        .agg(
            pl.len().cast(pl.Int64).alias("grids"),
            (pl.col("kind") == "basic").sum().cast(pl.Int64).alias("basic_grids"),
            (pl.col("kind") == "dedicated").sum().cast(pl.Int64).alias("dedicated_grids"),
        )
    )
    return _zero_filled(schema.PARTY_ORGS, counts, "party_org")


def property_modes(ds: Dataset, flt: Filter, scope: Scope) -> pl.DataFrame:
    """Compounds and their households by property mode (专业化 / 自治型 / 兜底型 / none)."""
    grids = figures.scoped_grids(ds, flt, scope).select("grid_code")
    counts = (
        ds.lazy("compounds")
        .join(grids, on="grid_code", how="semi")
        .with_columns(pl.col("property_mode").fill_null("none"))
        .group_by("property_mode")
        .agg(
            pl.len().cast(pl.Int64).alias("compounds"),
            pl.col("households").sum().cast(pl.Int64).alias("households"),
        )
    )
    return _zero_filled(schema.PROPERTY_MODES, counts, "property_mode")


def _grid_list(ds: Dataset, flt: Filter, scope: Scope) -> pl.LazyFrame:
    communities = ds.lazy("communities").select(
        "community_code", pl.col("name").alias("community_name")
    )
    streets = ds.lazy("streets").select("street_code", pl.col("name").alias("street_name"))
    return (
        figures.scoped_grids(ds, flt, scope)
        .join(communities, on="community_code", how="left")
        .join(streets, on="street_code", how="left")
    )


def grids_without_full_time(ds: Dataset, flt: Filter, scope: Scope) -> pl.DataFrame:
    """Basic grids with no full-time grid worker (the gap in 专职网格员配备率)."""
    return (
        _grid_list(ds, flt, scope)
        .filter((pl.col("kind") == "basic") & ~(pl.col("full_time_workers") >= 1).fill_null(False))
        .select(
            "grid_code",
            pl.col("name").alias("grid_name"),
            "community_name",
            "street_name",
            "households",
            "population",
            "full_time_workers",
            "part_time_workers",
            "party_org",
        )
        .sort("grid_code")
        .collect()
    )


def grid_sizes(ds: Dataset, flt: Filter, scope: Scope) -> pl.DataFrame:
    """Households of every basic grid against the 300–500 standard (``size``: below /
    within / above)."""
    h = pl.col("households")
    return (
        _grid_list(ds, flt, scope)
        .filter(pl.col("kind") == "basic")
        .select(
            "grid_code",
            pl.col("name").alias("grid_name"),
            "community_name",
            "households",
            pl.when(h < metrics.GRID_HOUSEHOLDS_MIN)
            .then(pl.lit("below"))
            .when(h > metrics.GRID_HOUSEHOLDS_MAX)
            .then(pl.lit("above"))
            .otherwise(pl.lit("within"))
            .alias("size"),
        )
        .sort("grid_code")
        .collect()
    )


# -- volunteer ------------------------------------------------------------------------------


def _scoped_community_codes(ds: Dataset, flt: Filter, scope: Scope) -> pl.LazyFrame:
    return figures.scoped_communities(ds, flt, scope).select("community_code", "name")


def volunteer_teams(ds: Dataset, flt: Filter, scope: Scope) -> pl.DataFrame:
    """Teams and members by team kind (a snapshot, like coverage)."""
    counts = (
        ds.lazy("volunteer_teams")
        .join(_scoped_community_codes(ds, flt, scope), on="community_code", how="semi")
        .group_by("kind")
        .agg(
            pl.len().cast(pl.Int64).alias("teams"),
            pl.col("members").sum().cast(pl.Int64).alias("team_members"),
        )
    )
    return _zero_filled(schema.TEAM_KINDS, counts, "kind")


def activities_by_kind(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """Activities, service hours and participants by activity kind in the period."""
    window = _window(flt, window)
    counts = (
        ds.lazy("activities")
        .filter(pl.col("date").is_between(window.start, window.end_time.date()))
        .join(_scoped_community_codes(ds, flt, scope), on="community_code", how="semi")
        .group_by("kind")
        .agg(metrics.activity_aggregations())
    )
    frame = _zero_filled(schema.ACTIVITY_KINDS, counts, "kind")
    return frame.with_columns(pl.col("volunteer_hours").cast(pl.Float64))


def party_reports(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """In-service party members reported and posts claimed, per community in scope."""
    window = _window(flt, window)
    counts = (
        ds.lazy("party_reports")
        .filter(pl.col("reported_on").is_between(window.start, window.end_time.date()))
        .group_by("community_code")
        .agg(
            pl.len().cast(pl.Int64).alias("party_members_reported"),
            pl.col("posts_claimed").sum().cast(pl.Int64).alias("posts_claimed"),
        )
    )
    return (
        _scoped_community_codes(ds, flt, scope)
        .join(counts, on="community_code", how="left")
        .with_columns(pl.col("party_members_reported", "posts_claimed").fill_null(0))
        .sort("community_code")
        .collect()
    )


def volunteer_summary(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """One row: ``teams`` and ``team_members`` (snapshot), ``participants`` of activities,
    ``party_members_reported`` and ``posts_claimed``, and the wishes' median days to claim
    and to fulfil — the volunteer figures beyond the KPIs, for the whole scope."""
    window = _window(flt, window)
    teams = volunteer_teams(ds, flt, scope)
    activities = activities_by_kind(ds, flt, scope, window=window)
    party = party_reports(ds, flt, scope, window=window)
    wishes = wish_funnel(ds, flt, scope, window=window)
    days = dict(zip(wishes["stage"], wishes["median_days"], strict=True))
    return pl.DataFrame(
        {
            "teams": [int(teams["teams"].sum())],
            "team_members": [int(teams["team_members"].sum())],
            "participants": [int(activities["participants"].sum())],
            "party_members_reported": [int(party["party_members_reported"].sum())],
            "posts_claimed": [int(party["posts_claimed"].sum())],
            "wish_days_to_claim_median": [days["wishes_claimed"]],
            "wish_days_to_fulfil_median": [days["wishes_fulfilled"]],
        },
        schema_overrides={
            "wish_days_to_claim_median": pl.Float64,
            "wish_days_to_fulfil_median": pl.Float64,
        },
    )


WISH_STAGES = ("wishes_collected", "wishes_claimed", "wishes_fulfilled")


def wish_funnel(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """Micro-wishes collected → claimed → fulfilled (as counted by the KPIs), with the
    median days from creation to claim and to fulfilment (``median_days``)."""
    window = _window(flt, window)
    row = (
        ds.lazy("wishes")
        .filter(pl.col("created_at").is_between(window.start_time, window.end_time))
        .join(_scoped_community_codes(ds, flt, scope), on="community_code", how="semi")
        .select(metrics.wish_aggregations(as_of=window.as_of))
        .collect()
        .row(0, named=True)
    )
    counts = [int(row[s] or 0) for s in WISH_STAGES]
    return pl.DataFrame(
        {
            "stage": list(WISH_STAGES),
            "count": counts,
            "share": [c / counts[0] if counts[0] else None for c in counts],
            "median_days": [
                None,
                row["wish_days_to_claim_median"],
                row["wish_days_to_fulfil_median"],
            ],
        },
        schema={
            "stage": pl.String,
            "count": pl.Int64,
            "share": pl.Float64,
            "median_days": pl.Float64,
        },
    )


def most_and_least_active(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    n: int = 5,
    metric: str = "volunteer_hours_per_1k",
) -> pl.DataFrame:
    """The ``n`` most and ``n`` least active communities by ``metric`` (``group``: most /
    least; a community appears once). Communities without a value are left out."""
    window = _window(flt, window)
    frame = (
        figures.kpis(ds, flt, scope, by="community", window=window)
        .filter(pl.col(metric).is_not_null())
        .sort([metric, "code"], descending=[True, False])
    )
    top = frame.head(n)
    rest = frame.slice(top.height)
    bottom = rest.tail(min(n, rest.height)).reverse()
    cols = ["code", "name", metric, "activities", "volunteer_hours", "population"]
    return pl.concat(
        [
            top.select(cols).with_columns(pl.lit("most").alias("group")),
            bottom.select(cols).with_columns(pl.lit("least").alias("group")),
        ]
    )


# -- ranking (红黑榜) --------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingConfig:
    """The ranking settings of ``assets/ranking.toml`` (hashable, for caching)."""

    weights: tuple[tuple[str, float], ...]
    min_denominator: int = metrics.MIN_DENOMINATOR
    top_n: int = 5

    @property
    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)


def load_ranking_config(path: Path | None = None) -> RankingConfig:
    """Read ``assets/ranking.toml``; an unknown or non-rate metric key is an error."""
    path = path or RANKING_TOML
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    weights = tuple((str(k), float(v)) for k, v in raw.get("weights", {}).items() if float(v) > 0)
    for key, _ in weights:
        if key not in metrics.METRICS or metrics.METRICS[key].kind != "rate":
            raise ValueError(f"{path.name}: [weights] {key!r} is not a rate of METRICS")
    if not weights:
        raise ValueError(f"{path.name}: [weights] needs at least one positive weight")
    settings = raw.get("ranking", {})
    return RankingConfig(
        weights=weights,
        min_denominator=int(settings.get("min_denominator", metrics.MIN_DENOMINATOR)),
        top_n=int(settings.get("top_n", 5)),
    )


def _scored(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window, level: str, config: RankingConfig
) -> pl.DataFrame:
    frame = figures.kpis(ds, flt, scope, by=level, window=window)
    keys = [k for k, _ in config.weights]
    extra = [
        c for k in keys for c in (metrics.METRICS[k].numerator, metrics.METRICS[k].denominator)
    ]
    ranked = pl.col("low_volume").not_()
    return (
        frame.select(*dict.fromkeys(["code", "name", "due", *keys, *extra]))
        .with_columns(
            metrics.composite_score_expr(config.weight_map),
            (pl.col("due") < config.min_denominator).alias("low_volume"),
        )
        .with_columns(
            pl.when(ranked & pl.col("ranking_score").is_not_null())
            .then(pl.col("ranking_score").rank(method="min", descending=True).over(ranked))
            .cast(pl.Int64)
            .alias("rank")
        )
    )


def ranking(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    level: str = "community",
    config: RankingConfig | None = None,
) -> pl.DataFrame:
    """Areas of ``level`` (community or street) ranked by the composite score.

    Columns: ``code``, ``name``, ``ranking_score`` (0–100), ``rank`` (1 = best, ties share
    a rank; null for low-volume areas), ``low_volume`` (due < ``min_denominator``: flagged,
    not ranked), ``prev_rank`` (same score over ``window.previous()``), ``rank_change``
    (``prev_rank − rank``: positive = moved up; null when either is unranked), ``due`` and
    each weighted rate with its numerator and denominator. Ranked areas first, by rank.
    """
    if level not in ("community", "street"):
        raise ValueError(f"level must be 'community' or 'street', got {level!r}")
    window = _window(flt, window)
    config = config or load_ranking_config()
    now = _scored(ds, flt, scope, window=window, level=level, config=config)
    before = _scored(ds, flt, scope, window=window.previous(), level=level, config=config).select(
        "code", pl.col("rank").alias("prev_rank")
    )
    return (
        now.join(before, on="code", how="left")
        .with_columns((pl.col("prev_rank") - pl.col("rank")).alias("rank_change"))
        .sort(["rank", "code"], nulls_last=True)
    )


def ranking_lists(frame: pl.DataFrame, *, n: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """红榜 (best ``n``) and 黑榜 (worst ``n``, worst first) of a ``ranking`` frame.

    Only ranked areas; an area is on one list only (with fewer than 2n ranked areas the
    black list gets what is left after the red list).
    """
    ranked = frame.filter(pl.col("rank").is_not_null()).sort(["rank", "code"])
    red = ranked.head(n)
    rest = ranked.slice(red.height)
    black = rest.tail(min(n, rest.height)).reverse()
    return red, black


@dataclass(frozen=True)
class RankingBoard:
    """What the 红黑榜 page shows: the full table, the two lists, the ranked areas (for the
    score chart) and how many areas were flagged low volume."""

    table: pl.DataFrame
    red: pl.DataFrame
    black: pl.DataFrame
    ranked: pl.DataFrame
    flagged: int


def ranking_board(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    level: str = "community",
    config: RankingConfig | None = None,
) -> RankingBoard:
    """``ranking`` and ``ranking_lists`` in one result (one cached call per page run)."""
    config = config or load_ranking_config()
    frame = ranking(ds, flt, scope, window=window, level=level, config=config)
    red, black = ranking_lists(frame, n=config.top_n)
    return RankingBoard(
        table=frame,
        red=red,
        black=black,
        ranked=frame.filter(pl.col("rank").is_not_null()),
        flagged=int(frame["low_volume"].sum()),
    )
