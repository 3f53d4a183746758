"""What one request may ask of the API: depth, aliases, tokens, page sizes, and a cost budget.

Cost is counted before anything executes: every field costs 1, and a field that takes ``first``
multiplies what it selects by that page size (a variable without a value counts as the largest
page). The budget is per HTTP request, so operations sent together share it. The answer carries
``extensions.cost`` (requested, budget, remaining), as large public APIs report it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from ler_plugin.pagination import MAX_PAGE

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000
COST_BUDGET = 25_000


def _page_size(field: FieldNode, variables: dict[str, Any], defaults: dict[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(1, int(value.value))
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value, defaults.get(value.name.value))
            return given if isinstance(given, int) and given > 0 else MAX_PAGE
    return 1


def selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    defaults: dict[str, Any],
    seen: frozenset[str] = frozenset(),
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                total += 1
                continue
            inner = selection_cost(selection.selection_set, fragments, variables, defaults, seen)
            total += 1 + _page_size(selection, variables, defaults) * inner
        elif isinstance(selection, InlineFragmentNode):
            total += selection_cost(selection.selection_set, fragments, variables, defaults, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue  # cycles and unknown fragments are validation errors of their own
            total += selection_cost(
                fragments[name].selection_set, fragments, variables, defaults, seen | {name}
            )
    return total


def operation_cost(document: Any, operation_name: str | None, variables: dict[str, Any]) -> int:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    cost = 0
    for operation in chosen[:1] if operation_name or len(chosen) == 1 else chosen:
        defaults = {
            v.variable.name.value: getattr(v.default_value, "value", None)
            for v in operation.variable_definitions or ()
        }
        defaults = {k: int(v) for k, v in defaults.items() if isinstance(v, str) and v.isdigit()}
        cost += selection_cost(operation.selection_set, fragments, variables, defaults)
    return cost


class CostLimit(SchemaExtension):
    """Refuse a request whose operations together cost more than the budget; report the cost."""

    def on_validate(self) -> Iterator[None]:
        # Checked as validation starts (the document is parsed by then): errors set after the
        # validation step would come too late to stop execution.
        self._check()
        yield

    def _check(self) -> None:
        context = self.execution_context
        if context.graphql_document is None:
            return
        cost = operation_cost(
            context.graphql_document, context.operation_name, context.variables or {}
        )
        state = getattr(getattr(context.context, "request", None), "state", None)
        used = getattr(state, "graphql_cost", 0) if state is not None else 0
        self.requested = cost
        self.remaining = COST_BUDGET - used - cost
        if self.remaining < 0:
            context.pre_execution_errors = [
                *(context.pre_execution_errors or []),
                GraphQLError(
                    f"this request would cost {used + cost} points; the budget is {COST_BUDGET}: "
                    "ask for smaller pages or fewer fields",
                    extensions={"code": "cost_exceeded"},
                ),
            ]
            return
        if state is not None:
            state.graphql_cost = used + cost

    def get_results(self) -> dict[str, Any]:
        requested = getattr(self, "requested", None)
        if requested is None:
            return {}
        return {
            "cost": {
                "requested": requested,
                "budget": COST_BUDGET,
                "remaining": max(self.remaining, 0),
            }
        }


def limit_extensions() -> list[Any]:
    return [
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        CostLimit,
    ]
