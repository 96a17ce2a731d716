"""The briefing PPTX embeds the project's CJK font the way PowerPoint does: an EOT part
``ppt/fonts/*.fntdata`` related from the presentation and listed in ``p:embeddedFontLst``,
holding a subset of ``assets/fonts`` that covers every character on the slides; every run
names that font. Plus the EOT writer/reader (``documents.eot``) on the shipped font."""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import subprocess
import zipfile

import pytest
from fixtures_tiny import AS_OF
from fontTools.ttLib import TTFont
from lxml import etree

from data_layer.domain.scope import Scope
from documents.briefing import build_briefing
from documents.eot import MAGIC, EotError, eot_font_data, eot_header, font_to_eot
from documents.fonts import FONT_PATH, PPTX_BASE_CHARS
from documents.meeting import Meeting
from documents.pptx_writer import pptx_bytes

NS = {
    "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
}
FONT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"
# CT_Presentation's children, in schema order (ECMA-376 Part 1, PresentationML)
PRESENTATION_SEQUENCE = [
    "sldMasterIdLst", "notesMasterIdLst", "handoutMasterIdLst", "sldIdLst", "sldSz", "notesSz",
    "smartTags", "embeddedFontLst", "custShowLst", "photoAlbum", "custDataLst", "kinsoku",
    "defaultTextStyle", "modifyVerifier", "extLst",
]  # fmt: skip


def family_name(font: TTFont) -> str:
    return font["name"].getName(1, 3, 1, 0x409).toUnicode()


SHIPPED_FAMILY = family_name(TTFont(str(FONT_PATH), lazy=True))


@pytest.fixture(scope="module", params=["zh", "en"])
def deck_bytes(request):
    from fixtures_tiny import tiny_dataset

    from documents.static_map import choropleth_png

    ds = tiny_dataset()
    briefing = build_briefing(
        ds, Meeting.for_month(2025, 3, as_of=AS_OF), Scope.everything(), lang=request.param
    )
    return pptx_bytes(briefing, map_png=choropleth_png(ds, briefing.map_values))


def runs(data: bytes):
    """Every run of every text box and table cell, read back with python-pptx."""
    from pptx import Presentation

    deck = Presentation(io.BytesIO(data))
    for slide in deck.slides:
        for shape in slide.shapes:
            frames = [shape.text_frame] if shape.has_text_frame else []
            if shape.has_table:
                frames += [cell.text_frame for row in shape.table.rows for cell in row.cells]
            for frame in frames:
                for paragraph in frame.paragraphs:
                    yield from paragraph.runs


def embedded_part(data: bytes) -> tuple[zipfile.ZipFile, etree._Element, str]:
    """The package, p:embeddedFontLst/p:embeddedFont, and the zip name its r:id resolves to."""
    package = zipfile.ZipFile(io.BytesIO(data))
    presentation = etree.fromstring(package.read("ppt/presentation.xml"))
    (entry,) = presentation.findall("p:embeddedFontLst/p:embeddedFont", NS)
    r_id = entry.find("p:regular", NS).get(f"{{{NS['r']}}}id")
    rels = etree.fromstring(package.read("ppt/_rels/presentation.xml.rels"))
    (rel,) = [r for r in rels.findall("rel:Relationship", NS) if r.get("Id") == r_id]
    assert rel.get("Type") == FONT_REL and rel.get("TargetMode") is None
    return package, entry, posixpath.normpath(posixpath.join("ppt", rel.get("Target")))


def test_the_pptx_has_a_font_part_listed_in_the_embedded_font_list(deck_bytes):
    package, entry, name = embedded_part(deck_bytes)
    fonts = [n for n in package.namelist() if n.startswith("ppt/fonts/")]
    assert fonts == [name] and name.endswith(".fntdata")
    types = etree.fromstring(package.read("[Content_Types].xml"))
    override = types.find(f"ct:Override[@PartName='/{name}']", NS)
    default = types.find("ct:Default[@Extension='fntdata']", NS)
    assert (override if override is not None else default).get("ContentType") == (
        "application/x-fontdata"
    )
    rels = etree.fromstring(package.read("ppt/_rels/presentation.xml.rels"))
    font_rels = [r for r in rels.findall("rel:Relationship", NS) if r.get("Type") == FONT_REL]
    assert len(font_rels) == 1
    font = entry.find("p:font", NS)
    assert font.get("typeface") == SHIPPED_FAMILY
    assert font.get("charset") == "-122" and font.get("pitchFamily") == "34"
    presentation = etree.fromstring(package.read("ppt/presentation.xml"))
    assert presentation.get("embedTrueTypeFonts") == "1"  # LibreOffice reads the list only then
    children = [etree.QName(child).localname for child in presentation]
    assert children == sorted(children, key=PRESENTATION_SEQUENCE.index)  # schema order


