"""Case import: one batch of source rows → accepted case rows + problems.

Each row either lands or is rejected with the row number, the column, the value and a reason
(``report.REASONS``). Rules (docs/import.md; one function each in ``case_rules.RULES``):

* required: case id, reported time, and a grid — by code, by name (unique in the district or
  within the given community) or by coordinates (point-in-polygon after conversion to WGS 84);
* every date must parse and exist; event times may not lie in the future; the loop must run
  forward (``check.TIME_ORDER``), in particular nothing closes before it was reported;
* given community / street codes or names must exist and contain the grid;
* coordinates at (0, 0), or outside the district, are rejected;
* category / source / status / satisfaction words map to the app's codes (the original words are
  kept in ``category_original``, ``source_original``, ``status_original``); an unknown category
  becomes ``other``, other unknown words are rejected so nothing is mislabelled silently;
* status words fill the loop: a closed status takes ``closed_at`` from the update time when the
  file has no closing time, a registered-or-later status marks the case registered;
* inconsistencies that leave the row usable land it with a warning (``case_rules.WARNINGS``): an
  open status with a closing time (counted as closed), an update before the report, the other
  orders of ``check.TIME_WARNINGS``.

``CaseBatcher.process`` parses a batch (``CaseRows``), applies the rules
(``case_rules.problems``: rejections, then warnings) and builds the accepted rows from what did not get rejected.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from data_layer.domain import schema
from data_layer.domain.filters import now_local
from data_layer.ingest import values as V
from data_layer.ingest.case_rules import (
    EVENT_TIMES,
    CaseRows,
    Loop,
    Place,
    Points,
    Words,
    problems,
)
from data_layer.ingest.mapping import Mapping
from data_layer.ingest.readers import ERROR, ROW, text_fields
from data_layer.ingest.reference import (
    AreaNames,
    Reference,
    excel_code,
    match_by_code_or_name,
    stated_areas,
)
from data_layer.storage.source import load_sla_hours

EXTRA_COLUMNS = {
    "category_original": pl.String,
    "source_original": pl.String,
    "status_original": pl.String,
}
OUTPUT_SCHEMA = {**schema.CASES, **EXTRA_COLUMNS}
# the fields read from a file: the cases table plus the helper fields turned into its columns
TEXT_FIELDS = (
    *schema.CASES,
    "grid_name",
    "community_code",
    "community_name",
    "street_code",
    "street_name",
    "status",
)
DISTRICT_MARGIN_DEG = 0.02  # ≈ 2 km around the district's bounding box


class CaseBatcher:
    """Turns source batches into case rows; holds what is shared across batches."""

    def __init__(
        self,
        resolved: dict[str, str],
        mapping: Mapping,
        reference: Reference,
        *,
        crs: str = "wgs84",
        default_source: str | None = None,
        now: dt.datetime | None = None,
        open311: bool = False,
    ) -> None:
        self.resolved = resolved  # field → header
        self.mapping = mapping
        self.ref = reference
        self.names = AreaNames.of(reference)
        self.crs = crs
        self.open311 = open311
        self.default_source = default_source or ("hotline_12345" if open311 else None)
        # the data's clock (Asia/Shanghai), not the server's: on a UTC server the last 8 h
        # of cases would otherwise be 'in the future'
        self.now = now or now_local()
        self.sla = load_sla_hours()
        vals = mapping.values
        self.lookup_category = V.word_lookup(
            V.CATEGORY_WORDS, vals.get("category"), schema.CATEGORIES, contains=True
        )
        self.lookup_source = V.word_lookup(
            V.SOURCE_WORDS, vals.get("source"), schema.SOURCES, contains=True
        )
        self.lookup_status = V.word_lookup(
            V.STATUS_WORDS, vals.get("status"), V.STAGES, contains=False
        )
        extra_sat = dict(vals.get("satisfaction") or {})
        sat = V.word_lookup(V.SATISFACTION_WORDS, extra_sat, schema.SATISFACTION, contains=False)
        self.lookup_satisfaction = lambda w: "" if V._norm(w) in V.SATISFACTION_NONE else sat(w)

    def process(self, batch: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(accepted rows in OUTPUT_SCHEMA + ``__row__``, problems in FULL_REPORT_COLUMNS:
        rejections and the warnings of accepted rows)."""
        rows = self._parse(batch)
        report = problems(rows)
        rejected = report.filter(pl.col("severity") == "rejected")["row"]
        accepted = _case_frame(rows).filter(~pl.col(ROW).is_in(rejected.implode()))
        accepted = accepted.with_columns(pl.col(c).cast(t) for c, t in OUTPUT_SCHEMA.items())
        return accepted, report

    # --- parse values ----------------------------------------------------------------------
    def _parse(self, batch: pl.DataFrame) -> CaseRows:
        raw = text_fields(batch, self.resolved, TEXT_FIELDS)
        times, time_errors = {}, {}
        for fld in EVENT_TIMES:
            times[fld], time_errors[fld] = V.parse_datetime(raw, fld, self.mapping.date_format(fld))
        words = self._words(raw)
        rework, rework_error = V.parse_int(raw, "rework_count")
        loop = _loop(times, words)
        due_at, due_unparseable = self._due(raw, times, loop, words.category)
        points = self._points(raw)
        raw, place = self._place(raw, points)
        return CaseRows(
            raw=raw,
            header=dict(self.resolved),
            now=self.now,
            broken=raw[ERROR].is_not_null(),
            case_id=excel_code(raw["case_id"]),
            times=times,
            time_errors=time_errors,
            words=words,
            rework_count=rework,
            rework_error=rework_error,
            loop=loop,
            due_at=due_at,
            due_unparseable=due_unparseable,
            points=points,
            place=place,
        )

    def _words(self, raw: pl.DataFrame) -> Words:
        category, _ = V.map_words(raw["category"], self.lookup_category, unknown=None)
        category = pl.select(
            pl.when(raw["category"].is_not_null()).then(category.fill_null("other"))
        ).to_series()
        source, source_err = self._source(raw)
        status, status_err = V.map_words(raw["status"], self.lookup_status)
        satisfaction, sat_err = V.map_words(raw["satisfaction"], self.lookup_satisfaction)
        rejected, rej_err = V.map_words(raw["rejected"], V.yes_no)
        postponed, post_err = V.map_words(raw["postponed"], V.yes_no)
        return Words(
            category=category,
            source=source,
            status=status,
            satisfaction=satisfaction.replace("", None),
            rejected=rejected,
            postponed=postponed,
            errors={
                "source": source_err,
                "status": status_err,
                "satisfaction": sat_err,
                "rejected": rej_err,
                "postponed": post_err,
            },
        )

    def _source(self, raw: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """The source words, or the default source (Open311: the hotline) where none is given."""
        if self.default_source and "source" not in self.resolved:
            source = pl.Series("source", [self.default_source] * raw.height, dtype=pl.String)
            return source, pl.Series([None] * raw.height, dtype=pl.String)
        source, source_err = V.map_words(raw["source"], self.lookup_source)
        if self.default_source:
            source = source.fill_null(
                pl.select(
                    pl.when(raw["source"].is_null()).then(pl.lit(self.default_source))
                ).to_series()
            )
        return source, source_err

    def _due(
        self, raw: pl.DataFrame, times: dict[str, pl.Series], loop: Loop, category: pl.Series
    ) -> tuple[pl.Series, pl.Series]:
        """(due_at, unparseable): a datetime, or a time limit ('72小时', '5个工作日') from
        registration, or the category's SLA for a registered case."""
        due_v, due_err = V.parse_datetime(raw, "due_at", self.mapping.date_format("due_at"))
        hours = (
            pl.Series([V.duration_hours(x) for x in raw["due_at"].to_list()], dtype=pl.Float64)
            if raw["due_at"].null_count() < raw.height
            else pl.Series([None] * raw.height, dtype=pl.Float64)
        )
        base = loop.registered_at.fill_null(times["reported_at"])
        due_limit = pl.select(
            pl.when(hours.is_not_null()).then(
                base + pl.duration(seconds=(hours * 3600).cast(pl.Int64))
            )
        ).to_series()
        sla_hours = category.replace_strict(
            self.sla, default=None, return_dtype=pl.Int64
        ).fill_null(self.sla.get("other", 168))
        registered = loop.registered_at.is_not_null() & ~loop.rejected.fill_null(False)
        due_sla = pl.select(
            pl.when(raw["due_at"].is_null() & registered).then(
                loop.registered_at + pl.duration(hours=sla_hours)
            )
        ).to_series()
        due = pl.select(pl.coalesce(due_v, due_limit, due_sla)).to_series()
        return due, due_err.is_not_null() & hours.is_null()

    def _points(self, raw: pl.DataFrame) -> Points:
        """Coordinates parsed, converted to WGS 84 and checked against the district's box."""
        lon, lon_err = V.parse_float(raw, "lon")
        lat, lat_err = V.parse_float(raw, "lat")
        both = lon.is_not_null() & lat.is_not_null()
        zero = both & (lon.abs() < 1e-9) & (lat.abs() < 1e-9)
        usable = (both & ~zero).to_numpy()
        lon_w = np.full(raw.height, np.nan)
        lat_w = np.full(raw.height, np.nan)
        if usable.any():
            from geo.crs import convert_lonlat  # only files with coordinates need pyproj

            x, y = convert_lonlat(lon.to_numpy()[usable], lat.to_numpy()[usable], source=self.crs)
            lon_w[usable], lat_w[usable] = np.atleast_1d(x), np.atleast_1d(y)
        has_point = ~np.isnan(lon_w)
        if self.ref.bbox is not None:
            x0, y0, x1, y1 = self.ref.bbox
            m = DISTRICT_MARGIN_DEG
            outside = has_point & ~(
                (lon_w >= x0 - m) & (lon_w <= x1 + m) & (lat_w >= y0 - m) & (lat_w <= y1 + m)
            )
        else:
            outside = np.zeros(raw.height, dtype=bool)
        text = raw.select(
            pl.concat_str([pl.col("lon").fill_null(""), pl.lit(","), pl.col("lat").fill_null("")])
        ).to_series()
        return Points(
            lon_error=lon_err,
            lat_error=lat_err,
            half=lon.is_null() ^ lat.is_null(),
            zero=zero,
            text=text,
            lon=lon_w,
            lat=lat_w,
            has_point=has_point,
            outside=outside,
            usable=has_point & ~outside,
        )

    def _place(self, raw: pl.DataFrame, points: Points) -> tuple[pl.DataFrame, Place]:
        """The grid by code, then by name, then by coordinates; and the stated areas. Returns
        ``raw`` with codes typed into the community / street name columns taken out of them."""
        raw, stated = stated_areas(raw)
        g = match_by_code_or_name(raw, stated, self.names)
        matched = g["_grid"]
        located = (matched.is_null() & stated["grid_code"].is_null()).to_numpy() & points.usable
        grid = matched
        if located.any():
            found = self.ref.locate(points.lon[located], points.lat[located])
            filled = grid.to_list()
            for i, code in zip(np.flatnonzero(located).tolist(), found, strict=True):
                filled[i] = code
            grid = pl.Series("_grid", filled, dtype=pl.String)
        info = pl.DataFrame({"grid_code": grid}).join(
            self.names.grid_info, on="grid_code", how="left", maintain_order="left"
        )
        return raw, Place(
            code=stated["grid_code"],
            name=g["_gname"],
            by_name_count=g["_by_name_n"],
            matched=matched,
            located=located,
            grid=grid,
            grid_community=info["_g_comm"],
            grid_street=info["_g_street"],
            community_code=stated["community_code"],
            community_by_name=g["_cn_code"],
            community_by_name_count=g["_cn_n"],
            street_code=stated["street_code"],
            street_by_name=g["_sn_code"],
            known_communities=self.names.known_communities,
            known_streets=self.names.known_streets,
        )


# --------------------------------------------------------------------------------------------
# parse steps that need nothing of the batcher
# --------------------------------------------------------------------------------------------


def _loop(times: dict[str, pl.Series], words: Words) -> Loop:
    """Status words fill the loop: closed takes the update time when there is no closing time,
    a registered-or-later stage (or any later event) marks the case registered."""
    st = words.status
    is_closed = st == "closed"
    reached_registration = st.is_in(["registered", "dispatched", "handled", "closed"])
    closed_at = pl.select(
        pl.when(times["closed_at"].is_null() & is_closed)
        .then(times["updated_at"])
        .otherwise(times["closed_at"])
    ).to_series()
    progressed = (
        reached_registration.fill_null(False)
        | times["dispatched_at"].is_not_null()
        | closed_at.is_not_null()
        | times["handled_at"].is_not_null()
    )
    registered_at = pl.select(
        pl.when(times["registered_at"].is_null() & progressed & (st != "rejected").fill_null(True))
        .then(times["reported_at"])
        .otherwise(times["registered_at"])
    ).to_series()
    rejected = pl.select(
        pl.when(words.rejected.is_not_null())
        .then(words.rejected == "true")
        .when(st == "rejected")
        .then(pl.lit(True))
        .when(registered_at.is_not_null())
        .then(pl.lit(False))
    ).to_series()
    return Loop(
        is_closed=is_closed, closed_at=closed_at, registered_at=registered_at, rejected=rejected
    )


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def _case_frame(r: CaseRows) -> pl.DataFrame:
    """Every row of the batch as a case row (``ROW`` kept, to drop the rejected ones)."""
    raw, times, loop, words = r.raw, r.times, r.loop, r.words
    updated_at = pl.select(
        pl.coalesce(
            times["updated_at"],
            pl.max_horizontal(
                times["reported_at"],
                loop.registered_at,
                times["dispatched_at"],
                times["handled_at"],
                times["verified_at"],
                loop.closed_at,
            ),
        )
    ).to_series()
    return pl.DataFrame(
        {
            ROW: raw[ROW],
            "case_id": r.case_id,
            "grid_code": r.place.grid,
            "category": words.category,
            "source": words.source,
            "reported_at": times["reported_at"],
            "registered_at": loop.registered_at,
            "rejected": loop.rejected,
            "dispatched_at": times["dispatched_at"],
            "handling_unit": raw["handling_unit"],
            "handled_at": times["handled_at"],
            "verified_at": times["verified_at"],
            "closed_at": loop.closed_at,
            "due_at": r.due_at,
            "postponed": (words.postponed == "true").fill_null(False),
            "rework_count": r.rework_count.fill_null(0),
            "satisfaction": words.satisfaction,
            "lon": pl.Series(r.points.lon).fill_nan(None),
            "lat": pl.Series(r.points.lat).fill_nan(None),
            "reporter_name": raw["reporter_name"],
            "reporter_phone": raw["reporter_phone"],
            "description": raw["description"],
            "updated_at": updated_at,
            "category_original": raw["category"],
            "source_original": raw["source"],
            "status_original": raw["status"],
        }
    )
