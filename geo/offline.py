"""Serve every JavaScript/CSS file a folium map needs from the app itself.

folium and its plugins load Leaflet, jQuery, Bootstrap, Font Awesome,
Leaflet.awesome-markers, Leaflet.markercluster, Leaflet.heat ... from public CDNs.
On a government intranet (and in CI) those hosts are unreachable and the map
stays blank. The needed files are vendored under ``assets/vendor/`` (see its
README for packages, versions and licences) and served by Streamlit's static
file serving:

* ``.streamlit/config.toml`` sets ``server.enableStaticServing = true``;
* ``static`` next to the entry script is a symlink to ``assets/vendor``, so
  ``assets/vendor/leaflet/1.9.3/leaflet.js`` is served at
  ``/app/static/leaflet/1.9.3/leaflet.js``.

How streamlit-folium (0.27.x) loads a map: ``st_folium`` renders the map into a
custom-component iframe served by the Streamlit server itself
(``/component/streamlit_folium.st_folium/index.html``, same origin as the app).
It strips every ``<script src>`` and ``<link rel="stylesheet">`` from the
folium header and instead collects the ``default_js`` / ``default_css`` URLs of
every element of the map tree; the iframe appends them one by one as
``<script>``/``<link>`` elements, waiting for each script to load. A single
script that fails to load rejects that chain and the map is never drawn. So
rewriting ``default_js``/``default_css`` of each element (what
:func:`use_local_assets` does) is exactly what reaches the browser, and an
absolute-path URL such as ``/app/static/...`` resolves against the Streamlit
server from inside the iframe.

What is not vendored, and removed from the map instead: Bootstrap (JS + CSS),
the Bootstrap 3 glyphicons CSS, Font Awesome, Leaflet.awesome-markers and the
awesome-rotate CSS. They serve only ``folium.Icon`` markers; the GridPulse maps
(GeoJson choropleth + tooltip, marker clusters, heat layer, circle markers)
need none of them. jQuery *is* vendored: folium's ``Popup`` and
``keep_in_front`` call ``$``.

This module imports no Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar
from urllib.parse import urlsplit

import branca.colormap
import folium
import folium.plugins
from branca.element import CssLink, Element, Figure, JavascriptLink

from geo._errors import OfflineAssetError
from geo.scripts import ScriptCall

__all__ = [
    "DEFAULT_BASE_URL",
    "DROPPED_ASSETS",
    "LOCAL_ASSETS",
    "VENDOR_DIR",
    "OfflineAssetError",
    "find_external_urls",
    "find_local_urls",
    "missing_local_assets",
    "static_base_url",
    "use_local_assets",
]

VENDOR_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "assets" / "vendor"
"""Directory of the vendored files (served as ``static/`` by Streamlit)."""

DEFAULT_BASE_URL: Final = "/app/static"
"""URL path under which Streamlit serves ``static/`` (without ``server.baseUrlPath``)."""

LOCAL_ASSETS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # folium.Map (folium 0.20.0 _default_js / _default_css)
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/1.9.3/leaflet.js",
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/1.9.3/leaflet.css",
        "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/3.7.1/jquery.min.js",
        # folium.plugins.MarkerCluster
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
            "leaflet.markercluster/1.1.0/leaflet.markercluster.js"
        ),
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css": (
            "leaflet.markercluster/1.1.0/MarkerCluster.css"
        ),
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
            "leaflet.markercluster/1.1.0/MarkerCluster.Default.css"
        ),
        # folium.plugins.HeatMap (folium's patched Leaflet.heat build)
        "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js": (
            "leaflet.heat/0.2.0/leaflet-heat.min.js"
        ),
    }
)
"""CDN URL used by folium → path of the vendored copy under :data:`VENDOR_DIR`."""

DROPPED_ASSETS: Final[frozenset[str]] = frozenset(
    {
        "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
        "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css",
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
        "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
        "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
    }
)
"""folium.Map defaults that GridPulse maps do not need; removed, not vendored."""

_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# XML namespace identifiers appear as URLs but are never fetched.
_NOT_FETCHED: Final = frozenset(
    {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/1999/xlink",
    }
)
_ABS_URL_RE: Final = re.compile(r"""(?:https?:)?//[^\s"'<>()\\`]+""", re.IGNORECASE)
_ATTR_URL_RE: Final = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)

E = TypeVar("E", bound=Element)

_LEAFLET_IMAGES: Final = "leaflet/1.9.3/images/"
_ICON_PATH_NAME: Final = "gridpulse_icon_image_path"


class _IconImagePath(ScriptCall):
    """Sets ``L.Icon.Default.imagePath`` before any marker is created
    (assets/js/icon_image_path.js says why)."""

    scripts = ("icon_image_path",)
    function = "iconImagePath"

    def __init__(self, image_path: str) -> None:
        super().__init__()
        self._name = "IconImagePath"
        self.config = {"imagePath": image_path}


