"""Zip files from outside (a zipped Shapefile, an .xlsx workbook), checked before anything is
unpacked: a 100 KB zip can hold gigabytes of zeros, or names like ``../../x``.

The checks read only the central directory — the member count, the unpacked total, names that
would leave the target folder, and (for boundary zips) an archive inside the archive — so a
hostile file is refused in milliseconds. ``copy_member`` then writes at most the size the
directory declared for the member, so a header that lies about the size cannot unpack more.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from data_layer import settings
from data_layer.storage.source import DataError

# members that are archives themselves: none of the formats we read nests one
NESTED_SUFFIXES = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".kmz")
CHUNK = 1 << 20
MB = settings.MB


def checked_members(
    zf: zipfile.ZipFile, *, name: str, nested_allowed: bool
) -> list[zipfile.ZipInfo]:
    """The file members of ``zf`` once the limits of ``settings.archive_limits()`` hold.

    ``nested_allowed``: an .xlsx may embed another workbook; a boundary zip holds no archive.
    Raises ``DataError`` naming the limit and the setting that raises it.
    """
    limits = settings.archive_limits()
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise DataError(
            f"压缩包中的文件过多 / too many files in {name}: {len(infos):,} > {limits.max_members:,} "
            "(GRIDPULSE_UPLOAD_MAX_MEMBERS)"
        )
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise DataError(
            f"压缩包解压后过大 / {name} unpacks to {unpacked / MB:,.0f} MB, more than the "
            f"{limits.max_unpacked_bytes / MB:,.0f} MB allowed (GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB)"
        )
    for info in infos:
        if not _safe_name(info.filename):
            raise DataError(
                f"压缩包中有不安全的文件名 / unsafe file name in {name}: {info.filename!r} "
                "(absolute or with '..')"
            )
        if not nested_allowed and info.filename.lower().endswith(NESTED_SUFFIXES):
            raise DataError(
                f"压缩包中不能再有压缩包 / {name} contains another archive ({info.filename}): "
                "请解开后只打包 .shp .shx .dbf .prj .cpg（或 .gpkg / .geojson）"
            )
        if info.flag_bits & 0x1:
            raise DataError(f"压缩包已加密 / {name} is encrypted: {info.filename}")
    return [info for info in infos if not info.is_dir()]


def copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, *, name: str) -> None:
    """Write ``info`` to ``dest``, never more bytes than the directory declared."""
    left = info.file_size
    try:
        with zf.open(info) as src, open(dest, "wb") as out:
            while chunk := src.read(CHUNK):
                left -= len(chunk)
                if left < 0:
                    raise DataError(f"压缩包已损坏 / {name} is damaged: {info.filename}")
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        # zipfile stops at the declared size and then fails the CRC check
        raise DataError(f"压缩包已损坏 / {name} is damaged: {info.filename} ({exc})") from exc


def check_zip_file(path: Path, *, nested_allowed: bool) -> None:
    """``checked_members`` for a zip on disk (an .xlsx before openpyxl unpacks it)."""
    try:
        with zipfile.ZipFile(path) as zf:
            checked_members(zf, name=path.name, nested_allowed=nested_allowed)
    except zipfile.BadZipFile as exc:
        raise DataError(f"不是有效的 zip 文件 / not a valid zip: {path.name}") from exc


def _safe_name(name: str) -> bool:
    """A relative name that stays inside the folder it is unpacked into."""
    if not name or "\x00" in name:
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ":" in parts[0]:  # C:\… is absolute too
        return False
    return ".." not in parts
