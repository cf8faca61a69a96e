"""The ``stateful`` phase: sequences of calls that pass real values from one to the next.

``generation.links`` finds the links (the document's own, and inferred ones: a Location
header, an ``id`` field feeding ``{bookId}``) and plans the sequences: create, read, update,
read, delete, read again, and every other link as a two-step sequence. Each step starts
from the operation's valid base case and takes the linked values from the earlier
responses. Two steps are checks of their own: a read right after a create
(``ensure_resource_availability``) and a read right after a delete (``use_after_free``).
A sequence stops when a create, update or delete does not succeed: what follows would be
meaningless (a read after a failed delete is no use-after-free). A failed read does not stop
it: the later steps take their values from the create, not from the read. Every finding lists the earlier requests of its sequence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from ..core.events import Event, RunWarning
from ..core.records import PARAMETER_FIELDS, Case, Exchange
from ..generation.cases import base_case
from ..generation.links import Link, link_values
from ..generation.minimal import CannotGenerate
from ..generation.sequences import Sequence, SequenceStep, plan_sequences
from ..specs.model import Operation
from .executor import Executor

STATE_CHANGING = ("create", "update", "delete")
PROBES = {"read_after_create": "read_after_create", "read_after_delete": "read_after_delete"}


def linked_case(base: Case, values: dict[tuple[str, str], Any]) -> Case:
    """``base`` with the values a link gives (``("path", "bookId") -> 7``) put in place."""
    changes: dict[str, Any] = {}
    for (location, name), value in values.items():
        if location == "body":
            changes["body"] = value
            continue
        slot = PARAMETER_FIELDS.get(location)
        if slot is None:
            continue
        changes.setdefault(slot, dict(getattr(base, slot)))[name] = value
    return replace(base, **changes)


async def stateful_events(executor: Executor, operations: list[Operation],
                          links: list[Link]) -> AsyncIterator[Event]:
    """Run every planned sequence whose operations all pass the run's filters; ``links``
    are the whole document's (the run found them once, for the identifier pool too)."""
    selected = {op.label for op in operations}
    sequences = plan_sequences(executor.spec.operations, links)
    for sequence in sequences:
        if all(step.operation.label in selected for step in sequence.steps):
            async for event in sequence_events(executor, sequence):
                yield event


async def sequence_events(executor: Executor, sequence: Sequence) -> AsyncIterator[Event]:
    """The events of one sequence, step by step, until a step does not succeed."""
    exchanges: list[Exchange] = []
    cases: list[Case] = []
    for step in sequence.steps:
        operation = step.operation
        try:
            case = base_case(operation, executor.spec.registry, "stateful")
        except CannotGenerate as exc:
            yield RunWarning(f"{sequence.name}: stopped at {operation.label}: {exc}",
                             operation.label)
            return
        if step.source is not None:
            values = _linked_values(step, exchanges, cases)
            if values is None:
                return  # the response lacks what the links need: nothing to test further
            case = linked_case(case, values)
        case = replace(case, probe=PROBES.get(step.role), source=sequence.name)
        event = await executor.run(operation, case, previous=exchanges)
        yield event
        response = event.exchange.response
        succeeded = response is not None and 200 <= response.status < 300
        if not succeeded and step.role in STATE_CHANGING:
            return
        exchanges.append(event.exchange)
        cases.append(case)


def _linked_values(step: SequenceStep, exchanges: list[Exchange], cases: list[Case]
                   ) -> dict[tuple[str, str], Any] | None:
    """The values of the first of the step's links that the source response satisfies."""
    found = exchanges[step.source]
    for link in step.links:
        values = link_values(link, found.request, cases[step.source], found.response)
        if values is not None:
            return values
    return None