def _set_icon_image_path(m: folium.Map, base_url: str) -> None:
    path = f"{base_url}/{_LEAFLET_IMAGES}"
    existing = m._children.get(_ICON_PATH_NAME)
    if isinstance(existing, _IconImagePath):
        existing.config = {"imagePath": path}
    else:
        m.add_child(_IconImagePath(path), name=_ICON_PATH_NAME)
    # first child: its script runs right after L.map(...), before any layer
    m._children.move_to_end(_ICON_PATH_NAME, last=False)


def static_base_url(base_url_path: str = "") -> str:
    """Build the URL path of Streamlit's static folder.

    Parameters
    ----------
    base_url_path : str, default ""
        Streamlit's ``server.baseUrlPath`` (e.g. ``"gridpulse"`` when the app is
        served at ``https://host/gridpulse/`` behind a reverse proxy).

    Returns
    -------
    str
        ``"/app/static"`` or ``"/<base_url_path>/app/static"``.
    """
    prefix = base_url_path.strip("/")
    return f"/{prefix}/app/static" if prefix else DEFAULT_BASE_URL


def _walk(element: Element) -> Iterator[Element]:
    yield element
    if isinstance(element, folium.plugins.DualMap):
        yield from _walk(element.m1)
        yield from _walk(element.m2)
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def _is_local(url: str, base_url: str) -> bool:
    if url.startswith(base_url + "/"):
        return True
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob"):
        return True
    if not parts.netloc and not parts.scheme:
        return not url.startswith("//")  # relative or absolute path on this server
    return (parts.hostname or "") in _LOCAL_HOSTS


def _problems(root: Element, base_url: str) -> list[str]:
    problems: list[str] = []
    elements = list(_walk(root))
    if (
        isinstance(root, folium.Map)
        and "max_zoom" not in root.options
        and "maxZoom" not in root.options
        and any(isinstance(el, folium.plugins.MarkerCluster) for el in elements)
        and not any(isinstance(el, folium.TileLayer) for el in elements)
    ):
        problems.append(
            "Map: a MarkerCluster on a map without tile layer needs a max zoom "
            "(Leaflet throws 'Map has no maxZoom specified'); set m.options['max_zoom'] = 18"
        )
    for el in elements:
        kind = type(el).__name__
        if isinstance(el, folium.Icon):
            problems.append(
                f"{kind}: folium.Icon needs Leaflet.awesome-markers, Bootstrap and Font Awesome, "
                "which are not vendored; use folium.CircleMarker, folium.DivIcon or a plain Marker"
            )
        if isinstance(el, branca.colormap.ColorMap):
            problems.append(
                f"{kind}: branca colormaps added to a map make streamlit-folium load d3 from a "
                "CDN; use the colormap only as a function and draw the legend in Streamlit"
            )
        for attr in ("default_js", "default_css"):
            for _name, url in getattr(el, attr, None) or ():
                if url in LOCAL_ASSETS or url in DROPPED_ASSETS or _is_local(url, base_url):
                    continue
                problems.append(f"{kind}.{attr}: {url} is not vendored under assets/vendor")
    return problems


