"""The CJK font the briefing exports embed (assets/fonts/, SIL OFL 1.1; see its README.md).

The project ships its own font so a PDF, a PPTX or a map image made on a machine without
Chinese fonts still shows Chinese text, not empty boxes. The PDF (fpdf2) and the PPTX
(``briefing_pptx``, from ``subset_font``) embed a subset holding just the characters they use.
"""

from __future__ import annotations

import io
from functools import cache, lru_cache

from data_layer import settings

FONT_PATH = settings.FONTS_DIR / "GridPulseSansSC-Regular.ttf"
FONT_FAMILY = "GridPulse Sans SC"
# How PPTX text names the font (a:latin, a:ea, a:cs of every run, and p:font of the embedded
# font list): the family of the embedded subset. pitchFamily 34 (variable pitch, Swiss, i.e. a
# sans) and charset -122 (GB 2312) let an office suite that ignores embedded fonts substitute a
# Chinese sans face of its own instead of a Latin one.
PPTX_FONT = {"typeface": FONT_FAMILY, "pitchFamily": "34", "charset": "-122"}
# Always in the PPTX's subset besides the slide text: printable ASCII, for edits in PowerPoint.
PPTX_BASE_CHARS = "".join(map(chr, range(0x20, 0x7F)))


def subset_font(text: str) -> bytes:
    """The shipped font cut down to the characters of ``text`` (TrueType bytes, fontTools).

    Names, metrics (horizontal and vertical) and OpenType layout features of the kept glyphs
    stay; the result is the same bytes for the same characters (no new timestamp), so the
    last few subsets are kept: briefings of other meetings and as-ofs use the same
    characters (digits are always in), and cutting a CJK font costs most of a PPTX build.
    """
    return _subset("".join(sorted(set(text) - set("\r\n\t"))))


@lru_cache(maxsize=8)
def _subset(chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.layout_features = ["*"]
    options.notdef_outline = True
    font = TTFont(str(FONT_PATH), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@cache
def matplotlib_family() -> str:
    """Register the shipped font with matplotlib once; return its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT_PATH))
    return font_manager.FontProperties(fname=str(FONT_PATH)).get_name()
