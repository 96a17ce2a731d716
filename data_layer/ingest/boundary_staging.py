"""A boundary file made safe for GDAL: copied (or unpacked) into a private folder under names
chosen here, its content checked against its extension, and the one driver it may use.

Why: GDAL picks a driver from the content, and some drivers read other files or URLs — a
``.geojson`` that is really a VRT naming ``/etc/os-release`` or ``/vsicurl/http://…``. So:

* GDAL never sees a name from outside (``/vsi…``, ``http://…``, ``a.zip!b.shp``): only
  ``<private folder>/layer.<ext>``;
* GeoJSON must be a JSON object whose ``crs`` members are names or EPSG codes (GDAL fetches a
  ``"link"`` crs over HTTP, and no GDAL option stops that), and it is opened with the
  ``GeoJSON:`` prefix, which lets no other driver try;
* a GeoPackage must carry the SQLite header and the GeoPackage application id, and is opened
  with the ``GPKG:`` prefix;
* a Shapefile must start with the Shapefile file code (the reader then checks that the
  Shapefile driver opened it);
* a zip is checked by ``archives`` before anything is unpacked, and only the members of the
  one layer are unpacked.
"""

from __future__ import annotations

import codecs
import json
import mmap
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from data_layer.ingest import archives
from data_layer.storage.source import DataError

SHAPEFILE = "ESRI Shapefile"
SIDECARS = (".shx", ".dbf", ".prj", ".cpg")
LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json")  # what a zip is searched for, in order
SHP_MAGIC = (9994).to_bytes(4, "big")
SQLITE_MAGIC = b"SQLite format 3\x00"
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")  # 1.2+, 1.0, 1.1
SAFE_CRS_TYPES = ("name", "epsg")


@dataclass(frozen=True)
class Staged:
    """What GDAL is given: ``gdal_path`` (driver prefix + a path in the private folder)."""

    file: Path
    gdal_path: str
    driver: str
    has_cpg: bool


def stage(path: Path, folder: Path) -> Staged:
    """``path`` (a .geojson/.json/.gpkg/.shp or a .zip of one) as a checked copy in ``folder``."""
    ext = path.suffix.lower()
    if ext == ".zip":
        ext = _unpack_layer(path, folder)
    else:
        shutil.copyfile(path, folder / f"layer{ext}")
        if ext == ".shp":  # a Shapefile on disk: its sidecars sit next to it
            for sfx in SIDECARS:
                if path.with_suffix(sfx).is_file():
                    shutil.copyfile(path.with_suffix(sfx), folder / f"layer{sfx}")
    return _checked(folder / f"layer{ext}", name=path.name)


def _unpack_layer(path: Path, folder: Path) -> str:
    """Unpack the zip's first layer (a .shp with its sidecars, else a .gpkg / .geojson) as
    ``folder/layer.*``; the layer's extension."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"不是有效的 zip 文件 / not a valid zip: {path.name}") from exc
    with zf:
        members = [
            m
            for m in archives.checked_members(zf, name=path.name, nested_allowed=False)
            if not _hidden(m.filename)
        ]
        for ext in LAYER_SUFFIXES:
            found = sorted(
                (m for m in members if m.filename.lower().endswith(ext)), key=lambda m: m.filename
            )
            if found:
                break
        else:
            raise DataError(f"zip 中没有 .shp / .gpkg / .geojson / no boundary file in {path.name}")
        stem = found[0].filename[: -len(ext)]
        picked = {ext: found[0]}
        if ext == ".shp":
            by_name = {m.filename.lower(): m for m in members}
            for sfx in SIDECARS:
                if (stem + sfx).lower() in by_name:
                    picked[sfx] = by_name[(stem + sfx).lower()]
        for sfx, member in picked.items():
            archives.copy_member(zf, member, folder / f"layer{sfx}", name=path.name)
    return ext


def _hidden(name: str) -> bool:
    """macOS adds ``__MACOSX/`` and ``._x`` copies of every file to a zip."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p == "__MACOSX" or p.startswith("._") for p in parts)


def _checked(file: Path, *, name: str) -> Staged:
    ext = file.suffix
    if ext in (".geojson", ".json"):
        _check_geojson(file, name=name)
        return Staged(file, f"GeoJSON:{file}", "GeoJSON", has_cpg=False)
    if ext == ".gpkg":
        _check_geopackage(file, name=name)
        return Staged(file, f"GPKG:{file}", "GPKG", has_cpg=False)
    _check_shapefile(file, name=name)
    return Staged(file, str(file), SHAPEFILE, has_cpg=file.with_suffix(".cpg").is_file())