def _localize_pairs(pairs: Iterable[tuple[str, str]], base_url: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, url in pairs:
        if url in DROPPED_ASSETS:
            continue
        local = LOCAL_ASSETS.get(url)
        out.append((name, f"{base_url}/{local}" if local is not None else url))
    return out


def use_local_assets(element: E, *, base_url: str = DEFAULT_BASE_URL, strict: bool = True) -> E:
    """Point a folium map's JavaScript/CSS at the vendored copies served by the app.

    Rewrites ``default_js`` / ``default_css`` of ``element`` and of every element
    below it (instance attributes: folium's class-level lists are left alone, so
    other maps are not affected), removes the folium defaults listed in
    :data:`DROPPED_ASSETS`, and fixes the links already present in the header of
    a map that has been rendered before. On each ``folium.Map`` it also sets
    ``L.Icon.Default.imagePath`` to the vendored images (under streamlit-folium
    Leaflet cannot detect it: the CSS is not loaded yet when markers are made).
    Idempotent.

    Call it on the finished map, after all layers are added and before
    ``st_folium``; call it too on each ``FeatureGroup`` passed to
    ``st_folium(feature_group_to_add=...)``.

    Parameters
    ----------
    element : folium.Map or any folium/branca element
        The map (or layer) to rewrite in place.
    base_url : str, default "/app/static"
        URL path where ``assets/vendor`` is served; see :func:`static_base_url`
        for an app behind a ``server.baseUrlPath``.
    strict : bool, default True
        Raise :class:`OfflineAssetError` when the map needs anything that is not
        vendored (an unknown CDN URL, ``folium.Icon``, a branca colormap in the
        tree), or would not draw without tiles (a ``MarkerCluster`` on a map with
        no tile layer and no ``max_zoom`` option: offline maps usually have
        ``tiles=None``). With ``False`` such URLs are left as they are.

    Returns
    -------
    same as ``element``
        The same object, for chaining.

    Raises
    ------
    OfflineAssetError
        In strict mode, before anything is modified, listing every problem.
    """
    base = base_url.rstrip("/")
    if strict:
        problems = _problems(element, base)
        if problems:
            raise OfflineAssetError(
                "map needs assets that are not served locally:\n  " + "\n  ".join(problems)
            )
    for el in _walk(element):
        for attr in ("default_js", "default_css"):
            pairs = getattr(el, attr, None)
            if pairs:
                setattr(el, attr, _localize_pairs(pairs, base))
    maps = [el for el in _walk(element) if isinstance(el, folium.Map)]
    for m in maps:
        _set_icon_image_path(m, base)
    root = element.get_root()
    if isinstance(root, Figure):
        header = root.header
        for key, child in list(header._children.items()):
            if not isinstance(child, (JavascriptLink, CssLink)):
                continue
            if child.url in DROPPED_ASSETS:
                del header._children[key]
            elif child.url in LOCAL_ASSETS:
                child.url = f"{base}/{LOCAL_ASSETS[child.url]}"
    return element


def find_external_urls(html: str, *, allowed_hosts: Iterable[str] = ()) -> list[str]:
    """List every absolute URL in rendered map HTML that points at another host.

    Catches ``http://``, ``https://`` and protocol-relative (``//host/...``)
    URLs anywhere in the text: ``<script src>``, ``<link href>``, CSS ``url()``
    and URL strings inside the map script such as tile templates, and also
    links that are not fetched (e.g. an attribution ``<a href>``): the check is
    deliberately conservative. XML namespace identifiers are ignored.

    Parameters
    ----------
    html : str
        Output of ``m.get_root().render()`` (or any HTML/JS/CSS text).
    allowed_hosts : iterable of str, default ()
        Further host names to accept (e.g. an intranet tile server) besides
        ``localhost``, ``127.0.0.1`` and ``::1``, which are always accepted.

    Returns
    -------
    list of str
        Distinct offending URLs in order of first appearance.
    """
    allowed = {h.strip("[]").lower() for h in (*_LOCAL_HOSTS, *allowed_hosts)}
    found: dict[str, None] = {}
    for match in _ABS_URL_RE.finditer(html):
        url = match.group(0).rstrip(".,;")
        if url.startswith("//") and not _is_attr_value(html, match.start()):
            continue  # a JS comment such as "//foo", not a protocol-relative URL
        if url in _NOT_FETCHED:
            continue
        host = (urlsplit(url if "://" in url else "http:" + url).hostname or "").lower()
        if host and host not in allowed:
            found[url] = None
    return list(found)


def _is_attr_value(text: str, pos: int) -> bool:
    head = text[max(0, pos - 12) : pos].replace(" ", "")
    return head.endswith(('src="', "src='", 'href="', "href='", "url(", 'url("', "url('"))


def find_local_urls(html: str, *, base_url: str = DEFAULT_BASE_URL) -> list[str]:
    """List the URLs in rendered map HTML that point under ``base_url``.

    Parameters
    ----------
    html : str
        Rendered map HTML.
    base_url : str, default "/app/static"
        URL path where ``assets/vendor`` is served.

    Returns
    -------
    list of str
        Distinct ``src``/``href`` values starting with ``base_url``.
    """
    base = base_url.rstrip("/") + "/"
    return list(dict.fromkeys(u for u in _ATTR_URL_RE.findall(html) if u.startswith(base)))


def missing_local_assets(
    html: str, *, base_url: str = DEFAULT_BASE_URL, vendor_dir: Path = VENDOR_DIR
) -> list[str]:
    """List local asset URLs of rendered map HTML that have no file behind them.

    Parameters
    ----------
    html : str
        Rendered map HTML.
    base_url : str, default "/app/static"
        URL path where ``vendor_dir`` is served.
    vendor_dir : pathlib.Path
        Directory served at ``base_url``.

    Returns
    -------
    list of str
        URLs whose file does not exist under ``vendor_dir`` (empty when all exist).
    """
    base = base_url.rstrip("/") + "/"
    root = vendor_dir.resolve()
    missing: list[str] = []
    for url in find_local_urls(html, base_url=base_url):
        rel = urlsplit(url).path[len(base) :]
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file():
            missing.append(url)
    return missing
