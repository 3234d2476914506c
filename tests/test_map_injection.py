"""Text in map data is shown as it is, never run as a template (maps/snippets.py).

branca renders what each folium element produced a second time as a Jinja template, so
``{{ 7*7 }}`` in a hazard's description showed ``49`` and ``{{ cycler.__init__.__globals__ }}``
reached Python's globals on the server. These tests fail when that second pass comes back."""

from __future__ import annotations

import json

import folium
from fastapi.testclient import TestClient

from maps import to_html
from maps.community import community_map
from maps.hazards import hazard_map
from tests.test_maps_hazards import COMMUNITY, DEMO, GRIDS, hazard
from tests.test_maps_large import report_in_demo

ARITHMETIC = "payload {{ 7*7 }} end"
GLOBALS = "{{ cycler.__init__.__globals__.os.getcwd() }}"
STATEMENT = "{% for i in range(3) %}loop{% endfor %}"


def test_folium_tooltip_and_popup_keep_template_syntax() -> None:
    m = folium.Map()
    folium.Marker([27.97, 120.72], tooltip=ARITHMETIC, popup=STATEMENT).add_to(m)
    html = m.get_root().render()
    assert ARITHMETIC in html and "payload 49 end" not in html
    assert STATEMENT in html and "looplooploop" not in html


def test_hazard_markers_keep_template_syntax() -> None:
    hazards = [hazard(1, description=ARITHMETIC), hazard(2, description=GLOBALS)]
    html = to_html(hazard_map(COMMUNITY, GRIDS, hazards))
    assert html.count(ARITHMETIC) == 2  # tooltip and popup
    assert "payload 49 end" not in html
    assert html.count(GLOBALS) == 2


def test_geojson_properties_keep_template_syntax() -> None:
    grids = [{**g, "properties": {**g["properties"], "name": STATEMENT}} for g in GRIDS]
    compound = {**grids[0], "properties": {"id": 7, "name": GLOBALS}}
    html = to_html(community_map(COMMUNITY, grids, [compound], [], [], []))
    assert html.count(json.dumps(STATEMENT)) == 2
    assert "looplooploop" not in html
    assert json.dumps(GLOBALS) in html


def test_a_reported_description_is_shown_as_written(client: TestClient) -> None:
    report_in_demo(client, ARITHMETIC)
    html = client.get(f"/maps/communities/{DEMO}/hazards").text
    assert html.count(ARITHMETIC) == 2
    assert "payload 49 end" not in html
