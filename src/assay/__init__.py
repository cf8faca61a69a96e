"""assay: test and monitor HTTP APIs from one description (OpenAPI documents, YAML suites)."""

__version__ = "0.1.0"
