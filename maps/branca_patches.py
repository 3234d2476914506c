"""Two changes to how branca (folium's page builder) renders our pages; ``install()`` makes
them when ``maps`` is imported. Both keep its output, one closes a hole, one saves time.

**Rendered snippets are kept as text, never rendered as templates a second time.** branca
keeps what each folium element renders (its script, its header, its html) in a plain
``Element(text)``, which compiles ``text`` as a Jinja template and renders it again when the page
is assembled. Whatever the data put into that text is then evaluated on the server: a hazard
described as ``{{ 7*7 }}`` showed ``49`` in its tooltip, and the same route reaches Python's
globals (a server-side template injection open to anyone who can report a hazard or name a
grid). Compiling every snippet also cost about 0.25 ms each, most of the time of a page of
markers.

Changed: an ``Element`` of the base class made from a string keeps the string and renders it
as it is (less the one trailing newline Jinja drops). Elements of every other class, and base
elements without a string, are unchanged.

**Element names are worked out once.** ``get_name()`` turns the class name into snake case
character by character on every call, some twenty calls per element: a third of the time of
a page of 500 markers. The conversion (a pure function of the class name) is memoised.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import branca.element
from branca.element import Element

_TEMPLATED_INIT = Element.__init__
_TEMPLATED_RENDER = Element.render
_CAMELIFY = branca.element._camelify


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
    """Make text snippets render as themselves and names cheap (idempotent)."""
    Element.__init__ = _init  # type: ignore[method-assign]
    Element.render = _render  # type: ignore[method-assign]
    branca.element._camelify = lru_cache(maxsize=1024)(_CAMELIFY)
