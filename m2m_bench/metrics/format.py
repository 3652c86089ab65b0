"""Format metrics (task ``format``, paper eq. 9): XML validity, tree similarity and R_format.

``Ψ(r)`` is the element tree of output ``r`` as :func:`m2m_bench.response.parse_response`
reads it (tags only, text left out; recovered from malformed outputs). ``Ψ*`` is the tree of
the canonical rendering of the reference record, ``render_response(a*, R*)``, which has a
``<think>`` and one ``<skill>`` per reference skill. Both are forests under a virtual root.

The tree edit distance is Zhang-Shasha's with unit costs (insert, delete, relabel: 1 each),
computed by ``edist`` (Cython); ``zss`` computes the same number and is used in the tests.
"""

from __future__ import annotations

from functools import lru_cache

from edist.ted import standard_ted

from ..response import Tree, parse_response, render_response
from ._batch import Batch, Item
from ._registry import register_metric


def to_edist(tree: Tree) -> tuple[list[str], list[list[int]]]:
    """``(nodes, adjacency)`` in depth-first preorder, the input ``edist`` expects."""
    nodes: list[str] = []
    adj: list[list[int]] = []
    stack: list[tuple[Tree, int]] = [(tree, -1)]
    while stack:
        (label, children), parent = stack.pop()
        i = len(nodes)
        nodes.append(label)
        adj.append([])
        if parent >= 0:
            adj[parent].append(i)
        stack.extend((c, i) for c in reversed(children))
    return nodes, adj


def tree_size(tree: Tree) -> int:
    """Number of nodes of ``tree``, root included."""
    return 1 + sum(tree_size(c) for c in tree[1])


@lru_cache(maxsize=65536)
def tree_edit_distance(a: Tree, b: Tree) -> int:
    """Unit-cost tree edit distance between two trees (edist's ``standard_ted``)."""
    return int(standard_ted(*to_edist(a), *to_edist(b)))


def tree_similarity(pred: Tree, ref: Tree) -> float:
    """S_tree = max(0, 1 - TED(Ψ, Ψ*) / max(|Ψ|, |Ψ*|)), sizes without the virtual root.

    Both trees must share their root label (the virtual root), so the distance is the forest
    edit distance of the top-level elements. Two empty forests are identical (1).
    """
    n = max(tree_size(pred), tree_size(ref)) - 1
    if n == 0:
        return 1.0
    return max(0.0, 1.0 - tree_edit_distance(pred, ref) / n)


@lru_cache(maxsize=256)
def reference_tree(n_skills: int) -> Tree:
    """Ψ*: the tree of the canonical rendering of a reference with ``n_skills`` skills."""
    return parse_response(render_response("a", [f"s{i}" for i in range(n_skills)])).tree


def _ref_tree(it: Item) -> Tree:
    return reference_tree(len(it.ref_skills))


@register_metric("format.valid", task="format", version="1")
def xml_valid(it: Item, batch: Batch) -> float:
    """I_XML-valid = 1 when the output follows the response format exactly (well-formed XML
    that matches the grammar of ``m2m_bench.response``), else 0."""
    return 1.0 if it.parsed.valid else 0.0


@register_metric("format.tree_sim", task="format", version="1")
def tree_sim(it: Item, batch: Batch) -> float:
    """S_tree(Ψ(r), Ψ*) = max(0, 1 - TED(Ψ(r), Ψ*) / max(|Ψ(r)|, |Ψ*|)), unit-cost TED,
    node counts without the virtual root; 0 when nothing element-like was found."""
    return tree_similarity(it.parsed.tree, _ref_tree(it))


@register_metric("format.r_format", task="format", version="1")
def r_format(it: Item, batch: Batch) -> float:
    """R_format = ½·I_XML-valid + ½·S_tree(Ψ(r), Ψ*)  (paper eq. 9), in [0, 1]."""
    return 0.5 * xml_valid(it, batch) + 0.5 * tree_sim(it, batch)
