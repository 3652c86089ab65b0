"""Package the GSM8K copy from ``../shared/data/gsm8k`` as dataset ``gsm8k`` version 1.0.0.

Run once from the repo root: ``python scripts/build_gsm8k.py [SRC]``. The version is
immutable afterwards; this script documents how it was made.
"""

from __future__ import annotations

import sys
from pathlib import Path

from m2m_bench.data import write_version
from m2m_bench.data._readers import read_jsonl

CARD = """# GSM8K (packaged copy)

Grade-school math word problems (Cobbe et al., 2021, "Training Verifiers to Solve Math Word
Problems"), shipped unchanged so that m2m-bench can report GSM8K accuracy offline (the
Motion-R1 paper reports it next to its motion results, Appendix B).

- `question`: the problem; `answer`: worked solution with `<<a*b=c>>` calculator notes,
  ending in `#### <number>`.
- train: 7,473 problems, test: 1,319 problems, identical to the upstream `main` config.
- License: MIT (see `LICENSE`), source repository and commit in `SOURCE.txt`.

```python
import m2m_bench
gsm8k = m2m_bench.load_dataset("gsm8k", split="test")
```

## Citation

```bibtex
@article{cobbe2021gsm8k,
  title={Training Verifiers to Solve Math Word Problems},
  author={Cobbe, Karl and Kosaraju, Vineet and Bavarian, Mohammad and Chen, Mark and Jun, Heewoo
          and Kaiser, Lukasz and Plappert, Matthias and Tworek, Jerry and Hilton, Jacob
          and Nakano, Reiichiro and Hesse, Christopher and Schulman, John},
  journal={arXiv preprint arXiv:2110.14168},
  year={2021}
}
```
"""


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/gsm8k")
    splits = {}
    for split in ("train", "test"):
        records, problems = read_jsonl(src / f"{split}.jsonl")
        if problems:
            raise SystemExit("\n".join(map(str, problems)))
        splits[split] = [{"question": r["question"], "answer": r["answer"]} for r in records]
    folder = write_version(
        "gsm8k",
        "1.0.0",
        splits,
        changelog="First packaged copy of GSM8K (main config), unchanged from upstream.",
        card_body=CARD,
        extra_files={"LICENSE": src / "LICENSE", "SOURCE.txt": src / "SOURCE.txt"},
    )
    print(folder)


if __name__ == "__main__":
    main()
