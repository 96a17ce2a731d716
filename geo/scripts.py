"""The map's JavaScript: the files of ``assets/js/``, and the folium element that calls one.

Each ``assets/js/<file>.js`` defines one function on ``window.gridpulse`` (see the folder's
README). :class:`ScriptCall` embeds the files an element needs, read once per process, and
one call of its function with a JSON config object built in Python::

    var <element> = window.gridpulse.<function>(<parent>, <config JSON>, <data>);

Nothing else is written in JavaScript here, and no code is assembled from strings.
This module imports no Streamlit.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Final

from branca.element import Element, MacroElement
from folium.template import Template

__all__ = ["JS_DIR", "ScriptCall", "TextMacro", "script_text"]

JS_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "assets" / "js"
"""Directory of the map scripts (embedded in the map, not served on their own)."""


@cache
def script_text(*names: str) -> str:
    """The text of ``assets/js/<name>.js`` for each name, in order (read once, cached)."""
    return "\n".join((JS_DIR / f"{name}.js").read_text(encoding="utf-8") for name in names)


class _RenderedText(Element):
    """Text that is already rendered: the figure shows it as it is."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class TextMacro(MacroElement):
    """A MacroElement whose rendered macros go into the figure as plain text.

    branca's ``MacroElement.render`` wraps each rendered macro in ``Element(text)``, which
    compiles the text as a new Jinja template. For a layer that embeds its packed payload
    (~100 KB for a district) that cost ~40 ms per layer, and st_folium renders every layer
    twice per script run: ~90 ms before the map could be sent to the browser. The macros
    here produce finished JavaScript with nothing left for Jinja, so the text goes in as it
    is. Subclasses keep folium's own ``render`` steps above this one (``Layer`` still adds
    the ``addTo`` statement, ``JSCSSMixin`` its links).
    """

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:
                getattr(figure, part).add_child(
                    _RenderedText(macro(self, kwargs)), name=self.get_name()
                )
        for element in self._children.values():
            element.render(**kwargs)


class ScriptCall(TextMacro):
    """An element drawn by one function of ``assets/js/``.

    Subclasses name the files to embed (``scripts``, in order: ``runtime`` first when the
    function uses its helpers) and the function (``function``); instances set ``config``
    (a JSON-serialisable dict) and, for bulk data, ``payload``: JSON text embedded as it
    is (already serialised, ``<`` escaped: ``geo.maps.payload.script_safe``), so a large
    payload is not encoded twice.
    A subclass that is also a folium ``Layer`` (``GeoJson``) sets ``_template =
    ScriptCall._template`` itself: folium's class comes first in its bases.
    """

    scripts: ClassVar[tuple[str, ...]] = ()
    function: ClassVar[str] = ""
    config: dict[str, Any]
    payload: str = "null"
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.library }}
        var {{ this.get_name() }} = window.gridpulse.{{ this.function }}({{ this._parent.get_name() }}, {{ this.config|tojson }}, {{ this.payload }});
        {% endmacro %}
        """  # noqa: E501
    )

    @property
    def library(self) -> str:
        return script_text(*self.scripts)
