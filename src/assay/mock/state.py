"""The stateful mode: POST stores, GET reads and lists, PUT/PATCH change, DELETE removes.

Which operations form a resource is read from the paths, as a person reads them: an *item*
path ends in one variable segment (``/books/{bookId}``), its *collection* is the path
without it (``/books``). POST on a collection creates, GET on it lists; GET, PUT, PATCH and
DELETE on an item read, replace (or create at that id), merge and remove. Nested
collections keep their parents' values (``/authors/1/books`` and ``/authors/2/books`` are
two collections). Operations that fit none of these (``POST /books/{id}/publish``) are not
stateful: the mock answers them from the spec as in the stateless mode.

A stored resource is the documented response body of the create operation (an example or
a generated value, so every field the schema requires is there) with the request body's
fields laid over it and a new id. The id goes in the field the item path names
(``bookId``), else ``id``, else a field ending in ``id``; it is an integer counter, a UUID
(``format: uuid``, drawn from the seeded generator) or a counter as text, as its schema says.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from referencing import Registry

from ..generation.schemaview import flatten
from ..specs.model import ApiSpec, Operation, ResponseSpec

KINDS = ("create", "list", "read", "replace", "update", "delete")
_LIST_KEYS = ("items", "data", "results", "content", "records", "values", "entries")
_COUNT_KEYS = ("total", "count", "totalCount", "total_count", "totalItems")


@dataclass(slots=True)
class Outcome:
    """What the store answers: a status, a JSON body (None: the documented one) and headers.

    ``found`` is False for an item that is not (or no longer) stored: a 404.
    """

    status: int
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    found: bool = True


@dataclass(slots=True)
class _Resource:
    kind: str
    id_field: str
    id_schema: dict
    allowed: set[str] | None  # properties a stored object may carry; None: any
    hidden: set[str]  # writeOnly properties: accepted, never answered


class StateStore:
    """Resources created through the mock, kept in memory until ``reset()``."""

    def __init__(self, spec: ApiSpec, *, seed: int = 0):
        self.registry: Registry = spec.registry
        self._rng = random.Random(seed)
        self._seed = seed
        self._collections: dict[str, dict[str, dict]] = {}
        self._counters: dict[str, int] = {}
        self._kinds = {id(op): kind for op in spec.operations
                       if (kind := _kind(op, spec)) is not None}
        self._models = {id(op): self._model(op, spec) for op in spec.operations
                        if id(op) in self._kinds}

    def kind(self, operation: Operation) -> str | None:
        """``create``, ``list``, ``read``, ``replace``, ``update``, ``delete`` or None."""
        return self._kinds.get(id(operation))

    def reset(self) -> int:
        """Forget every stored resource; returns how many there were."""
        count = sum(len(items) for items in self._collections.values())
        self._collections.clear()
        self._counters.clear()
        self._rng = random.Random(self._seed)
        return count

    def count(self) -> int:
        """How many resources are stored."""
        return sum(len(items) for items in self._collections.values())

    def apply(self, operation: Operation, relative_path: str, body: Any,
              base: Any, status: int) -> Outcome | None:
        """Apply ``operation`` (a request to ``relative_path`` with the parsed ``body``).

        ``base`` is the documented body of the answer (a fresh copy: it is changed) and
        ``status`` its status. Returns None for operations that are not stateful.
        """
        kind = self._kinds.get(id(operation))
        if kind is None:
            return None
        model = self._models[id(operation)]
        path = relative_path.rstrip("/") or "/"
        if kind == "create":
            return self._create(model, path, body, base, status)
        if kind == "list":
            return self._list(model, path, base, status)
        collection, _, item_id = path.rpartition("/")
        item_id = unquote(item_id)
        items = self._collections.get(collection or "/", {})
        if kind == "replace":
            return self._put(model, collection or "/", item_id, body, base, status)
        stored = items.get(item_id)
        if stored is None:
            return Outcome(404, found=False)
        if kind == "read":
            return Outcome(status, self._visible(model, stored))
        if kind == "update":
            _merge_patch(stored, body if isinstance(body, dict) else {}, model)
            return Outcome(status, self._visible(model, stored))
        del items[item_id]
        return Outcome(status, base)

    def _create(self, model: _Resource, collection: str, body: Any, base: Any,
                status: int) -> Outcome:
        resource = base if isinstance(base, dict) else {}
        _lay_over(resource, body, model)
        new_id = self._new_id(model, collection)
        resource[model.id_field] = new_id
        self._collections.setdefault(collection, {})[str(new_id)] = resource
        location = f"{collection.rstrip('/')}/{new_id}"
        return Outcome(status, self._visible(model, resource), [("Location", location)])

    def _put(self, model: _Resource, collection: str, item_id: str, body: Any, base: Any,
             status: int) -> Outcome:
        items = self._collections.setdefault(collection, {})
        resource = items.get(item_id)
        created = resource is None
        if created:
            resource = base if isinstance(base, dict) else {}
        else:
            kept = {model.id_field: resource.get(model.id_field)}
            resource.clear()
            resource.update(base if isinstance(base, dict) else {})
            resource.update(kept)
        _lay_over(resource, body, model)
        resource[model.id_field] = _typed_id(item_id, model.id_schema)
        items[item_id] = resource
        return Outcome(status, self._visible(model, resource))

    def _list(self, model: _Resource, collection: str, base: Any, status: int) -> Outcome:
        items = self._collections.get(collection, {})
        models = [self._visible(model, item) for item in items.values()]
        if isinstance(base, list) or base is None:
            return Outcome(status, models)
        if isinstance(base, dict):
            key = _list_key(base)
            if key is not None:
                base[key] = models
                for count_key in _COUNT_KEYS:
                    if isinstance(base.get(count_key), int) and count_key != key:
                        base[count_key] = len(models)
                return Outcome(status, base)
        return Outcome(status, base)

    def _visible(self, model: _Resource, resource: dict) -> dict:
        shown = copy.deepcopy(resource)
        for name in model.hidden:
            shown.pop(name, None)
        return shown

    def _new_id(self, model: _Resource, collection: str) -> Any:
        schema = model.id_schema
        if schema.get("type") == "string" and schema.get("format") == "uuid":
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        existing = self._collections.get(collection, {})
        counter = self._counters.get(collection, 0) + 1
        while str(counter) in existing:
            counter += 1
        self._counters[collection] = counter
        return counter if schema.get("type") in ("integer", "number", None) else str(counter)

    def _model(self, op: Operation, spec: ApiSpec) -> _Resource:
        kind = self._kinds[id(op)]
        item_var = _item_variable(op.path) if kind not in ("create", "list") else None
        if item_var is None:
            item_var = _child_variable(op.path, spec)
        schema = _resource_schema(op, spec, self.registry) or {}
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        id_field = _id_field(item_var, properties)
        id_schema = flatten(properties.get(id_field, {}), self.registry) or {}
        allowed = None if schema.get("additionalProperties") is not False else set(properties)
        hidden = {name for name, sub in properties.items()
                  if (flatten(sub, self.registry) or {}).get("writeOnly") is True}
        return _Resource(kind, id_field, id_schema, allowed, hidden)


def _kind(op: Operation, spec: ApiSpec) -> str | None:
    item = _item_variable(op.path) is not None
    if not item:
        # A collection is a path with an item path below it: POST /books/{id}/publish
        # is an action, not a collection.
        if _child_variable(op.path, spec) is None:
            return None
        return {"POST": "create", "GET": "list"}.get(op.method)
    return {"GET": "read", "PUT": "replace", "PATCH": "update",
            "DELETE": "delete"}.get(op.method)


def _item_variable(path: str) -> str | None:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last.startswith("{") and last.endswith("}") and last.count("{") == 1:
        return last[1:-1]
    return None


def _child_variable(collection: str, spec: ApiSpec) -> str | None:
    """The variable of ``collection``'s item path (``/books`` -> ``bookId``), if any."""
    prefix = collection.rstrip("/") + "/"
    for op in spec.operations:
        if op.path.startswith(prefix) and "/" not in op.path[len(prefix):].strip("/"):
            variable = _item_variable(op.path)
            if variable is not None:
                return variable
    return None


