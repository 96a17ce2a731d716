"""红黑榜 Ranking: communities or streets by the composite score of assets/ranking.toml,
red list (top n) and black list (bottom n), rank change against the previous period,
low-volume areas flagged and kept out."""

import streamlit as st

from data_layer.domain.formatting import DASH
from ui import charts, state
from ui.downloads import Col, table
from ui.i18n import metric_label, t
from ui.widgets import page_header, url_radio

LEVELS = ("community", "street")


def _change(value) -> str:
    if value is None:
        return DASH
    if value > 0:
        return f"↑ {value}"
    if value < 0:
        return f"↓ {-value}"
    return "＝"


def _rank(value) -> str:
    return DASH if value is None else str(value)


def _columns(weights: list[str], *, full: bool) -> list[Col]:
    cols = [
        Col("rank", fmt=_rank),
        Col("name", t("col.name")),
        Col("ranking_score", fmt="{:.1f}"),
        Col("rank_change", fmt=_change),
        Col("prev_rank", fmt=_rank),
    ]
    cols += [Col(k) for k in weights]
    cols.append(Col("due"))
    if full:
        cols += [Col("low_volume"), Col("code", t("col.code"))]
    return cols


def body() -> None:
    flt = state.current_filter()
    window = state.window(flt)
    current = state.kpis(flt, win=window).row(0, named=True)
    if not page_header(t("ranking.title"), window, current):
        return
    config = state.ranking_config()
    weights = [k for k, _ in config.weights]
    level = url_radio(
        t("ranking.level"),
        list(LEVELS),
        param="rank_level",
        key="ranking_level",
        default=list(LEVELS)[0],
        format_func=lambda v: t(f"ranking.level.{v}"),
    )
    previous = window.previous()
    st.caption(
        t(
            "ranking.formula",
            weights="，".join(f"{metric_label(k)} {w:g}" for k, w in config.weights),
            n=config.min_denominator,
            start=previous.start,
            end=previous.end,
        )
    )
    board = state.analytics("ranking_board", flt, win=window, level=level, config=config)
    red, black, flagged = board.red, board.black, board.flagged
    if red.is_empty():
        st.info(t("ranking.none", n=config.min_denominator))
    else:
        if flagged:
            st.caption(t("ranking.flagged", n=flagged))
        table_args = {"flt": flt, "window": window}
        left, right = st.columns(2)
        with left:
            st.subheader(f":red[:material/thumb_up: {t('ranking.red', n=config.top_n)}]")
            table(
                red,
                _columns(weights, full=False),
                key="ranking_red",
                name=f"ranking_red_{level}",
                **table_args,
            )
        with right:
            st.subheader(f":material/thumb_down: {t('ranking.black', n=config.top_n)}")
            if black.is_empty():
                st.caption(DASH)
            else:
                table(
                    black,
                    _columns(weights, full=False),
                    key="ranking_black",
                    name=f"ranking_black_{level}",
                    **table_args,
                )
        charts.show(charts.score_bars(board.ranked), key="ranking_chart")
    st.subheader(t("ranking.all"))
    table(
        board.table,
        _columns(weights, full=True),
        key="ranking_all",
        name=f"ranking_{level}",
        flt=flt,
        window=window,
        height=420,
    )


body()