def _check_geojson(file: Path, *, name: str) -> None:
    """A JSON object (not a VRT, not XML) whose every ``crs`` is a name or an EPSG code.

    A file holds ``crs`` members as plain ``"crs": {…}`` (checked one by one, fast), or not at
    all; any other spelling GDAL's lenient parser might take for one (``'CRS'``, ``\\u0063rs``
    …) sends the whole file through the strict parser.
    """
    if file.stat().st_size == 0:
        raise DataError(f"{name} 不是 GeoJSON / is not GeoJSON (empty)")
    try:
        with open(file, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = len(codecs.BOM_UTF8) if data[:3] == codecs.BOM_UTF8 else 0
            first = _JSON_SPACE.match(data, start).end()
            if data[first : first + 1] != b"{":
                raise DataError(f"{name} 不是 GeoJSON / is not GeoJSON (not a JSON object)")
            if not _plain_crs_members_checked(data):
                json.loads(data[:], object_pairs_hook=_no_crs_links)
    except _UnsafeCRS as exc:
        raise DataError(
            f"{name} 的 crs 不是坐标系名称 / the GeoJSON 'crs' is a {exc} (only a name such as "
            "urn:ogc:def:crs:EPSG::4490 is read): 请删除 crs，并用 --crs 指定坐标系。"
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{name} 不是 UTF-8 编码的 GeoJSON / GeoJSON must be UTF-8") from exc
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError, nesting too deep
        raise DataError(f"{name} 不是 GeoJSON / is not GeoJSON (not valid JSON)") from exc


_JSON_SPACE = re.compile(rb"[ \t\r\n]*")
_PLAIN_CRS = re.compile(rb'"crs"[ \t\r\n]*:[ \t\r\n]*(?=\{)')
_ESCAPED_CRS_LETTERS = {b"63", b"72", b"73", b"43", b"52", b"53"}  # \u0063 = c, \u0052 = R …
_CRS_WINDOW = 1 << 16  # a crs object is a few hundred bytes
_SCAN_CHUNK = 16 << 20


def _plain_crs_members_checked(data: mmap.mmap) -> bool:
    """True when every spelling of crs is a plain ``"crs": {…}`` (or inside one) and each is
    safe (raises ``_UnsafeCRS`` if one is not); False: the strict parser must decide."""
    checked_to = 0  # "urn:ogc:def:crs:…" inside a checked crs object is no member
    for at in _crs_spellings(data):
        if at < checked_to:
            continue
        plain = _PLAIN_CRS.match(data, at - 1) if at else None
        if plain is None:
            return False
        # surrogateescape: the exact bytes back, to know where the object ends
        window = data[plain.end() : plain.end() + _CRS_WINDOW].decode("utf-8", "surrogateescape")
        try:
            value, end = json.JSONDecoder(object_pairs_hook=_no_crs_links).raw_decode(window)
        except ValueError:
            return False
        _check_crs(value)
        checked_to = plain.end() + len(window[:end].encode("utf-8", "surrogateescape"))
    return True


def _crs_spellings(data: mmap.mmap) -> Iterator[int]:
    """Where ``crs`` in any case, or a ``\\u`` escape of one of its letters, starts, in order
    (bytes methods over chunks: a regex over a 200 MB file takes seconds)."""
    for at in range(0, len(data), _SCAN_CHUNK):
        chunk = data[at : at + _SCAN_CHUNK + 5].lower()  # + 5: a match across the edge
        found = []
        for needle in (b"crs", b"\\u00"):
            pos = chunk.find(needle)
            while 0 <= pos < _SCAN_CHUNK:
                if needle == b"crs" or chunk[pos + 4 : pos + 6] in _ESCAPED_CRS_LETTERS:
                    found.append(at + pos)
                pos = chunk.find(needle, pos + 1)
        yield from sorted(found)


class _UnsafeCRS(ValueError):
    """A GeoJSON ``crs`` GDAL would resolve itself (a ``link`` / ``url`` it fetches)."""


def _no_crs_links(pairs: list[tuple[str, object]]) -> dict:
    # GDAL finds members case-insensitively, the first match winning: check every spelling
    for key, value in pairs:
        if key.lower() == "crs":
            _check_crs(value)
    return dict(pairs)


def _check_crs(value: object) -> None:
    if isinstance(value, dict):
        for key, kind in value.items():
            if key.lower() == "type" and str(kind).lower() not in SAFE_CRS_TYPES:
                raise _UnsafeCRS(f"{kind!s:.40}")


def _check_geopackage(file: Path, *, name: str) -> None:
    with open(file, "rb") as fh:
        head = fh.read(100)
    if not head.startswith(SQLITE_MAGIC) or head[68:72] not in GPKG_APPLICATION_IDS:
        raise DataError(
            f"{name} 不是 GeoPackage / is not a GeoPackage (请在 QGIS 中另存为 GeoPackage)"
        )


def _check_shapefile(file: Path, *, name: str) -> None:
    with open(file, "rb") as fh:
        head = fh.read(32)
    if len(head) < 32 or head[:4] != SHP_MAGIC or int.from_bytes(head[28:32], "little") != 1000:
        raise DataError(f"{name} 中的 .shp 不是 Shapefile / the .shp is not a Shapefile")
    if not file.with_suffix(".dbf").is_file():
        raise DataError(
            "Shapefile 缺少 .dbf 文件 / the shapefile has no .dbf (zip the .shp, .shx, .dbf, .prj and .cpg together)"
        )
