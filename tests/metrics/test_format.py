"""Format metrics: tree edit distance (edist == zss), tree similarity and R_format (eq. 9)."""

from __future__ import annotations

import random

import pytest
import zss
from hypothesis import given, settings
from hypothesis import strategies as st

from m2m_bench.metrics import score_task
from m2m_bench.metrics.format import (
    reference_tree,
    to_edist,
    tree_edit_distance,
    tree_similarity,
    tree_size,
)
from m2m_bench.response import ROOT_LABEL, parse_response, render_response


def zss_distance(a, b) -> int:
    def node(t):
        n = zss.Node(t[0])
        for c in t[1]:
            n.addkid(node(c))
        return n

    return int(zss.simple_distance(node(a), node(b), label_dist=lambda x, y: 0 if x == y else 1))


def trees(max_leaves: int = 10):
    labels = st.sampled_from("abc")
    return st.recursive(
        st.builds(lambda lab: (lab, ()), labels),
        lambda kids: st.builds(lambda lab, cs: (lab, tuple(cs)), labels, st.lists(kids, max_size=3)),
        max_leaves=max_leaves,
    )


@settings(max_examples=200, deadline=None)
@given(trees(), trees())
def test_edist_equals_zss_on_random_trees(a, b):
    assert tree_edit_distance(a, b) == zss_distance(a, b)


def test_edist_equals_zss_on_larger_seeded_trees():
    rng = random.Random(7)

    def grow(n):
        nodes = [[rng.choice("abcd"), []]]
        for _ in range(n - 1):
            child = [rng.choice("abcd"), []]
            rng.choice(nodes)[1].append(child)
            nodes.append(child)

        def freeze(x):
            return (x[0], tuple(freeze(c) for c in x[1]))

        return freeze(nodes[0])

    for _ in range(15):
        a, b = grow(rng.randint(1, 30)), grow(rng.randint(1, 30))
        assert tree_edit_distance(a, b) == zss_distance(a, b)


def test_to_edist_is_preorder():
    nodes, adj = to_edist(("r", (("a", (("b", ()),)), ("c", ()))))
    assert nodes == ["r", "a", "b", "c"] and adj == [[1, 3], [2], [], []]


def test_ted_by_hand():
    t = ("r", (("a", ()), ("b", (("c", ()),))))
    assert tree_edit_distance(t, t) == 0
    assert tree_edit_distance(t, ("r", (("a", ()), ("x", (("c", ()),))))) == 1  # relabel b -> x
    assert tree_edit_distance(t, ("r", (("a", ()), ("b", (("c", ()), ("d", ())))))) == 1  # insert d
    assert tree_edit_distance(t, ("r", ())) == 3  # delete a, b, c


def test_reference_tree_is_the_canonical_rendering():
    assert reference_tree(2) == (
        ROOT_LABEL,
        (("think", ()), ("answer", (("action", ()), ("skills", (("skill", ()), ("skill", ())))))),
    )
    assert tree_size(reference_tree(3)) == 1 + 4 + 3


def test_tree_similarity_by_hand():
    ref = reference_tree(2)  # 6 nodes below the root
    no_think = parse_response("<answer><action>a</action><skills><skill>s</skill><skill>t</skill></skills></answer>").tree
    assert tree_similarity(ref, ref) == 1.0
    assert tree_similarity(no_think, ref) == pytest.approx(1 - 1 / 6)
    assert tree_similarity((ROOT_LABEL, ()), ref) == 0.0
    assert tree_similarity((ROOT_LABEL, ()), (ROOT_LABEL, ())) == 1.0
    # a chain of 7 unknown elements: every node relabelled or moved; 1 - TED/7 would be < 0
    chain = parse_response("<a><b><c><d><e><f><g/></f></e></d></c></b></a>").tree
    assert tree_edit_distance(chain, ref) > 7
    assert tree_similarity(chain, ref) == 0.0


def test_format_metrics_by_hand(make_rec):
    recs = [make_rec(skills=["kick the door", "run", "hide"])] * 5  # reference: 7 nodes
    outs = [
        render_response("kicks the door", ["kick the door"]),  # valid; 2 skills fewer -> TED 2
        render_response("kicks the door", ["kick the door", "run", "hide"], think="because"),  # identical tree
        "<answer><action>kicks</action><skills><skill>run</skill>",  # unclosed: 4 nodes, TED 3
        "The person kicks the door.",  # no elements
        "",  # empty output
    ]
    rows = score_task("format", outs, recs)
    assert rows[0] == {"format.valid": 1.0, "format.tree_sim": pytest.approx(5 / 7), "format.r_format": pytest.approx(0.5 + 0.5 * 5 / 7)}
    assert rows[1] == {"format.valid": 1.0, "format.tree_sim": 1.0, "format.r_format": 1.0}
    assert rows[2] == {"format.valid": 0.0, "format.tree_sim": pytest.approx(4 / 7), "format.r_format": pytest.approx(2 / 7)}
    assert rows[3] == rows[4] == {"format.valid": 0.0, "format.tree_sim": 0.0, "format.r_format": 0.0}


def test_format_unicode_text_does_not_change_the_tree(make_rec):
    rows = score_task("format", [render_response("人が ドアを 開ける", ["踊る"])], [make_rec(skills=["踊る"])])
    assert rows[0]["format.r_format"] == 1.0
