"""Shared by the benchmark apps: the dataset and its kpis, cached like the real app.

Both map apps (naive and ours) read the same data directory (``$GRIDPULSE_DATA``) and get
the same cached kpis, so the benchmark compares the map building and drawing only. The
period is the 12 months up to the last case in the data, so every run (and every
process) computes the same figures.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from data_layer import settings
from data_layer.domain.filters import Filter, Window
from data_layer.domain.scope import Scope
from data_layer.queries import figures
from data_layer.storage.source import Dataset, open_dataset

MAP_WIDTH = 1100
MAP_HEIGHT = 650
FILTER = Filter(period="last_12_months")


@st.cache_resource(show_spinner=False)
def dataset() -> Dataset:
    return open_dataset(settings.data_dir())


@st.cache_resource(show_spinner=False)
def window() -> Window:
    last = dataset()["cases"]["reported_at"].max()
    as_of = last if isinstance(last, dt.datetime) else dt.datetime(2025, 1, 1)
    return FILTER.window(now=as_of)


@st.cache_data(show_spinner=False)
def kpis(
    level: str, streets: tuple[str, ...] = (), communities: tuple[str, ...] = ()
) -> pl.DataFrame:
    flt = FILTER.with_areas(streets=streets, communities=communities)
    return figures.kpis(dataset(), flt, Scope.everything(), by=level, window=window())


def area_counts() -> dict[str, int]:
    ds = dataset()
    return {
        "street": ds["streets"].height,
        "community": ds["communities"].height,
        "grid": ds["grids"].height,
    }
