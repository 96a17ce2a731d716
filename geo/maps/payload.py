"""The packed wire form of a FeatureCollection, decoded in the browser (assets/js/runtime.js).

A JSON object: ``n`` features, ``cols`` (property columns: name → list, one entry per
feature, ``null`` where absent), ``bools`` (names of 0/1 columns), ``consts`` (properties
equal on every feature), ``palette`` + ``fill`` (fill colours as palette indexes), ``geom``
(per feature: polygons → rings → flat integer list ``x0, y0, dx1, dy1, ...`` in units of
1e-5 degree, closing vertex dropped) and ``q`` (units per degree). Keys once instead of per
feature and integer deltas instead of decimal coordinates make it several times smaller
than the plain GeoJSON. Every ``<`` is written ``\\u003c`` (it occurs only inside JSON
strings), so no name can end or confuse the HTML ``<script>`` the text sits in: neither
``</script>`` nor ``<!--`` survives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import shapely

from geo.simplify import DECIMALS

__all__ = [
    "Q",
    "PackedGeometry",
    "pack_collection",
    "pack_geometry_dict",
    "pack_polygons",
    "script_safe",
]

Q: Final = 10**DECIMALS  # integer units per degree on the wire


def script_safe(json_text: str) -> str:
    """JSON text that can sit inside an HTML ``<script>``: ``<`` as ``\\u003c`` (JSON has
    ``<`` only inside strings, where the escape means the same character)."""
    return json_text.replace("<", "\\u003c")


class PackedGeometry(dict):
    """A GeoJSON geometry dict that also carries its packed wire form (``packed``)."""

    __slots__ = ("packed",)


def pack_polygons(geoms: np.ndarray) -> list[str | None]:
    """Packed wire form of each (quantised) polygonal geometry; ``None`` for missing ones."""
    out: list[str | None] = [None] * len(geoms)
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not present.any():
        return out
    idx_present = np.nonzero(present)[0]
    polys, poly_feat = shapely.get_parts(geoms[present], return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    ring_txt = _ring_texts(rings)
    poly_txt: list[list[str]] = [[] for _ in range(len(polys))]
    for r, p in enumerate(ring_poly.tolist()):
        poly_txt[p].append(ring_txt[r])
    feat_txt: list[list[str]] = [[] for _ in range(len(idx_present))]
    for p, f in enumerate(poly_feat.tolist()):
        feat_txt[f].append("[" + ",".join(poly_txt[p]) + "]")
    for k, i in enumerate(idx_present.tolist()):
        out[i] = "[" + ",".join(feat_txt[k]) + "]"
    return out


def _ring_texts(rings: np.ndarray) -> list[str]:
    """Each ring as ``[x0,y0,dx1,dy1,...]`` in wire units, computed for all rings at once."""
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ints = np.rint(coords * Q).astype(np.int64)
    n_rings = len(rings)
    starts = np.searchsorted(coord_ring, np.arange(n_rings), side="left")
    ends = np.searchsorted(coord_ring, np.arange(n_rings), side="right")
    deltas = np.empty_like(ints)
    deltas[1:] = ints[1:] - ints[:-1]
    deltas[starts] = ints[starts]  # first vertex of each ring absolute
    flat = deltas.reshape(-1)
    # drop the closing vertex (repeats the first); the decoder closes the ring
    return [
        "[" + ",".join(map(str, flat[2 * s : 2 * (e - 1)].tolist())) + "]"
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def pack_geometry_dict(geom: Mapping[str, Any] | None) -> str | None:
    """Packed wire form of a plain GeoJSON (Multi)Polygon dict (slow path)."""
    if not geom:
        return None
    if geom["type"] == "Polygon":
        polys = [geom["coordinates"]]
    elif geom["type"] == "MultiPolygon":
        polys = geom["coordinates"]
    else:
        raise ValueError(f"only Polygon/MultiPolygon geometries can be drawn, got {geom['type']}")
    parts = []
    for poly in polys:
        rings = "[" + ",".join(_ring_text(ring) for ring in poly) + "]"
        parts.append(rings)
    return "[" + ",".join(parts) + "]"


def _ring_text(ring: Any) -> str:
    pts = [(round(x * Q), round(y * Q)) for x, y, *_ in ring]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    flat: list[int] = []
    px = py = 0
    for j, (x, y) in enumerate(pts):
        if j == 0:
            flat += [x, y]
        else:
            flat += [x - px, y - py]
        px, py = x, y
    return "[" + ",".join(map(str, flat)) + "]"


def pack_collection(features: Mapping[str, Any]) -> str:
    """The packed wire form of a FeatureCollection (see the module docstring)."""
    feats = list(features.get("features", ()))
    consts, bools, cols = _property_columns(feats)
    palette, fill_idx = _fill_indexes(feats)
    geoms = []
    for f in feats:
        g = f.get("geometry")
        packed = getattr(g, "packed", None) if isinstance(g, PackedGeometry) else None
        geoms.append(packed if packed is not None else (pack_geometry_dict(g) or "null"))
    head = json.dumps(
        {
            "n": len(feats),
            "q": Q,
            "consts": consts,
            "bools": bools,
            "cols": cols,
            "palette": palette,
            "fill": fill_idx,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    text = head[:-1] + ',"geom":[' + ",".join(geoms) + "]}"
    return script_safe(text)


def _property_columns(
    feats: list[Mapping[str, Any]],
) -> tuple[dict[str, Any], list[str], dict[str, list[Any]]]:
    """``consts`` (equal on every feature), ``bools`` and the other property columns."""
    n = len(feats)
    keys: dict[str, None] = {}
    for f in feats:
        for k in f.get("properties") or {}:
            keys[k] = None
    keys.pop("fill", None)
    consts: dict[str, Any] = {}
    cols: dict[str, list[Any]] = {}
    bools: list[str] = []
    for k in keys:
        col = [(f.get("properties") or {}).get(k) for f in feats]
        if n and all(c == col[0] for c in col) and col[0] is not None and k != "code":
            consts[k] = col[0]
            continue
        if any(isinstance(c, bool) for c in col):
            bools.append(k)
            col = [None if c is None else int(bool(c)) for c in col]
        cols[k] = col
    return consts, bools, cols


def _fill_indexes(feats: list[Mapping[str, Any]]) -> tuple[list[str], list[int]]:
    """The distinct fill colours, and each feature's index into them (-1: none)."""
    palette: dict[str, int] = {}
    fill_idx = []
    for f in feats:
        c = (f.get("properties") or {}).get("fill")
        fill_idx.append(-1 if c is None else palette.setdefault(c, len(palette)))
    return list(palette), fill_idx
