"""Operation filters, operation matching and option parsing (pure logic)."""

from __future__ import annotations

import pytest

from assay.cli.options import build_config, parse_headers, parse_phases, parse_reports
from assay.core.errors import UsageError
from assay.engine.matching import OperationMatcher
from assay.specs.model import ApiSpec, Operation

OPS = [
    Operation("GET", "/books", operation_id="listBooks", tags=["books"]),
    Operation("POST", "/books", operation_id="createBook", tags=["books", "write"]),
    Operation("GET", "/books/{bookId}", operation_id="getBook", tags=["books"]),
    Operation("GET", "/books/search", operation_id="searchBooks", tags=["search"]),
    Operation("GET", "/health", operation_id="health"),
]


def labels(**options):
    config = build_config(options)
    return [op.label for op in config.filters.apply(OPS)]


def test_no_filter_keeps_everything():
    assert len(labels()) == len(OPS)


def test_include_dimensions_combine_and_values_within_one_are_alternatives():
    assert labels(include_method=("post",)) == ["POST /books"]
    assert labels(include_tag=("books",), include_method=("GET",)) == [
        "GET /books", "GET /books/{bookId}"]
    assert labels(include_operation_id=("health", "getBook")) == [
        "GET /books/{bookId}", "GET /health"]


def test_regex_and_exclude_forms():
    assert labels(include_path_regex=("^/books/",)) == ["GET /books/{bookId}", "GET /books/search"]
    assert labels(exclude_tag=("books",)) == ["GET /books/search", "GET /health"]
    assert labels(include_path_regex=("^/books",), exclude_path=("/books/search",),
                  exclude_method_regex=("^P",)) == ["GET /books", "GET /books/{bookId}"]


def test_bad_regex_names_the_flag():
    with pytest.raises(UsageError) as info:
        labels(include_path_regex=("(",))
    assert "--include-path-regex" in str(info.value)


def test_matcher_prefers_literal_segments():
    matcher = OperationMatcher(ApiSpec("s", "t", "1", "3.0.3", "file:///s", operations=OPS))
    assert matcher.match("get", "/books/search").label == "GET /books/search"
    assert matcher.match("GET", "/books/42").label == "GET /books/{bookId}"
    assert matcher.match("DELETE", "/books/42") is None
    assert matcher.match("GET", "/nope") is None


@pytest.mark.parametrize(("options", "flag"), [
    ({"header": ("NoColon",)}, "-H/--header"),
    ({"timeout": "soon"}, "--timeout"),
    ({"rate_limit": "fast"}, "--rate-limit"),
    ({"auth_basic": "nopassword"}, "--auth-basic"),
    ({"auth_basic": "u:p", "auth_bearer": "t"}, "--auth-bearer/--auth-basic"),
    ({"api_key": ("novalue",)}, "--api-key"),
    ({"max_response_time": "-1s"}, "--max-response-time"),
    ({"phases": "examples,warp"}, "--phases"),
    ({"var": ("x",)}, "--var"),
    ({"max_failures": 0}, "--max-failures"),
])
def test_bad_flag_values_name_the_flag(options, flag):
    with pytest.raises(UsageError) as info:
        build_config(options)
    assert str(info.value).startswith(flag + ":")


def test_parsing_helpers():
    assert parse_headers(["X-A: 1", "X-B:two: three"]) == (("X-A", "1"), ("X-B", "two: three"))
    assert parse_phases(None) == ("examples", "coverage", "fuzz", "stateful")
    assert parse_reports("json, html") == ("json", "html")
    with pytest.raises(UsageError):
        parse_reports("pdf")
    config = build_config({"timeout": "500ms", "rate_limit": "120/m", "insecure": True})
    assert config.http.timeout == 0.5 and config.http.rate_limit == 2.0
    assert config.http.verify is False
