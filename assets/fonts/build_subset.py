"""Rebuild assets/fonts/GridPulseSansSC-Regular.ttf, the CJK font of the briefing exports.

A subset of Noto Sans CJK SC Regular (SIL Open Font License 1.1, see OFL.txt and README.md):
every character of GB 2312 (6,763 hanzi and its symbols), ASCII, Latin-1, general and CJK
punctuation, full-width forms, arrows, maths signs and every character of assets/i18n/*.toml.
Outlines are converted from CFF to TrueType quadratics, so every PDF writer can embed and
subset it (matplotlib Type 42, fpdf2). It is renamed (OFL §3: a Modified Version).

    .venv/bin/python assets/fonts/build_subset.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

(Debian package fonts-noto-cjk; any Noto Sans CJK SC Regular .otf or .ttc works.)
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

HERE = Path(__file__).resolve().parent
OUT = HERE / "GridPulseSansSC-Regular.ttf"
FAMILY = "GridPulse Sans SC"


def characters() -> set[int]:
    chars: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    for lo, hi in (
        (0x2000, 0x206F),
        (0x2190, 0x21FF),
        (0x2200, 0x22FF),
        (0x2460, 0x24FF),
        (0x25A0, 0x25FF),
        (0x3000, 0x303F),
        (0xFF00, 0xFFEF),
    ):
        chars |= set(range(lo, hi + 1))
    chars |= {0x2116, 0x2103, 0x2122, 0x3A3, 0x3B1, 0x3B2, 0x3BC}
    for hi in range(0xA1, 0xF8):  # GB 2312
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    for path in (HERE.parent / "i18n").glob("*.toml"):
        chars |= {ord(c) for c in path.read_text(encoding="utf-8")}
    return chars


def open_sc(source: Path) -> TTFont:
    if source.suffix.lower() in (".ttc", ".otc"):
        for font in TTCollection(str(source)).fonts:
            if "CJK SC" in font["name"].getDebugName(1):
                return font
        raise SystemExit(f"{source}: no Noto Sans CJK SC face")
    return TTFont(str(source))


def to_truetype(font: TTFont, max_err: float = 1.0) -> None:
    """CFF → glyf (the fontTools otf2ttf recipe)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones",):
        setattr(maxp, attr, 1)
    for attr in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\000\001\000\000"


def rename(font: TTFont) -> None:
    names = font["name"]
    keep = {0, 7, 8, 9, 11, 12, 13, 14}
    names.names = [n for n in names.names if n.nameID in keep]
    for name_id, text in (
        (1, FAMILY),
        (2, "Regular"),
        (3, f"{FAMILY} Regular; subset of Noto Sans CJK SC"),
        (4, f"{FAMILY} Regular"),
        (5, "Version 1.0; subset of Noto Sans CJK SC 2.004"),
        (6, "GridPulseSansSC-Regular"),
    ):
        names.setName(text, name_id, 3, 1, 0x409)
        names.setName(text, name_id, 1, 0, 0)


def main(source: str) -> None:
    font = open_sc(Path(source))
    options = subset.Options()
    options.layout_features = ["kern", "palt", "vert"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=characters())
    subsetter.subset(font)
    to_truetype(font)
    rename(font)
    font.save(str(OUT))
    print(f"{OUT} ({OUT.stat().st_size / 1e6:.1f} MB, {len(font.getGlyphOrder())} glyphs)")


if __name__ == "__main__":
    main(
        sys.argv[1]
        if len(sys.argv) > 1
        else "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    )
