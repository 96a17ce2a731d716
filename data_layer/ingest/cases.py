"""Case import: one batch of source rows → accepted case rows + problems.

Each row either lands or is rejected with the row number, the column, the value and a reason
(``report.REASONS``). Rules (docs/import.md):

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
  file has no closing time, a registered-or-later status marks the case registered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely

from data_layer.domain import schema
from data_layer.ingest import values as V
from data_layer.ingest.check import TIME_ORDER as CHECK_TIME_ORDER
from data_layer.ingest.mapping import Mapping
from data_layer.ingest.readers import ERROR, ROW
from data_layer.ingest.report import REPORT_COLUMNS, message
from data_layer.storage.source import load_sla_hours

EXTRA_COLUMNS = {
    "category_original": pl.String,
    "source_original": pl.String,
    "status_original": pl.String,
}
OUTPUT_SCHEMA = {**schema.CASES, **EXTRA_COLUMNS}
EVENT_TIMES = (
    "reported_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "updated_at",
)
TIME_ORDER = [(a, b) for table, a, b in CHECK_TIME_ORDER if table == "cases"]
DISTRICT_MARGIN_DEG = 0.02  # ≈ 2 km around the district's bounding box
FUTURE_SLACK = dt.timedelta(hours=1)


@dataclass
class Reference:
    """The areas cases are matched against (from the data directory, or the boundaries being
    imported in the same run)."""

    grids: pl.DataFrame  # grid_code, community_code, name
    communities: pl.DataFrame  # community_code, street_code, name
    streets: pl.DataFrame  # street_code, name
    polygons: np.ndarray
    tree: shapely.STRtree | None
    bbox: tuple[float, float, float, float] | None

    @classmethod
    def from_tables(cls, tables: dict[str, pl.DataFrame]) -> Reference:
        grids = tables["grids"]
        geoms = (
            shapely.from_wkb(grids["geometry"].to_numpy(), on_invalid="ignore")
            if grids.height
            else np.empty(0, dtype=object)
        )
        ok = (
            np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
            if len(geoms)
            else np.zeros(0, bool)
        )
        tree = shapely.STRtree(geoms[ok]) if ok.any() else None
        bbox = tuple(shapely.total_bounds(geoms[ok]).tolist()) if ok.any() else None
        return cls(
            grids=grids.select("grid_code", "community_code", "name"),
            communities=tables["communities"].select("community_code", "street_code", "name"),
            streets=tables["streets"].select("street_code", "name"),
            polygons=np.flatnonzero(ok),
            tree=tree,
            bbox=bbox,
        )

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        """Grid code containing each point (lowest code on a shared edge), None outside."""
        out: list[str | None] = [None] * len(lon)
        if self.tree is None or len(lon) == 0:
            return out
        pts = shapely.points(lon, lat)
        p_idx, g_idx = self.tree.query(pts, predicate="intersects")
        codes = self.grids["grid_code"].to_list()
        for p, g in zip(p_idx.tolist(), g_idx.tolist(), strict=True):
            code = codes[self.polygons[g]]
            if out[p] is None or code < out[p]:
                out[p] = code
        return out


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
        self.crs = crs
        self.open311 = open311
        self.default_source = default_source or ("hotline_12345" if open311 else None)
        self.now = now or dt.datetime.now()
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
        self._grid_names()

    # --- lookups ---------------------------------------------------------------------------
    def _grid_names(self) -> None:
        g = self.ref.grids.join(
            self.ref.communities.select(
                "community_code", pl.col("name").alias("community_name"), "street_code"
            ),
            on="community_code",
            how="left",
        )
        self.grid_info = g.select(
            "grid_code",
            pl.col("community_code").alias("_g_comm"),
            pl.col("street_code").alias("_g_street"),
        )
        uniq = g.group_by("name").agg(pl.col("grid_code").first(), pl.len().alias("n"))
        self.by_name = uniq.select(
            pl.col("name").alias("_gname"),
            pl.col("grid_code").alias("_by_name"),
            pl.col("n").alias("_by_name_n"),
        )
        self.by_comm_code = (
            g.group_by("community_code", "name")
            .agg(pl.col("grid_code").first(), pl.len().alias("n"))
            .filter(pl.col("n") == 1)
            .select(
                pl.col("community_code").alias("_ccode"),
                pl.col("name").alias("_gname"),
                pl.col("grid_code").alias("_by_cc"),
            )
        )
        self.by_comm_name = (
            g.group_by("community_name", "name")
            .agg(pl.col("grid_code").first(), pl.len().alias("n"))
            .filter(pl.col("n") == 1)
            .select(
                pl.col("community_name").alias("_cname"),
                pl.col("name").alias("_gname"),
                pl.col("grid_code").alias("_by_cn"),
            )
        )
        comm = self.ref.communities
        self.comm_by_name = (
            comm.group_by("name")
            .agg(pl.col("community_code").first(), pl.len().alias("n"))
            .select(
                pl.col("name").alias("_cname"),
                pl.col("community_code").alias("_cn_code"),
                pl.col("n").alias("_cn_n"),
            )
        )
        self.street_by_name = (
            self.ref.streets.group_by("name")
            .agg(pl.col("street_code").first())
            .select(pl.col("name").alias("_sname"), pl.col("street_code").alias("_sn_code"))
        )

    # --- one batch -------------------------------------------------------------------------
    def process(self, batch: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(accepted rows in OUTPUT_SCHEMA + ``__row__``, problems in REPORT_COLUMNS)."""
        problems: list[pl.DataFrame] = []
        header = dict(self.resolved)
        cols = {}
        for fld in (
            *schema.CASES,
            "grid_name",
            "community_code",
            "community_name",
            "street_code",
            "street_name",
            "status",
        ):
            if fld in header:
                c = pl.col(header[fld]).str.strip_chars()
                cols[fld] = pl.when(c != "").then(c)
            else:
                cols[fld] = pl.lit(None, dtype=pl.String)
        raw = batch.select(pl.col(ROW), pl.col(ERROR), *(e.alias(f) for f, e in cols.items()))
        rows = raw[ROW]

        def flag(
            mask: pl.Series, fld: str, reason: str, value: pl.Series | None = None, detail: str = ""
        ) -> None:
            mask = mask.fill_null(False)
            if not mask.any():
                return
            vals = raw[fld] if value is None and fld in raw.columns else value
            if vals is None:
                vals = pl.Series([None] * raw.height, dtype=pl.String)
            msg = message(reason) + (f": {detail}" if detail else "")
            problems.append(
                pl.DataFrame(
                    {
                        "row": rows.filter(mask),
                        "column": [header.get(fld, fld)] * int(mask.sum()),
                        "field": [fld] * int(mask.sum()),
                        "value": vals.cast(pl.String).filter(mask),
                        "reason": [reason] * int(mask.sum()),
                        "message": [msg] * int(mask.sum()),
                    },
                    schema=REPORT_COLUMNS,
                )
            )

        # broken rows (ragged CSV lines, syntax errors)
        broken = raw[ERROR].is_not_null()
        if broken.any():
            problems.append(
                raw.filter(broken).select(
                    pl.col(ROW).alias("row"),
                    pl.lit("").alias("column"),
                    pl.lit("").alias("field"),
                    pl.lit(None, dtype=pl.String).alias("value"),
                    pl.lit("bad_row").alias("reason"),
                    (pl.lit(message("bad_row") + ": ") + pl.col(ERROR)).alias("message"),
                )
            )

        # code-like fields: Excel turns codes into numbers ("360102001001001.0")
        code_fix = {
            f: raw[f].str.replace(r"^(\d+)\.0+$", "${1}")
            for f in ("case_id", "grid_code", "community_code", "street_code")
        }
        out = pl.DataFrame({ROW: rows, "case_id": code_fix["case_id"]})
        flag(out["case_id"].is_null() & ~broken, "case_id", "missing_required")

        # times
        times: dict[str, pl.Series] = {}
        for fld in EVENT_TIMES:
            v, err = V.parse_datetime(raw, fld)
            for reason in ("unparseable", "impossible"):
                flag(err == reason, fld, reason)
            future = v > (self.now + FUTURE_SLACK)
            flag(future, fld, "future")
            times[fld] = v
        flag(
            times["reported_at"].is_null() & raw["reported_at"].is_null() & ~broken,
            "reported_at",
            "missing_required",
        )

        # words
        category, _ = V.map_words(raw["category"], self.lookup_category, unknown=None)
        category = pl.select(
            pl.when(raw["category"].is_not_null()).then(category.fill_null("other"))
        ).to_series()
        if self.default_source and "source" not in header:
            source = pl.Series("source", [self.default_source] * raw.height, dtype=pl.String)
            source_err = pl.Series([None] * raw.height, dtype=pl.String)
        else:
            source, source_err = V.map_words(raw["source"], self.lookup_source)
            if self.default_source:
                source = source.fill_null(
                    pl.select(
                        pl.when(raw["source"].is_null()).then(pl.lit(self.default_source))
                    ).to_series()
                )
        flag(
            source_err.is_not_null(),
            "source",
            "unknown_value",
            detail="可用 / allowed: " + ", ".join(schema.SOURCES),
        )
        status, status_err = V.map_words(raw["status"], self.lookup_status)
        flag(
            status_err.is_not_null(),
            "status",
            "unknown_value",
            detail="可用 / allowed: " + ", ".join(V.STAGES),
        )
        satisfaction, sat_err = V.map_words(raw["satisfaction"], self.lookup_satisfaction)
        satisfaction = satisfaction.replace("", None)
        flag(sat_err.is_not_null(), "satisfaction", "unknown_value", detail="满意/基本满意/不满意")
        rejected, rej_err = V.map_words(raw["rejected"], V.yes_no)
        flag(rej_err.is_not_null(), "rejected", "unknown_value", detail="是/否")
        postponed, post_err = V.map_words(raw["postponed"], V.yes_no)
        flag(post_err.is_not_null(), "postponed", "unknown_value", detail="是/否")
        rework, rework_err = V.parse_int(raw, "rework_count")
        flag(rework_err.is_not_null(), "rework_count", "not_a_count")

        # the loop from the status
        st = status
        is_closed = st == "closed"
        reached_registration = st.is_in(["registered", "dispatched", "handled", "closed"])
        closed_at = pl.select(
            pl.when(times["closed_at"].is_null() & is_closed)
            .then(times["updated_at"])
            .otherwise(times["closed_at"])
        ).to_series()
        flag(
            is_closed & closed_at.is_null() & raw["closed_at"].is_null(),
            "status",
            "closed_without_time",
        )
        progressed = (
            reached_registration.fill_null(False)
            | times["dispatched_at"].is_not_null()
            | closed_at.is_not_null()
            | times["handled_at"].is_not_null()
        )
        registered_at = pl.select(
            pl.when(
                times["registered_at"].is_null() & progressed & (st != "rejected").fill_null(True)
            )
            .then(times["reported_at"])
            .otherwise(times["registered_at"])
        ).to_series()
        rejected_b = pl.select(
            pl.when(rejected.is_not_null())
            .then(rejected == "true")
            .when(st == "rejected")
            .then(pl.lit(True))
            .when(registered_at.is_not_null())
            .then(pl.lit(False))
        ).to_series()

        # due date: a datetime, or a time limit ('72小时', '5个工作日') from registration, or the SLA
        due_v, due_err = V.parse_datetime(raw, "due_at")
        hours = (
            pl.Series([V.duration_hours(x) for x in raw["due_at"].to_list()], dtype=pl.Float64)
            if raw["due_at"].null_count() < raw.height
            else pl.Series([None] * raw.height, dtype=pl.Float64)
        )
        base = registered_at.fill_null(times["reported_at"])
        due_limit = pl.select(
            pl.when(hours.is_not_null()).then(
                base + pl.duration(seconds=(hours * 3600).cast(pl.Int64))
            )
        ).to_series()
        flag(due_err.is_not_null() & hours.is_null(), "due_at", "unparseable")
        sla_hours = category.replace_strict(
            self.sla, default=None, return_dtype=pl.Int64
        ).fill_null(self.sla.get("other", 168))
        due_sla = pl.select(
            pl.when(
                raw["due_at"].is_null() & registered_at.is_not_null() & ~rejected_b.fill_null(False)
            ).then(registered_at + pl.duration(hours=sla_hours))
        ).to_series()
        due = pl.select(pl.coalesce(due_v, due_limit, due_sla)).to_series()

        # time order
        ordered = {**times, "registered_at": registered_at, "closed_at": closed_at}
        for early, late in TIME_ORDER:
            bad = ordered[late] < ordered[early]
            reason = (
                "closed_before_reported"
                if (early, late) == ("reported_at", "closed_at")
                else "time_order"
            )
            flag(bad, late, reason, detail=f"{header.get(late, late)} < {header.get(early, early)}")

        # coordinates
        lon, lon_err = V.parse_float(raw, "lon")
        lat, lat_err = V.parse_float(raw, "lat")
        flag(lon_err.is_not_null(), "lon", "not_a_number")
        flag(lat_err.is_not_null(), "lat", "not_a_number")
        half = lon.is_null() ^ lat.is_null()
        flag(
            half & lon_err.is_null() & lat_err.is_null(),
            "lon" if "lon" in header else "lat",
            "half_coordinates",
        )
        both = lon.is_not_null() & lat.is_not_null()
        zero = both & (lon.abs() < 1e-9) & (lat.abs() < 1e-9)
        coord_text = raw.select(
            pl.concat_str([pl.col("lon").fill_null(""), pl.lit(","), pl.col("lat").fill_null("")])
        ).to_series()
        flag(zero, "lon", "zero_coordinates", value=coord_text)
        usable = (both & ~zero).to_numpy()
        lon_w = np.full(raw.height, np.nan)
        lat_w = np.full(raw.height, np.nan)
        if usable.any():
            from geo.crs import convert_lonlat

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
        flag(pl.Series(outside), "lon", "outside_district", value=coord_text)
        point_ok = has_point & ~outside

        # grid: code, name (maybe a code), then coordinates
        gname = raw["grid_name"]
        gname_is_code = gname.str.contains(r"^\d{15}$").fill_null(False)
        gcode = pl.select(
            pl.when(code_fix["grid_code"].is_not_null())
            .then(code_fix["grid_code"])
            .when(gname_is_code)
            .then(gname)
        ).to_series()
        # a code typed into a name column (所属社区 = 360102001001) counts as the code
        cname_code = raw["community_name"].str.contains(r"^\d{12}$").fill_null(False)
        sname_code = raw["street_name"].str.contains(r"^\d{9}$").fill_null(False)
        comm_code = pl.select(
            pl.coalesce(code_fix["community_code"], pl.when(cname_code).then(raw["community_name"]))
        ).to_series()
        street_code = pl.select(
            pl.coalesce(code_fix["street_code"], pl.when(sname_code).then(raw["street_name"]))
        ).to_series()
        raw = raw.with_columns(
            pl.when(~cname_code).then(pl.col("community_name")).alias("community_name"),
            pl.when(~sname_code).then(pl.col("street_name")).alias("street_name"),
        )
        g = pl.DataFrame(
            {
                ROW: rows,
                "_gcode": gcode,
                "_gname": pl.select(pl.when(~gname_is_code).then(gname)).to_series(),
                "_ccode": comm_code,
                "_cname": raw["community_name"],
                "_scode": street_code,
                "_sname": raw["street_name"],
            }
        )
        g = (
            g.join(self.by_name, on="_gname", how="left")
            .join(self.by_comm_code, on=["_ccode", "_gname"], how="left")
            .join(self.by_comm_name, on=["_cname", "_gname"], how="left")
            .join(self.comm_by_name, on="_cname", how="left")
            .join(self.street_by_name, on="_sname", how="left")
            .join(
                self.grid_info.select(
                    pl.col("grid_code").alias("_gcode"), pl.lit(True).alias("_gknown")
                ),
                on="_gcode",
                how="left",
            )
        )
        by_name = pl.when(pl.col("_by_name_n") == 1).then(pl.col("_by_name"))
        g = g.with_columns(
            pl.when(pl.col("_gcode").is_not_null())
            .then(pl.when(pl.col("_gknown")).then(pl.col("_gcode")))
            .otherwise(pl.coalesce("_by_cc", "_by_cn", by_name))
            .alias("_grid")
        )
        grid = g["_grid"]
        flag(
            gcode.is_not_null() & grid.is_null(),
            "grid_code"
            if code_fix["grid_code"].is_not_null().any() or "grid_code" in header
            else "grid_name",
            "unknown_grid",
            value=gcode,
        )
        name_given = g["_gname"].is_not_null() & gcode.is_null()
        ambiguous = name_given & grid.is_null() & (g["_by_name_n"] > 1).fill_null(False)
        flag(ambiguous, "grid_name", "ambiguous_grid")
        flag(
            name_given & grid.is_null() & ~ambiguous & ~pl.Series(point_ok),
            "grid_name",
            "unknown_grid",
        )
        need_pip = (grid.is_null() & gcode.is_null()).to_numpy() & point_ok
        if need_pip.any():
            found = self.ref.locate(lon_w[need_pip], lat_w[need_pip])
            filled = grid.to_list()
            for i, code in zip(np.flatnonzero(need_pip).tolist(), found, strict=True):
                filled[i] = code
            grid = pl.Series("_grid", filled, dtype=pl.String)
            flag(pl.Series(need_pip) & grid.is_null(), "lon", "outside_grids", value=coord_text)
        flag(
            gcode.is_null()
            & g["_gname"].is_null()
            & pl.Series(~has_point)
            & ~broken
            & ~half
            & ~zero
            & lon_err.is_null()
            & lat_err.is_null(),
            "grid_code" if "grid_code" in header or "grid_name" not in header else "grid_name",
            "no_location",
        )

        # stated community / street must exist and contain the grid
        known_comm = set(self.ref.communities["community_code"].to_list())
        known_street = set(self.ref.streets["street_code"].to_list())
        info = pl.DataFrame({"grid_code": grid}).join(
            self.grid_info, on="grid_code", how="left", maintain_order="left"
        )
        flag(
            comm_code.is_not_null() & ~comm_code.is_in(list(known_comm)),
            "community_code" if "community_code" in header else "community_name",
            "unknown_community",
            value=comm_code,
        )
        flag(
            raw["community_name"].is_not_null() & g["_cn_code"].is_null(),
            "community_name",
            "unknown_community",
        )
        stated_comm = pl.select(
            pl.coalesce(comm_code, pl.when(g["_cn_n"] == 1).then(g["_cn_code"]))
        ).to_series()
        flag(
            grid.is_not_null()
            & stated_comm.is_not_null()
            & stated_comm.is_in(list(known_comm))
            & (info["_g_comm"] != stated_comm),
            "community_code" if "community_code" in header else "community_name",
            "grid_not_in_community",
            value=pl.select(pl.coalesce(comm_code, raw["community_name"])).to_series(),
        )
        flag(
            street_code.is_not_null() & ~street_code.is_in(list(known_street)),
            "street_code" if "street_code" in header else "street_name",
            "unknown_street",
            value=street_code,
        )
        flag(
            raw["street_name"].is_not_null() & g["_sn_code"].is_null(),
            "street_name",
            "unknown_street",
        )
        stated_street = pl.select(pl.coalesce(street_code, g["_sn_code"])).to_series()
        flag(
            grid.is_not_null()
            & stated_street.is_not_null()
            & stated_street.is_in(list(known_street))
            & (info["_g_street"] != stated_street),
            "street_code" if "street_code" in header else "street_name",
            "grid_not_in_street",
            value=pl.select(pl.coalesce(street_code, raw["street_name"])).to_series(),
        )

        updated_at = pl.select(
            pl.coalesce(
                times["updated_at"],
                pl.max_horizontal(
                    times["reported_at"],
                    registered_at,
                    times["dispatched_at"],
                    times["handled_at"],
                    times["verified_at"],
                    closed_at,
                ),
            )
        ).to_series()
        keep_lon = pl.Series(np.where(has_point, lon_w, np.nan)).fill_nan(None)
        keep_lat = pl.Series(np.where(has_point, lat_w, np.nan)).fill_nan(None)
        cases = pl.DataFrame(
            {
                ROW: rows,
                "case_id": code_fix["case_id"],
                "grid_code": grid,
                "category": category,
                "source": source,
                "reported_at": times["reported_at"],
                "registered_at": registered_at,
                "rejected": rejected_b,
                "dispatched_at": times["dispatched_at"],
                "handling_unit": raw["handling_unit"],
                "handled_at": times["handled_at"],
                "verified_at": times["verified_at"],
                "closed_at": closed_at,
                "due_at": due,
                "postponed": (postponed == "true").fill_null(False),
                "rework_count": rework.fill_null(0),
                "satisfaction": satisfaction,
                "lon": keep_lon,
                "lat": keep_lat,
                "reporter_name": raw["reporter_name"],
                "reporter_phone": raw["reporter_phone"],
                "description": raw["description"],
                "updated_at": updated_at,
                "category_original": raw["category"],
                "source_original": raw["source"],
                "status_original": raw["status"],
            }
        )
        report = (
            pl.concat(problems, how="vertical") if problems else pl.DataFrame(schema=REPORT_COLUMNS)
        )
        # a row is rejected when it has any problem; rows without a source at all too
        no_source = cases["source"].is_null()
        if no_source.any():
            missing = cases.filter(no_source & ~cases[ROW].is_in(report["row"].implode()))
            if missing.height:
                report = pl.concat(
                    [
                        report,
                        pl.DataFrame(
                            {
                                "row": missing[ROW],
                                "column": [header.get("source", "source")] * missing.height,
                                "field": ["source"] * missing.height,
                                "value": [None] * missing.height,
                                "reason": ["missing_required"] * missing.height,
                                "message": [
                                    message("missing_required")
                                    + ": 来源 / source（可在映射文件 [options] default_source 指定）"
                                ]
                                * missing.height,
                            },
                            schema=REPORT_COLUMNS,
                        ),
                    ]
                )
        accepted = cases.filter(~pl.col(ROW).is_in(report["row"].implode()))
        accepted = accepted.with_columns(pl.col(c).cast(t) for c, t in OUTPUT_SCHEMA.items())
        return accepted, report
