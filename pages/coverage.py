"""网格覆盖 Grid coverage: grid kinds, full-time workers (list + map), party organisation,
grid sizes against the 300–500 standard, property service, community workers per 10,000.

Coverage is a snapshot of the reference tables, so its downloads carry no period
(``window=None``).
"""

import streamlit as st
from streamlit_folium import st_folium

from data_layer.domain.filters import Filter, Window
from data_layer.domain.metrics import (
    GRID_HOUSEHOLDS_MAX,
    GRID_HOUSEHOLDS_MIN,
    WORKERS_PER_10K_STANDARD,
)
from data_layer.queries.map_legend import color_scale
from data_layer.queries.map_values import area_rows
from geo import maps
from geo.offline import static_base_url
from ui import charts, queries, state
from ui.downloads import Col, metric_downloads, table
from ui.i18n import lang, metric_label, t
from ui.widgets import kpi_row, metric_table, page_header

URL_KEYS: tuple[str, ...] = ()  # no controls of its own in the URL
KPIS = [
    "full_time_coverage",
    "party_org_coverage",
    "size_standard_rate",
    "property_coverage",
    "workers_per_10k",
]
MAP_METRIC = "full_time_coverage"


def _map(flt, window) -> None:
    """Grids coloured by full-time coverage: 0% (none) red, 100% green, dedicated grey."""
    grid_values = state.kpis(flt, by="grid", win=window)
    ds = state.dataset()
    scale = color_scale(metric=MAP_METRIC, values=grid_values, lang=lang())
    features = maps.area_features(
        geometries=maps.level_geometries(ds, level="grid"),
        areas=area_rows(values=grid_values, metric=MAP_METRIC, scale=scale, lang=lang()),
        level="grid",
        version=ds.version,
    )
    if not features["features"]:
        return
    base = maps.base_map(bounds=features["bbox"], base_url=static_base_url(), height=480)
    layer = maps.choropleth_layer(
        features=features,
        name=f"grid:{MAP_METRIC}",
        tooltip=[
            ("name", t("col.grid")),
            ("value", metric_label(MAP_METRIC)),
            ("code", t("col.code")),
        ],
    )
    st.caption(t("coverage.map"))
    st_folium(
        base,
        key="coverage_map",
        height=480,
        use_container_width=True,
        feature_group_to_add=[layer],
        returned_objects=[],
    )


def _kinds_and_party(flt: Filter) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(t("coverage.kinds"))
        kinds = queries.grid_kinds(flt)
        charts.show(
            charts.code_bars(kinds, code_column="kind", code_kind="grid_kind", key="grids"),
            key="coverage_kinds",
        )
        table(
            kinds,
            [
                Col("kind", t("col.kind"), codes="grid_kind"),
                Col("grids", fmt="{:,.0f}"),
                Col("households", fmt="{:,.0f}"),
                Col("population", fmt="{:,.0f}"),
                Col("full_time_workers", fmt="{:,.0f}"),
                Col("part_time_workers", fmt="{:,.0f}"),
                Col("without_full_time", fmt="{:,.0f}"),
            ],
            key="coverage_kinds_table",
            name="grid_kinds",
            flt=flt,
            window=None,
        )
    with right:
        st.subheader(t("coverage.party"))
        orgs = queries.party_orgs(flt)
        charts.show(
            charts.code_bars(orgs, code_column="party_org", code_kind="party_org", key="grids"),
            key="coverage_party",
        )
        table(
            orgs,
            [
                Col("party_org", codes="party_org"),
                Col("grids", fmt="{:,.0f}"),
                Col("basic_grids", fmt="{:,.0f}"),
                Col("dedicated_grids", fmt="{:,.0f}"),
            ],
            key="coverage_party_table",
            name="party_organisation",
            flt=flt,
            window=None,
        )


def _without_full_time(flt: Filter, window: Window) -> None:
    st.subheader(t("coverage.no_ft"))
    missing = queries.grids_without_full_time(flt)
    if missing.is_empty():
        st.success(t("coverage.no_ft.none"))
        return
    st.markdown(f"**{t('coverage.no_ft.count', n=f'{missing.height:,}')}**")
    left, right = st.columns([2, 3])
    with left:
        table(
            missing,
            [
                Col("grid_name", t("col.grid")),
                Col("community_name", t("col.community")),
                Col("street_name", t("col.street")),
                Col("households", fmt="{:,.0f}"),
                Col("part_time_workers", fmt="{:,.0f}"),
                Col("party_org", codes="party_org"),
                Col("grid_code"),
            ],
            key="coverage_no_ft",
            name="grids_without_full_time_worker",
            height=440,
            flt=flt,
            window=None,
        )
    with right:
        _map(flt, window)


def _sizes(flt: Filter) -> None:
    st.subheader(t("coverage.sizes"))
    st.caption(t("coverage.sizes.help"))
    sizes = queries.grid_sizes(flt)
    if sizes.is_empty():
        st.info(t("an.empty.section"))
        return
    charts.show(
        charts.households_histogram(sizes, low=GRID_HOUSEHOLDS_MIN, high=GRID_HOUSEHOLDS_MAX),
        key="coverage_sizes",
    )
    with st.expander(t("coverage.sizes")):
        table(
            sizes,
            [
                Col("grid_name", t("col.grid")),
                Col("community_name", t("col.community")),
                Col("households", fmt="{:,.0f}"),
                Col("size", codes="size"),
                Col("grid_code"),
            ],
            key="coverage_sizes_table",
            name="grid_sizes",
            flt=flt,
            window=None,
        )


def _property(flt: Filter) -> None:
    st.subheader(t("coverage.property"))
    modes = queries.property_modes(flt)
    charts.show(
        charts.code_bars(
            modes, code_column="property_mode", code_kind="property_mode", key="compounds"
        ),
        key="coverage_property",
    )
    table(
        modes,
        [
            Col("property_mode", codes="property_mode"),
            Col("compounds", fmt="{:,.0f}"),
            Col("households", fmt="{:,.0f}"),
        ],
        key="coverage_property_table",
        name="property_modes",
        flt=flt,
        window=None,
    )


def _communities(flt: Filter, window: Window) -> None:
    """Community workers per 10,000 residents, and every coverage metric per community."""
    st.subheader(t("coverage.workers"))
    st.caption(t("coverage.workers.help"))
    communities = state.kpis(flt, by="community", win=window)
    charts.show(
        charts.grouped_bars(
            communities,
            code_column="code",
            code_kind=None,
            keys=["workers_per_10k"],
            labels=communities["name"].to_list(),
            reference=(
                WORKERS_PER_10K_STANDARD,
                f"{t('chart.standard')} {WORKERS_PER_10K_STANDARD}",
            ),
            sort=True,
            height=440,
        ),
        key="coverage_workers",
    )
    st.subheader(t("coverage.table"))
    st.caption(t("overview.table.help"))
    metric_table(communities, group="coverage", key="coverage_communities")
    metric_downloads(
        communities,
        group="coverage",
        name="coverage_by_community",
        key="coverage_communities_dl",
        flt=flt,
        window=None,
    )


def body() -> None:
    flt = state.current_filter()
    window = state.window(flt)
    current = state.kpis(flt, win=window).row(0, named=True)
    if not page_header(t("coverage.title"), window, current):
        return
    st.subheader(t("coverage.kpis"))
    kpi_row(KPIS, current, None, None)
    _kinds_and_party(flt)
    _without_full_time(flt, window)
    left, right = st.columns(2)
    with left:
        _sizes(flt)
    with right:
        _property(flt)
    _communities(flt, window)


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
