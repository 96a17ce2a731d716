"""Exception types raised by the :mod:`geo` package."""

from __future__ import annotations

__all__ = ["CRSError", "OfflineAssetError"]


class CRSError(ValueError):
    """A coordinate reference system name is unknown, invalid or inconsistent.

    Raised for an unrecognised CRS name (e.g. ``"gcj-2"``), an ``EPSG:`` code that
    pyproj does not know, or a frame whose own ``crs`` contradicts the source CRS
    it is declared to be in.
    """


class OfflineAssetError(ValueError):
    """A folium map needs a browser asset that is not vendored locally.

    Raised by :func:`geo.offline.use_local_assets` when an element of the map
    would load JavaScript/CSS from a public CDN (or needs a library that is not
    vendored, such as Leaflet.awesome-markers or d3) so the map would not draw
    on an intranet without internet access.
    """
