import pytest

from m2m_bench.data import write_version
from m2m_bench.models import load_model
from m2m_bench.response import parse_response


@pytest.fixture
def version(data_root, record_factory):
    train = [
        record_factory("t-door", conversation="The door is jammed and smoke is coming under it; we must get out now.",
                       action="a person kicks the jammed door open.", skills=["kick the door"]),
        record_factory("t-ball", conversation="The ball is rolling toward the road and the child is chasing it.",
                       action="a person grabs the child's arm and steps onto the kerb.", skills=["grab an arm", "step forward"]),
        record_factory("t-shelf", conversation="The box of plates on the top shelf is too high for her to reach.",
                       action="a person climbs the step stool and lifts the box down.", skills=["climb a stool", "lift a box"]),
    ]
    test = [
        record_factory("x-ball", conversation="A little boy runs after his ball, which is heading into the street."),
        record_factory("x-shelf", conversation="She cannot reach the plates stored on the highest shelf."),
    ]
    write_version("m2m", "9.0.0", {"train": train, "test": test}, root=data_root, changelog="t", card_body="t")
    return "9.0.0"


def test_retrieval_answers_with_the_nearest_train_record(version):
    m = load_model("baseline:retrieval", dataset="m2m", version=version)
    assert m.revision.startswith(f"m2m@{version}/train:") and not m.cacheable
    recs = [{"id": "x-ball", "conversation": "A little boy runs after his ball, which is heading into the street."},
            {"id": "x-shelf", "conversation": "She cannot reach the plates stored on the highest shelf."}]
    outs = m.predict(recs, [[], []])
    assert m.last_neighbours == ["t-ball", "t-shelf"]
    p = parse_response(outs[0])
    assert p.valid and p.action == "a person grabs the child's arm and steps onto the kerb."
    assert list(p.skills) == ["grab an arm", "step forward"]


def test_retrieval_excludes_the_record_itself(version):
    m = load_model("baseline:retrieval", dataset="m2m", version=version)
    rec = {"id": "t-door", "conversation": "The door is jammed and smoke is coming under it; we must get out now."}
    idx = m.neighbours([rec])
    assert m.train_ids[idx[0]] != "t-door"
    # a different id with the same text finds the text itself
    assert m.train_ids[m.neighbours([{**rec, "id": "other"}])[0]] == "t-door"