def test_the_font_part_is_eot_of_a_subset_covering_every_character_on_the_slides(deck_bytes):
    package, entry, name = embedded_part(deck_bytes)
    eot = package.read(name)
    header = eot_header(eot)
    assert header["magic"] == MAGIC == 0x504C and header["eot_size"] == len(eot)
    assert header["flags"] == 0  # neither MicroType Express compressed nor XOR-obfuscated
    ttf = eot_font_data(eot)
    assert len(ttf) == header["font_data_size"] and ttf[:4] == b"\0\1\0\0"
    font = TTFont(io.BytesIO(ttf))
    assert family_name(font) == header["family_name"] == SHIPPED_FAMILY
    assert "glyf" in font and font["OS/2"].fsType == 0  # installable embedding
    assert header["panose"].hex().upper() == entry.find("p:font", NS).get("panose")
    cmap = font.getBestCmap()
    used = {char for run in runs(deck_bytes) for char in run.text if not char.isspace()}
    assert len(used) > 50 and any("\u4e00" <= char <= "\u9fff" for char in used)
    assert [char for char in sorted(used) if ord(char) not in cmap] == []
    assert all(ord(char) in cmap for char in PPTX_BASE_CHARS)
    # a subset: only what the slides need, far smaller than the shipped font
    assert len(cmap) < len(used) + len(PPTX_BASE_CHARS) + 50
    assert len(ttf) < FONT_PATH.stat().st_size / 10


def test_every_run_names_the_embedded_family(deck_bytes):
    from pptx.oxml.ns import qn

    all_runs = list(runs(deck_bytes))
    assert len(all_runs) > 100
    for run in all_runs:
        rpr = run._r.find(qn("a:rPr"))
        for tag in ("a:latin", "a:ea"):
            assert rpr.find(qn(tag)).get("typeface") == SHIPPED_FAMILY, (tag, run.text)


def test_eot_round_trip_on_the_shipped_font():
    ttf = FONT_PATH.read_bytes()
    eot = font_to_eot(ttf)
    assert eot_font_data(eot) == ttf
    header = eot_header(eot)
    font = TTFont(str(FONT_PATH), lazy=True)
    os2 = font["OS/2"]
    assert header["version"] == 0x00020001 and header["charset"] == 1
    assert header["eot_size"] == len(eot) and header["font_data_size"] == len(ttf)
    assert header["font_data_offset"] + len(ttf) == len(eot)
    assert header["weight"] == os2.usWeightClass and header["fs_type"] == os2.fsType
    assert header["panose"] == bytes(
        getattr(os2.panose, field)
        for field in (
            "bFamilyType bSerifStyle bWeight bProportion bContrast "
            "bStrokeVariation bArmStyle bLetterForm bMidline bXHeight"
        ).split()
    )
    assert header["unicode_range1"] == os2.ulUnicodeRange1
    assert header["code_page_range1"] == os2.ulCodePageRange1
    assert header["checksum_adjustment"] == font["head"].checkSumAdjustment
    assert header["family_name"] == SHIPPED_FAMILY and header["style_name"] == "Regular"
    assert header["full_name"] == f"{SHIPPED_FAMILY} Regular"
    assert header["root_string"] == b""


def test_eot_reader_reads_version_2_2_and_xor_obfuscated_data():
    ttf = FONT_PATH.read_bytes()
    eot = font_to_eot(ttf)
    start = eot_header(eot)["font_data_offset"]
    # 0x00020002: RootStringCheckSum, EUDCCodePage, Padding6, SignatureSize 0, EUDCFlags,
    # EUDCFontSize 0 between the (empty) root string and the font data
    extra = b"\0" * 4 + b"\0" * 4 + b"\0\0" + b"\0\0" + b"\0" * 4 + b"\0" * 4
    v22 = (len(eot) + len(extra)).to_bytes(4, "little") + eot[4:8]
    v22 += (0x00020002).to_bytes(4, "little") + eot[12:start] + extra + eot[start:]
    assert eot_font_data(v22) == ttf and eot_header(v22)["version"] == 0x00020002
    xor = eot[:12] + (0x10000000).to_bytes(4, "little") + eot[16:start]
    xor += bytes(b ^ 0x50 for b in eot[start:])
    assert eot_font_data(xor) == ttf


def test_eot_reader_rejects_broken_files():
    eot = font_to_eot(FONT_PATH.read_bytes())
    with pytest.raises(EotError, match="magic"):
        eot_font_data(eot[:34] + b"\0\0" + eot[36:])
    with pytest.raises(EotError, match="EOTSize"):
        eot_font_data(eot[:-1])
    with pytest.raises(EotError, match="FontDataSize"):
        bigger = len(eot) + 4
        eot_font_data(bigger.to_bytes(4, "little") + eot[4:] + b"\0" * 4)
    with pytest.raises(EotError, match="shorter"):
        eot_font_data(eot[:40])


def test_libeot_reads_the_embedded_eot_back(deck_bytes, tmp_path):
    """libeot, the EOT reader LibreOffice links, unpacks the part to the same TrueType font.

    .ci/run installs Debian's eot2ttf; elsewhere the test is skipped when it is absent."""
    if shutil.which("eot2ttf") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("eot2ttf missing in CI (.ci/run installs Debian's eot2ttf)")
        pytest.skip("eot2ttf (Debian: eot2ttf) absent")
    package, _, name = embedded_part(deck_bytes)
    (tmp_path / "font.fntdata").write_bytes(package.read(name))
    subprocess.run(["eot2ttf", "font.fntdata", "font.ttf"], cwd=tmp_path, check=True)
    assert (tmp_path / "font.ttf").read_bytes() == eot_font_data(package.read(name))
