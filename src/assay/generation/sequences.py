"""The stateful phase's plan: which sequences of calls to make (pure logic, no I/O).

``plan_sequences`` turns links into short sequences. For each resource that a POST creates
(a link from the POST fills every path parameter of an item path such as
``/books/{bookId}``) it plans the lifecycle::

    create → read (read_after_create) → update → read → delete → read (read_after_delete)

keeping the steps the API has (no PUT or PATCH: no update and no read after it). Every
other pair of operations that a link connects becomes a two-step sequence source → target,
when a link fills all the target's path parameters (one that fills ``authorId`` but not
``bookId`` of ``/authors/{authorId}/books/{bookId}`` still feeds the identifier pool, but
cannot drive a sequence). A first step that needs a parent's identifier
(``POST /books/{bookId}/reviews``) is preceded by the parent's create when a link feeds it.

The roles tell the runner what to check: a step with role ``read_after_create`` or
``read_after_delete`` is sent with ``Case.probe`` set to that role, which the checks
``ensure_resource_availability`` and ``use_after_free`` judge.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..specs.model import Operation
from .links import Link, path_parameters

ROLES = ("create", "read", "update", "delete", "read_after_create", "read_after_delete", "call")
MAX_STEPS = 6
_METHOD_ROLES = {"POST": "create", "GET": "read", "HEAD": "read", "PUT": "update",
                 "PATCH": "update", "DELETE": "delete"}


@dataclass(frozen=True, slots=True, repr=False)
class SequenceStep:
    """One call of a sequence.

    ``source`` is the index of the earlier step whose exchange feeds this one (``None`` for
    the first step); ``links`` are the links from that step's operation to this one, best
    first: the runner uses the first that yields values (``link_values``) and stops the
    sequence when none does. ``role`` is one of ``ROLES``.
    """

    operation: Operation
    role: str
    source: int | None = None
    links: tuple[Link, ...] = ()

    @property
    def link(self) -> Link | None:
        """The preferred link feeding this step, if any."""
        return self.links[0] if self.links else None

    def __repr__(self) -> str:
        feed = f" ← step {self.source}" if self.source is not None else ""
        return f"SequenceStep({self.role}: {self.operation.label}{feed})"


@dataclass(frozen=True, slots=True)
class Sequence:
    """A named, short sequence of calls (at most ``MAX_STEPS``)."""

    name: str
    steps: tuple[SequenceStep, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """The operations of the steps, in order (``"POST /books"``, ...)."""
        return tuple(step.operation.label for step in self.steps)

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles of the steps, in order."""
        return tuple(step.role for step in self.steps)


def plan_sequences(operations: list[Operation], links: list[Link]) -> list[Sequence]:
    """Lifecycle sequences per created resource, then one two-step sequence (three with a
    parent's create) per pair of operations that a link connects and no lifecycle covers.
    Links to or from operations not in ``operations`` are ignored; the order follows
    ``operations`` and ``links``.
    """
    known = {op.label for op in operations}
    feeds: dict[tuple[str, str], list[Link]] = defaultdict(list)
    for link in links:
        if link.source.label in known and link.target.label in known:
            feeds[(link.source.label, link.target.label)].append(link)
    lifecycles = [sequence for source in operations if source.method == "POST"
                  for sequence in _lifecycles(source, operations, feeds)]
    covered = {pair for sequence in lifecycles for pair in _pairs(sequence)}
    others = []
    for pair, candidates in feeds.items():
        usable = _filling(candidates, candidates[0].target)
        if pair not in covered and usable:
            others.append(_two_step(usable, operations, feeds))
    return lifecycles + others


def _lifecycles(create: Operation, operations: list[Operation],
                feeds: dict[tuple[str, str], list[Link]]) -> list[Sequence]:
    item_paths: list[str] = []
    for op in operations:
        if op.path not in item_paths and _item(feeds.get((create.label, op.label), []), op):
            item_paths.append(op.path)
    found = []
    for path in item_paths:
        sequence = _lifecycle(create, path, operations, feeds)
        if sequence is not None:
            found.append(sequence)
    return found


