"""assay's own errors. An API that misbehaves is a `Finding`, never one of these.

The tree::

    AssayError                 anything assay itself cannot do; exit code 2 unless noted
    ├── UsageError             a bad flag or flag value
    ├── SpecError              an unreadable or unusable API description
    ├── SuiteError             an invalid YAML suite (a ConfigError with a file and key path)
    ├── ConfigError            a bad config file or key
    ├── TargetUnreachable      the target cannot be reached when a run starts
    └── InternalError          a bug in assay; exit code 3

Each error carries one human-readable line (``str(err)``) that names the file, the
location (a JSON pointer, a line, a key path or a flag) and what was expected.
"""

from __future__ import annotations


class AssayError(Exception):
    """Root of assay's own errors. ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, location: str | None = None):
        self.message = message
        self.source = source
        self.location = location
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.source and self.location:
            where = f"{self.source}: {self.location}: "
        elif self.source:
            where = f"{self.source}: "
        elif self.location:
            where = f"{self.location}: "
        return f"{where}{self.message}"


class UsageError(AssayError):
    """A command-line flag or its value is wrong (``location`` names the flag)."""


class SpecError(AssayError):
    """An API description cannot be read or used (``location``: a JSON pointer or ``line N``)."""


class ConfigError(AssayError):
    """A config file or key is wrong (``location``: ``line N`` and/or a key path)."""


class SuiteError(ConfigError):
    """A YAML suite is invalid."""


class TargetUnreachable(AssayError):
    """The target URL cannot be reached when a run starts."""


class InternalError(AssayError):
    """A bug in assay itself."""

    exit_code = 3
