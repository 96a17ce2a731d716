"""The CJK font the briefing exports embed (assets/fonts/, SIL OFL 1.1; see its README.md).

The project ships its own font so a PDF or a map image made on a machine without Chinese
fonts still shows Chinese text, not empty boxes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
FONT_PATH = FONT_DIR / "GridPulseSansSC-Regular.ttf"
FONT_FAMILY = "GridPulse Sans SC"
# What the PPTX names: it cannot embed a font, so it asks for common CJK faces.
PPTX_LATIN_FONT = "Arial"
PPTX_EA_FONT = "Noto Sans CJK SC"


@cache
def matplotlib_family() -> str:
    """Register the shipped font with matplotlib once; return its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT_PATH))
    return font_manager.FontProperties(fname=str(FONT_PATH)).get_name()