def _lifecycle(create: Operation, path: str, operations: list[Operation],
               feeds: dict[tuple[str, str], list[Link]]) -> Sequence | None:
    def fed(method: str) -> tuple[Operation, tuple[Link, ...]] | None:
        for op in operations:
            if op.path == path and op.method == method:
                usable = _item(feeds.get((create.label, op.label), []), op)
                return (op, usable) if usable else None
        return None

    read, delete = fed("GET"), fed("DELETE")
    update = fed("PUT") or fed("PATCH")
    if read is None and update is None and delete is None:
        return None
    steps = _opening(create, "create", operations, feeds)
    origin = len(steps) - 1
    # With a parent's create in front, the read after the update goes: six steps at most.
    wanted = [(read, "read_after_create"), (update, "update"),
              (read if update and (delete is None or origin == 0) else None, "read"),
              (delete, "delete"), (read if delete else None, "read_after_delete")]
    steps += [SequenceStep(found[0], role, origin, found[1]) for found, role in wanted if found]
    return Sequence(_lifecycle_name(steps, path), tuple(steps[:MAX_STEPS]))


def _opening(first: Operation, role: str, operations: list[Operation],
             feeds: dict[tuple[str, str], list[Link]]) -> list[SequenceStep]:
    """The first step, after its parent's create when it needs one and a link gives it."""
    parent = _parent(first, operations, feeds)
    if parent is None:
        return [SequenceStep(first, role)]
    return [SequenceStep(parent[0], "create"), SequenceStep(first, role, 0, parent[1])]


def _parent(create: Operation, operations: list[Operation],
            feeds: dict[tuple[str, str], list[Link]]) -> tuple[Operation, tuple[Link, ...]] | None:
    """A POST without path parameters whose links fill all of ``create``'s, if any."""
    if not path_parameters(create.path):
        return None
    for op in operations:
        if op.method == "POST" and not path_parameters(op.path):
            usable = _filling(feeds.get((op.label, create.label), []), create)
            if usable:
                return op, usable
    return None


def _filling(links: list[Link], target: Operation) -> tuple[Link, ...]:
    """The links that fill every path parameter of ``target``."""
    names = path_parameters(target.path)
    return tuple(link for link in links if all(link.fills("path", name) for name in names))


def _item(links: list[Link], target: Operation) -> tuple[Link, ...]:
    """The links that fill every path parameter of ``target`` when its path ends with one
    (an item, not a collection: a lifecycle reads back one resource)."""
    if not path_parameters(target.path) or not target.path.rstrip("/").endswith("}"):
        return ()
    return _filling(links, target)


def _two_step(links: tuple[Link, ...], operations: list[Operation],
              feeds: dict[tuple[str, str], list[Link]]) -> Sequence:
    """Source then target; a source that needs a parent's identifier starts with its parent."""
    source, target = links[0].source, links[0].target
    steps = _opening(source, _role(source), operations, feeds)
    steps.append(SequenceStep(target, _role(target), len(steps) - 1, links))
    roles = " then ".join(step.role for step in steps)
    return Sequence(f"{roles}: {' → '.join(step.operation.label for step in steps)}",
                    tuple(steps))


def _pairs(sequence: Sequence) -> list[tuple[str, str]]:
    steps = sequence.steps
    return [(steps[step.source].operation.label, step.operation.label)
            for step in steps if step.source is not None]


def _role(operation: Operation) -> str:
    return _METHOD_ROLES.get(operation.method, "call")


def _lifecycle_name(steps: list[SequenceStep], path: str) -> str:
    roles = " → ".join(step.role.split("_", 1)[0] for step in steps)
    creates = " → ".join(step.operation.label for step in steps if step.role == "create")
    return f"{roles}: {creates} → {path}"