def _id_field(variable: str | None, properties: dict) -> str:
    if variable and variable in properties:
        return variable
    if "id" in properties:
        return "id"
    for name in properties:
        if name.lower().endswith("id"):
            return name
    return "id"


def _resource_schema(op: Operation, spec: ApiSpec, registry: Registry) -> dict | None:
    """The schema of one resource: the create/read answer's (a list's items)."""
    for response in _success_responses(op):
        for name, media in response.content.items():
            if "json" not in name or media.schema is None:
                continue
            flat = flatten(media.schema, registry)
            if not flat:
                continue
            if flat.get("type") == "array" or "items" in flat:
                return flatten(flat.get("items", {}), registry)
            key = _list_key(flat.get("properties", {}))
            if key is not None and op.method == "GET":
                items = flatten(flat["properties"][key], registry) or {}
                return flatten(items.get("items", {}), registry)
            return flat
    return None


def _success_responses(op: Operation) -> list[ResponseSpec]:
    return [spec for key, spec in sorted(op.responses.items()) if key.startswith("2")]


def _list_key(obj: dict) -> str | None:
    arrays = [key for key, value in obj.items()
              if isinstance(value, list) or (isinstance(value, dict) and (
                  value.get("type") == "array" or "items" in value))]
    if len(arrays) == 1:
        return arrays[0]
    return next((key for key in _LIST_KEYS if key in arrays), None)


def _lay_over(resource: dict, body: Any, model: _Resource) -> None:
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if model.allowed is None or key in model.allowed:
            resource[key] = copy.deepcopy(value)


def _merge_patch(resource: dict, patch: dict, model: _Resource) -> None:
    # RFC 7396: null removes a member; objects merge; anything else replaces.
    for key, value in patch.items():
        if key == model.id_field:
            continue
        if value is None:
            resource.pop(key, None)
        elif isinstance(value, dict) and isinstance(resource.get(key), dict):
            _merge_patch(resource[key], value, model)
        elif model.allowed is None or key in model.allowed:
            resource[key] = copy.deepcopy(value)


def _typed_id(text: str, schema: dict) -> Any:
    if schema.get("type") == "integer" and text.lstrip("-").isdigit():
        return int(text)
    return text
