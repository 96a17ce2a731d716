"""Volunteer queries (志愿服务): teams, activities, in-service party members, micro-wishes,
most and least active communities.

Teams are a snapshot; activities, party reports and wishes are selected by the period as
``figures.kpis`` selects them (``figures.*_in_window``) and counted with the same
``metrics`` aggregations, so the page and the KPI cards agree.
"""

from __future__ import annotations

import polars as pl

from data_layer.domain import metrics, schema
from data_layer.domain.filters import Filter, Window
from data_layer.domain.scope import Scope
from data_layer.queries import figures
from data_layer.queries.frames import zero_filled
from data_layer.storage.source import Dataset

WISH_STAGES = ("wishes_collected", "wishes_claimed", "wishes_fulfilled")


def _communities(ds: Dataset, flt: Filter, scope: Scope) -> pl.LazyFrame:
    return figures.scoped_communities(ds, flt, scope).select("community_code", "name")


def _in_scope(rows: pl.LazyFrame, ds: Dataset, flt: Filter, scope: Scope) -> pl.LazyFrame:
    return rows.join(_communities(ds, flt, scope), on="community_code", how="semi")


# -- lazy parts (shared by the queries and the one-row summary) ------------------------------


def _team_counts(ds: Dataset, flt: Filter, scope: Scope) -> pl.LazyFrame:
    counts = (
        _in_scope(ds.lazy("volunteer_teams"), ds, flt, scope)
        .group_by("kind")
        .agg(
            pl.len().cast(pl.Int64).alias("teams"),
            pl.col("members").sum().cast(pl.Int64).alias("team_members"),
        )
    )
    return zero_filled(schema.TEAM_KINDS, counts, key="kind")


def _activity_counts(ds: Dataset, flt: Filter, scope: Scope, window: Window) -> pl.LazyFrame:
    counts = (
        _in_scope(figures.activities_in_window(ds, window), ds, flt, scope)
        .group_by("kind")
        .agg(metrics.activity_aggregations())
    )
    return zero_filled(schema.ACTIVITY_KINDS, counts, key="kind").with_columns(
        pl.col("volunteer_hours").cast(pl.Float64)
    )


def _party_counts(ds: Dataset, flt: Filter, scope: Scope, window: Window) -> pl.LazyFrame:
    counts = (
        figures.party_reports_in_window(ds, window)
        .group_by("community_code")
        .agg(metrics.party_report_aggregations())
    )
    return (
        _communities(ds, flt, scope)
        .join(counts, on="community_code", how="left")
        .with_columns(pl.col("party_members_reported", "posts_claimed").fill_null(0))
        .sort("community_code")
    )


def _wish_row(ds: Dataset, flt: Filter, scope: Scope, window: Window) -> pl.LazyFrame:
    return _in_scope(figures.wishes_in_window(ds, window), ds, flt, scope).select(
        metrics.wish_aggregations(as_of=window.as_of)
    )


# -- the queries -----------------------------------------------------------------------------


def volunteer_teams(ds: Dataset, flt: Filter, scope: Scope) -> pl.DataFrame:
    """Teams and members by team kind (a snapshot, like coverage)."""
    return _team_counts(ds, flt, scope).collect()


def activities_by_kind(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """Activities, service hours and participants by activity kind in the period."""
    return _activity_counts(ds, flt, scope, window or flt.window()).collect()


def party_reports(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """In-service party members reported and posts claimed, per community in scope."""
    return _party_counts(ds, flt, scope, window or flt.window()).collect()


def volunteer_summary(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """One row: ``teams`` and ``team_members`` (snapshot), ``participants`` of activities,
    ``party_members_reported`` and ``posts_claimed``, and the wishes' median days to claim
    and to fulfil — the volunteer figures beyond the KPIs, for the whole scope."""
    window = window or flt.window()
    totals = [
        _team_counts(ds, flt, scope).select(pl.col("teams", "team_members").sum()),
        _activity_counts(ds, flt, scope, window).select(pl.col("participants").sum()),
        _party_counts(ds, flt, scope, window).select(
            pl.col("party_members_reported", "posts_claimed").sum()
        ),
        _wish_row(ds, flt, scope, window).select(
            pl.col("wish_days_to_claim_median", "wish_days_to_fulfil_median").cast(pl.Float64)
        ),
    ]
    return pl.concat(totals, how="horizontal").collect()


def wish_funnel(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """Micro-wishes collected → claimed → fulfilled (as counted by the KPIs), with the
    median days from creation to claim and to fulfilment (``median_days``)."""
    row = _wish_row(ds, flt, scope, window or flt.window()).collect().row(0, named=True)
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
    window = window or flt.window()
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
