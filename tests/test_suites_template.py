"""``{{ templates }}``: interpolation, type preservation, safety, and what goes on the wire."""

from __future__ import annotations

import httpx
import pytest

from assay.core.records import NOT_SET
from assay.suites import FilePart, RequestTemplate, TemplateError, render, render_request
from servers import Canned, RecordingApp, serve

VARIABLES = {
    "book_id": 12,
    "title": "Dune",
    "price": 9.5,
    "draft": False,
    "nothing": None,
    "book": {"author": {"name": "Herbert"}, "tags": ["sf", "classic"]},
    "items": [{"id": 1}, {"id": 2}],
    "row": {"a key": "spaced"},
}


def test_a_whole_template_keeps_the_value_type():
    assert render("{{ book_id }}", VARIABLES) == 12
    assert render("{{book_id}}", VARIABLES) == 12
    assert render("{{ price }}", VARIABLES) == 9.5
    assert render("{{ draft }}", VARIABLES) is False
    assert render("{{ nothing }}", VARIABLES) is None
    assert render("{{ book.tags }}", VARIABLES) == ["sf", "classic"]
    assert render({"id": "{{ book_id }}", "tags": ["{{ title }}", 3]}, VARIABLES) == {
        "id": 12, "tags": ["Dune", 3]}


def test_templates_inside_text_are_written_as_json_would():
    assert render("/books/{{ book_id }}", VARIABLES) == "/books/12"
    assert render("{{ title }} costs {{ price }}", VARIABLES) == "Dune costs 9.5"
    assert render("draft={{ draft }}&x={{ nothing }}", VARIABLES) == "draft=false&x=null"
    assert render("tags={{ book.tags }}", VARIABLES) == 'tags=["sf","classic"]'
    assert render(" {{ book_id }}", VARIABLES) == " 12"  # not exactly one template: text


def test_fields_and_indexes():
    assert render("{{ book.author.name }}", VARIABLES) == "Herbert"
    assert render("{{ items[1].id }}", VARIABLES) == 2
    assert render("{{ items[-1].id }}", VARIABLES) == 2
    assert render("{{ book.tags.0 }}", VARIABLES) == "sf"
    assert render("{{ row['a key'] }}", VARIABLES) == "spaced"
    assert render('{{ row["a key"] }}', VARIABLES) == "spaced"


def test_keys_are_rendered_and_other_values_pass_through():
    assert render({"x-{{ title }}": 1, 2: True}, VARIABLES) == {"x-Dune": 1, 2: True}
    assert render(("{{ book_id }}",), VARIABLES) == (12,)
    assert render(NOT_SET, VARIABLES) is NOT_SET
    assert render("no templates {here}", {}) == "no templates {here}"


@pytest.mark.parametrize("text, variable", [
    ("{{ missing }}", "missing"),
    ("/books/{{ missing }}", "missing"),
    ("{{ book.publisher }}", "book.publisher"),
    ("{{ items[5] }}", "items[5]"),
    ("{{ title.upper }}", "title.upper"),
    ("{{ title[0] }}", "title[0]"),
])
def test_an_undefined_variable_is_named(text, variable):
    with pytest.raises(TemplateError) as info:
        render(text, VARIABLES)
    assert info.value.variable == variable
    assert str(info.value) == f"undefined variable '{variable}'"


@pytest.mark.parametrize("text, variable", [
    ("{{ __class__ }}", "__class__"),
    ("{{ book.__dict__ }}", "book.__dict__"),
    ("{{ book.__class__.__mro__ }}", "book.__class__.__mro__"),
    ("{{ title.__class__ }}", "title.__class__"),
    ("{{ items.__len__ }}", "items.__len__"),
    ("{{ book['__class__'] }}", "book['__class__']"),
])
def test_python_attributes_are_unreachable(text, variable):
    with pytest.raises(TemplateError) as info:
        render(text, VARIABLES)
    assert info.value.variable == variable
    assert "undefined variable" in str(info.value)


@pytest.mark.parametrize("text", [
    "{{ book_id + 1 }}",
    "{{ title.upper() }}",
    "{{ __import__('os').system('true') }}",
    "{{ }}",
    "{{ 1 }}",
    "{{ a | b }}",
])
def test_expressions_are_not_evaluated(text):
    with pytest.raises(TemplateError) as info:
        render(text, VARIABLES)
    assert "invalid template" in str(info.value)


def test_render_request_renders_every_part():
    template = RequestTemplate(
        method="post",
        path="/books/{{ book_id }}",
        query={"tag": ["{{ book.tags[0] }}", "x"], "limit": "{{ book_id }}"},
        headers={"X-Title": "{{ title }}"},
        json={"id": "{{ book_id }}", "author": "{{ book.author }}"},
        multipart={"note": "{{ title }}",
                   "file": FilePart(content="{{ title }}!", filename="a.txt")},
        body=None,
    )
    rendered = render_request(template, VARIABLES)

    assert rendered.method == "POST"
    assert rendered.path == "/books/12"
    assert rendered.query == {"tag": ["sf", "x"], "limit": 12}
    assert rendered.headers == {"X-Title": "Dune"}
    assert rendered.json == {"id": 12, "author": {"name": "Herbert"}}
    assert rendered.multipart == {"note": "Dune",
                                  "file": FilePart(content="Dune!", filename="a.txt")}
    assert template.path == "/books/{{ book_id }}"  # the template itself is unchanged
    assert render_request(RequestTemplate(url="http://h/{{ book_id }}", body="{{ draft }}"),
                          VARIABLES).body == "false"


def test_rendered_types_reach_the_wire():
    app = RecordingApp({"POST /books/12": Canned(201, {"ok": True})})
    template = RequestTemplate(method="POST", path="/books/{{ book_id }}",
                               json={"id": "{{ book_id }}", "label": "#{{ book_id }}",
                                     "price": "{{ price }}", "draft": "{{ draft }}"})
    request = render_request(template, VARIABLES)
    with serve(app) as base_url:
        response = httpx.post(base_url + request.path, json=request.json)

    assert response.status_code == 201
    (received,) = app.received
    assert received.path == "/books/12"
    assert received.json() == {"id": 12, "label": "#12", "price": 9.5, "draft": False}
