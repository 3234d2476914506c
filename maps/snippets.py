"""Rendered snippets of a map page kept as text, never rendered as templates a second time.

branca keeps what each folium element renders (its script, its header, its html) in a plain
``Element(text)``, which compiles ``text`` as a Jinja template and renders it again when the page
is assembled. Whatever the data put into that text is then evaluated on the server: a hazard
described as ``{{ 7*7 }}`` showed ``49`` in its tooltip, and the same route reaches Python's
globals (a server-side template injection open to anyone who can report a hazard or name a
grid). Compiling every snippet also cost about 0.25 ms each, most of the time of a page of
markers.

``install()`` (run when ``maps`` is imported) changes one thing: an ``Element`` of the base class
made from a string keeps the string and renders it as it is (less the one trailing newline Jinja
drops). Elements of every other class, and base elements without a string, are unchanged.
"""

from __future__ import annotations

from typing import Any

from branca.element import Element

_TEMPLATED_INIT = Element.__init__
_TEMPLATED_RENDER = Element.render


def _init(self: Element, template: str | None = None, template_name: str | None = None) -> None:
    if type(self) is Element and template is not None:
        _TEMPLATED_INIT(self, None, template_name)
        self._template_str = template
        self._literal = template.removesuffix("\n")
    else:
        _TEMPLATED_INIT(self, template, template_name)


def _render(self: Element, **kwargs: Any) -> str:
    literal = self.__dict__.get("_literal")
    if literal is not None:
        return literal
    return _TEMPLATED_RENDER(self, **kwargs)


def install() -> None:
    """Make text snippets render as themselves (idempotent)."""
    Element.__init__ = _init  # type: ignore[method-assign]
    Element.render = _render  # type: ignore[method-assign]
