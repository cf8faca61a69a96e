"""Where documents come from: file paths and http(s) URLs, named by absolute URIs.

Every document of a load is named by one absolute URI (``file:///abs/api.yaml``,
``https://host/api.json``) so that relative ``$ref``s resolve with ``urljoin`` and schema refs
can be rewritten into URIs that ``ApiSpec.registry`` knows. File and network errors are
translated into ``SpecError`` here, once.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, urldefrag, urlsplit
from urllib.request import url2pathname

import httpx

from assay.core.errors import SpecError

_JSON_TYPES = ("application/json", "text/json")


def is_url(source: str) -> bool:
    """True for ``http://`` and ``https://`` sources."""
    return source.lower().startswith(("http://", "https://"))


def source_uri(source: str) -> str:
    """The absolute URI naming ``source`` (a path, a ``file:`` URI or an http(s) URL)."""
    if is_url(source) or source.lower().startswith("file:"):
        return urldefrag(source).url
    # abspath normalises '..' (so a file has one URI) without resolving symlinks.
    return Path(os.path.abspath(os.path.expanduser(source))).as_uri()


def memory_uri(source: str) -> str:
    """A URI for an in-memory document that has no base URI of its own."""
    return "urn:assay:" + quote(source, safe="")


def display_name(uri: str) -> str:
    """A short name for messages: the file path for ``file:`` URIs, else the URI."""
    if uri.startswith("file:"):
        return str(uri_to_path(uri))
    return uri


def uri_to_path(uri: str) -> Path:
    """The local path of a ``file:`` URI."""
    return Path(url2pathname(urlsplit(uri).path))


def is_json_name(uri: str) -> bool:
    """True when the URI's path ends in ``.json`` (parsed with ``json`` first)."""
    return urlsplit(uri).path.lower().endswith(".json")


class Fetcher:
    """Reads documents by URI; one HTTP client for every URL of a load.

    Use as a context manager so the client (created on the first URL) is closed.
    """

    def __init__(self, *, timeout: float = 10.0):
        self.timeout = timeout
        self._client: httpx.Client | None = None

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def read(self, uri: str) -> tuple[bytes, bool]:
        """The bytes at ``uri`` and whether they should be parsed as JSON first."""
        if uri.startswith("file:"):
            return _read_file(uri), is_json_name(uri)
        if is_url(uri):
            return self._read_url(uri)
        raise SpecError(
            "cannot read this URI: expected a file path or an http(s) URL", source=uri
        )

    def _read_url(self, url: str) -> tuple[bytes, bool]:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=True)
        try:
            response = self._client.get(url, headers={"accept": "application/json, */*"})
        except httpx.TimeoutException as exc:
            raise SpecError(f"timed out after {self.timeout:g}s fetching the document",
                            source=url) from exc
        except httpx.HTTPError as exc:
            raise SpecError(f"cannot fetch the document: {exc}", source=url) from exc
        if response.status_code != 200:
            raise SpecError(
                f"HTTP {response.status_code} fetching the document; expected 200", source=url
            )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return response.content, content_type in _JSON_TYPES or is_json_name(url)


def _read_file(uri: str) -> bytes:
    path = uri_to_path(uri)
    name = str(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise SpecError("file not found", source=name) from exc
    except IsADirectoryError as exc:
        raise SpecError("is a directory; expected an OpenAPI or Swagger file",
                        source=name) from exc
    except PermissionError as exc:
        raise SpecError("permission denied reading the file", source=name) from exc
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", source=name) from exc
