"""graphql-core's execution with the fields a query selects under each object collected once
per parsed document instead of once per request.

For every object in an answer (a coverage, its grid, its building...) graphql-core collects
the fields the query selects inside it: it walks the selection sets, spreads the fragments
and weighs @include and @skip, every request again, about a twentieth of a point coverage
request's CPU. In a document without any directive on its selections (@include, @skip,
@defer) and without fragment arguments, what it collects depends only on the document and
the object type, so `Execution` keeps it with the document's field nodes (documents are
cached by query text: schema.common.limits) and later requests reuse it. A document with a
directive is collected per request, as graphql-core does.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

#: Entries kept at most in each table below; a table is emptied when full, so a stream of
#: unique queries cannot grow it.
MAX_KEPT = 4096
#: (object type, ids of the field nodes) → the nodes (so that their ids stay theirs) and what
#: was collected inside them.
_COLLECTED: dict[tuple[Any, ...], tuple[tuple[FieldNode, ...], CollectedFields]] = {}
#: id of an operation → the operation and whether its collection depends on nothing but it.
_STATIC: dict[int, tuple[OperationDefinitionNode, bool]] = {}


class Execution(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, collecting sub-fields once per document (above)."""

    def collect_subfields(self, return_type: GraphQLObjectType,
                          field_details_list: FieldDetailsList) -> CollectedFields:
        if not _static(self.operation, self.fragment_definitions):
            return super().collect_subfields(return_type, field_details_list)
        nodes = tuple(details.node for details in field_details_list)
        key = (return_type, *map(id, nodes))
        kept = _COLLECTED.get(key)
        if kept is None or any(a is not b for a, b in zip(kept[0], nodes, strict=True)):
            if len(_COLLECTED) >= MAX_KEPT:
                _COLLECTED.clear()
            kept = (nodes, super().collect_subfields(return_type, field_details_list))
            _COLLECTED[key] = kept
        return kept[1]


def _static(operation: OperationDefinitionNode,
            fragments: dict[str, FragmentDefinitionNode]) -> bool:
    """Whether no selection of the operation or of the document's fragments has a directive
    or fragment arguments (remembered per operation node)."""
    kept = _STATIC.get(id(operation))
    if kept is None or kept[0] is not operation:
        if len(_STATIC) >= MAX_KEPT:
            _STATIC.clear()
        sets = [operation.selection_set, *(f.selection_set for f in fragments.values())]
        kept = (operation, not any(_dynamic(s) for s in sets))
        _STATIC[id(operation)] = kept
    return kept[1]


def _dynamic(selection_set: SelectionSetNode) -> bool:
    """Whether anything inside `selection_set` has a directive or fragment arguments."""
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            spread_arguments = isinstance(selection, FragmentSpreadNode) and getattr(
                selection, "arguments", None)
            if selection.directives or spread_arguments:
                return True
            if isinstance(selection, FieldNode | InlineFragmentNode) and \
                    selection.selection_set is not None:
                pending.append(selection.selection_set)
    return False
