"""红黑榜 Ranking: communities or streets by the composite score of assets/ranking.toml,
red list (top n) and black list (bottom n), rank change against the previous period,
low-volume areas flagged and kept out."""

import streamlit as st

from data_layer.domain.filters import Filter, Window
from data_layer.domain.formatting import DASH
from data_layer.queries.ranking import LEVELS, RankingBoard, RankingConfig
from ui import charts, queries, state
from ui.downloads import Col, table
from ui.i18n import metric_label, t
from ui.widgets import page_header, url_radio

RANK_LEVEL = "rank_level"  # the level control in the URL
URL_KEYS = (RANK_LEVEL,)


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


def _formula(config: RankingConfig, window: Window) -> None:
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


def _lists(
    board: RankingBoard, config: RankingConfig, *, level: str, flt: Filter, window: Window
) -> None:
    """红榜 and 黑榜 side by side, and the scores of the ranked areas."""
    if board.red.is_empty():
        st.info(t("ranking.none", n=config.min_denominator))
        return
    if board.flagged:
        st.caption(t("ranking.flagged", n=board.flagged))
    weights = [k for k, _ in config.weights]
    left, right = st.columns(2)
    with left:
        st.subheader(f":red[:material/thumb_up: {t('ranking.red', n=config.top_n)}]")
        table(
            board.red,
            _columns(weights, full=False),
            key="ranking_red",
            name=f"ranking_red_{level}",
            flt=flt,
            window=window,
        )
    with right:
        st.subheader(f":material/thumb_down: {t('ranking.black', n=config.top_n)}")
        if board.black.is_empty():
            st.caption(DASH)
        else:
            table(
                board.black,
                _columns(weights, full=False),
                key="ranking_black",
                name=f"ranking_black_{level}",
                flt=flt,
                window=window,
            )
    charts.show(charts.score_bars(board.ranked), key="ranking_chart")


def body() -> None:
    flt = state.current_filter()
    window = state.window(flt)
    current = state.kpis(flt, win=window).row(0, named=True)
    if not page_header(t("ranking.title"), window, current):
        return
    config = state.ranking_config()
    level = url_radio(
        t("ranking.level"),
        list(LEVELS),
        param=RANK_LEVEL,
        key="ranking_level",
        default=list(LEVELS)[0],
        format_func=lambda v: t(f"ranking.level.{v}"),
    )
    _formula(config, window)
    board = queries.ranking_board(flt, window=window, level=level, config=config)
    _lists(board, config, level=level, flt=flt, window=window)
    st.subheader(t("ranking.all"))
    table(
        board.table,
        _columns([k for k, _ in config.weights], full=True),
        key="ranking_all",
        name=f"ranking_{level}",
        flt=flt,
        window=window,
        height=420,
    )


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
