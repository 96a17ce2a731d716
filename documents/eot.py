"""Embedded OpenType (EOT), the container PowerPoint keeps embedded fonts in (``.fntdata``).

W3C Member Submission "Embedded OpenType (EOT) File Format" (2008), version 0x00020001: a
little-endian header (sizes, the OS/2 PANOSE / weight / fsType / Unicode and code-page ranges,
the head checksum adjustment, the family, style, version and full names in UTF-16LE, an empty
root string) followed by the TrueType font itself, neither compressed (no MicroType Express)
nor XOR-obfuscated. ``font_to_eot`` writes one; ``eot_header`` / ``eot_font_data`` read one
back (versions 0x00010000, 0x00020001 and 0x00020002, XOR-obfuscated or not) and check its
sizes and magic number.
"""

from __future__ import annotations

import io
import struct

MAGIC = 0x504C
VERSION = 0x00020001
DEFAULT_CHARSET = 1  # what the submission asks writers to put in Charset
FLAG_COMPRESSED = 0x00000004  # MicroType Express: not read here
FLAG_XOR = 0x10000000  # font data XOR 0x50

# EOTSize, FontDataSize, Version, Flags, FontPANOSE[10], Charset, Italic, Weight, fsType,
# MagicNumber, UnicodeRange1-4, CodePageRange1-2, CheckSumAdjustment, Reserved1-4, Padding1
_FIXED = struct.Struct("<4I10sBBIHH4I2II4IH")
_FIXED_FIELDS = (
    "eot_size font_data_size version flags panose charset italic weight fs_type magic "
    "unicode_range1 unicode_range2 unicode_range3 unicode_range4 "
    "code_page_range1 code_page_range2 checksum_adjustment "
    "reserved1 reserved2 reserved3 reserved4 padding1"
).split()
_NAMES = (("family_name", 1), ("style_name", 2), ("version_name", 5), ("full_name", 4))


class EotError(ValueError):
    """Not an EOT file this module can read."""


def _name(font, name_id: int) -> str:
    record = font["name"].getName(name_id, 3, 1, 0x409) or font["name"].getName(name_id, 3, 1)
    if record is None:
        record = font["name"].getName(name_id, 1, 0, 0)
    return record.toUnicode() if record is not None else ""


def font_to_eot(ttf: bytes, *, charset: int = DEFAULT_CHARSET) -> bytes:
    """An EOT (version 0x00020001, Flags 0) holding the TrueType/OpenType font ``ttf`` as is.

    Header fields come from the font's OS/2, head and name tables (Windows English names).
    """
    from fontTools.misc import sstruct
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables.O_S_2f_2 import panoseFormat

    font = TTFont(io.BytesIO(ttf), lazy=True)
    os2, head = font["OS/2"], font["head"]
    names = b""
    for i, (_, name_id) in enumerate(_NAMES):
        data = _name(font, name_id).encode("utf-16-le")
        names += (b"\0\0" if i else b"") + struct.pack("<H", len(data)) + data
    names += struct.pack("<HH", 0, 0)  # Padding5, RootStringSize (no RootString)
    size = _FIXED.size + len(names) + len(ttf)
    header = _FIXED.pack(
        size,
        len(ttf),
        VERSION,
        0,  # Flags: not compressed, not obfuscated
        sstruct.pack(panoseFormat, os2.panose),
        charset,
        os2.fsSelection & 1,  # italic
        os2.usWeightClass,
        os2.fsType,
        MAGIC,
        os2.ulUnicodeRange1,
        os2.ulUnicodeRange2,
        os2.ulUnicodeRange3,
        os2.ulUnicodeRange4,
        getattr(os2, "ulCodePageRange1", 0),
        getattr(os2, "ulCodePageRange2", 0),
        head.checkSumAdjustment,
        0,
        0,
        0,
        0,
        0,
    )
    return header + names + ttf


def _read(eot: bytes) -> tuple[dict, bytes]:
    if len(eot) < _FIXED.size:
        raise EotError(f"{len(eot)} bytes: shorter than an EOT header")
    header = dict(zip(_FIXED_FIELDS, _FIXED.unpack_from(eot), strict=True))
    if header["magic"] != MAGIC:
        raise EotError(f"magic number {header['magic']:#06x}, not {MAGIC:#06x}")
    if header["eot_size"] != len(eot):
        raise EotError(f"EOTSize {header['eot_size']} but the file has {len(eot)} bytes")
    if header["version"] not in (0x00010000, 0x00020001, 0x00020002):
        raise EotError(f"unknown version {header['version']:#010x}")
    pos = _FIXED.size

    def take(fmt: str) -> int:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, eot, pos)
        pos += struct.calcsize(fmt)
        return value

    def blob(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(eot):
            raise EotError("a string or data block runs past the end of the file")
        pos += n
        return eot[pos - n : pos]

    for i, (field, _) in enumerate(_NAMES):
        if i:
            take("<H")  # Padding2-4
        header[field] = blob(take("<H")).decode("utf-16-le")
    if header["version"] >= 0x00020001:
        take("<H")  # Padding5
        header["root_string"] = blob(take("<H"))
    if header["version"] == 0x00020002:
        header["root_string_checksum"] = take("<I")
        header["eudc_code_page"] = take("<I")
        take("<H")  # Padding6
        header["signature"] = blob(take("<H"))
        header["eudc_flags"] = take("<I")
        header["eudc_font_data"] = blob(take("<I"))
    header["font_data_offset"] = pos
    data = eot[pos:]
    if len(data) != header["font_data_size"]:
        raise EotError(
            f"FontDataSize {header['font_data_size']} but {len(data)} bytes follow the header"
        )
    return header, data


def eot_header(eot: bytes) -> dict:
    """The header fields of ``eot`` (names decoded, PANOSE as bytes); checks sizes and magic."""
    return _read(eot)[0]


def eot_font_data(eot: bytes) -> bytes:
    """The TrueType/OpenType font inside ``eot`` (XOR obfuscation undone).

    Raises ``EotError`` if the magic number, EOTSize or FontDataSize do not match the bytes,
    or if the data is MicroType Express compressed.
    """
    header, data = _read(eot)
    if header["flags"] & FLAG_COMPRESSED:
        raise EotError("MicroType Express compressed font data is not supported")
    if header["flags"] & FLAG_XOR:
        data = bytes(b ^ 0x50 for b in data)
    return data
