"""Reading the checks' input: frames with a WKB ``geometry`` column (polars, pandas), GeoSeries,
GeoDataFrames or plain lists become shapely object arrays, and code columns become lists of str."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import shapely


def from_wkb(
    frame, *, geometry: str = "geometry", crs: str | None = "EPSG:4326"
) -> gpd.GeoDataFrame:
    """Turn a frame with a WKB geometry column into a ``geopandas.GeoDataFrame``.

    Parameters
    ----------
    frame
        A polars or pandas DataFrame whose ``geometry`` column holds WKB bytes (null allowed),
        or a GeoDataFrame (returned as is, with ``crs`` set when it has none).
    geometry
        Name of the WKB column.
    crs
        CRS of the coordinates (the data directory stores EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows and columns, the geometry column decoded to shapely geometries.
    """
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.crs is None and crs is not None:
            frame = frame.set_crs(crs)
        return frame
    if geometry not in frame.columns:
        raise KeyError(f"no geometry column {geometry!r}")
    if isinstance(frame, pl.DataFrame):
        pdf = frame.drop(geometry).to_pandas()
        wkb = frame[geometry].to_list()
    else:
        pdf = pd.DataFrame(frame).drop(columns=[geometry])
        wkb = list(frame[geometry])
    geoms = decode(wkb)
    return gpd.GeoDataFrame(pdf, geometry=gpd.GeoSeries(geoms, index=pdf.index), crs=crs)


def decode(values: Sequence) -> np.ndarray:
    """WKB bytes / shapely geometries / None → object array of geometries (None when missing
    or unreadable)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    is_geom = np.array([isinstance(v, shapely.Geometry) for v in arr], dtype=bool)
    raw = ~is_geom & np.array([v is not None for v in arr], dtype=bool)
    if raw.any():
        arr[raw] = shapely.from_wkb(
            np.array([bytes(v) for v in arr[raw]], dtype=object), on_invalid="ignore"
        )
    return arr


def geoms_and_crs(obj, crs) -> tuple[np.ndarray, object]:
    """shapely array + CRS from a GeoSeries / GeoDataFrame (their own CRS wins) / frame with
    WKB / list."""
    if isinstance(obj, gpd.GeoDataFrame):
        return np.asarray(obj.geometry.values, dtype=object), obj.crs or crs
    if isinstance(obj, gpd.GeoSeries):
        return np.asarray(obj.values, dtype=object), obj.crs or crs
    if isinstance(obj, pl.DataFrame):
        return decode(obj["geometry"].to_list()), crs
    if isinstance(obj, pd.DataFrame):
        return decode(list(obj["geometry"])), crs
    return decode(list(obj)), crs


def codes_of(frame, column: str) -> list[str]:
    """The ``column`` of a polars or pandas frame as a list of str."""
    if isinstance(frame, pl.DataFrame):
        return [str(c) for c in frame[column].to_list()]
    return [str(c) for c in frame[column].tolist()]
