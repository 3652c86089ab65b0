"""The shipped lm-eval task YAMLs load with ``--include_path`` and score like the harness."""

import pytest

from m2m_bench.lm_eval_tasks import M2M_TASKS, PATH
from m2m_bench.models import Model
from m2m_bench.prompts import build_messages
from m2m_bench.response import render_response


@pytest.fixture(scope="module")
def task_manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=PATH, include_defaults=False, metadata={"dataset_version": "0.1.0"})


def test_tasks_and_group_are_found(task_manager):
    names = set(task_manager.all_tasks)
    assert {*M2M_TASKS, "m2m", "m2m_gsm8k"} <= names


def test_documents_carry_the_canonical_prompt(task_manager, seed_records):
    from lm_eval.tasks import get_task_dict

    records, _ = seed_records
    task = get_task_dict(["m2m_action"], task_manager)["m2m_action"]
    docs = list(task.test_docs())
    assert [d["id"] for d in docs] == [r["id"] for r in records]
    system, user = build_messages(records[0]["conversation"])
    assert task.doc_to_text(docs[0]) == user["content"]
    assert docs[0]["m2m_system"] == system["content"]


class ReferenceAnswerer(Model):
    """Answers each M2M prompt with the reference record's canonical response."""

    spec, name, revision = "test:reference", "reference", "1"

    def __init__(self, records):
        self.records = records
        self.prompts = []

    def generate(self, batch, **gen):
        out = []
        for msgs in batch:
            self.prompts.append(msgs)
            rec = next(r for r in self.records if r["conversation"].strip() in msgs[-1]["content"])
            out.append(render_response(rec["action"], rec["skills"]))
        return out


def test_m2m_tasks_through_lm_eval(task_manager, seed_records, tmp_path):
    from lm_eval import simple_evaluate

    from m2m_bench._cache import GenerationCache
    from m2m_bench.gsm8k import _lm_class

    records, _ = seed_records
    model = ReferenceAnswerer(records)
    lm = _lm_class()(model, cache=GenerationCache(tmp_path / "c.sqlite"))
    res = simple_evaluate(model=lm, tasks=["m2m"], limit=2, task_manager=task_manager, apply_chat_template=True,
                          bootstrap_iters=0, verbosity="ERROR")
    r = res["results"]
    assert r["m2m_format"]["valid,none"] == 1.0 and r["m2m_format"]["tree_sim,none"] == 1.0
    assert r["m2m_action"]["ss,none"] == pytest.approx(1.0, abs=1e-4)
    assert r["m2m_skills"]["jaccard,none"] == 1.0 and r["m2m_skills"]["recall,none"] == 1.0
    # the system message is the task description: lm-eval sends our canonical prompt
    assert model.prompts[0] == build_messages(records[0]["conversation"]) or model.prompts[0] == build_messages(records[1]["conversation"])
    # the three tasks send the same prompts: generated once, then served from our cache
    assert lm.generated == 2 and lm.cached == 4
