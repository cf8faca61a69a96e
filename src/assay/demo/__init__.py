"""Bookshelf, the demo API bundled with assay: a Starlette app and its OpenAPI 3.0.3 document.

``assay demo`` serves it so that assay has something real to find with no setup. Two
variants of the same app exist (see ``assay.demo.app``): the seeded one, with the bugs listed
in ``DEFECTS``, and a fixed twin that conforms exactly to the document.

This package is standalone sample code: it imports nothing from the rest of assay. Importing
it is cheap; the apps themselves live in ``assay.demo.app``.
"""

from __future__ import annotations

from importlib import resources

from .defects import DEFECTS, PHASES, Defect

__all__ = ["DEFECTS", "PHASES", "Defect", "spec_text"]


def spec_text() -> str:
    """The demo's OpenAPI document, as the YAML text shipped in the package."""
    return resources.files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")
