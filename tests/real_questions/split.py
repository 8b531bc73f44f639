"""Assign every source of the collected real questions to a part: test, dev or train.

By web site (domain), so one site never feeds two parts; sites in the order of the SHA-256 of
their name: the first ones to the test part until it holds 30% of the questions, the next ones to
the dev part until it holds another 35%, the rest to the train part. The order is fixed by the
names alone, so no one chooses which questions are tested.

- test: only ever scored; never read to write training phrasings, answers or patterns.
- dev: scored, and read to find what is missing (development), but never trained on.
- train: development questions that also become training phrasings
  (``bot/data/nlu/real_questions.yml``, written by ``export_training.py``).

Run after new questions are collected (``python tests/real_questions/split.py``); it rewrites
``part:``.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).parent
TEST_SHARE = 0.30
DEV_SHARE = 0.35


def domain(url: str) -> str:
    return url.split("/")[2].lower().removeprefix("www.")


def main() -> None:
    files = sorted((HERE / "collected").glob("*.yml"))
    raws = {path: yaml.safe_load(path.read_text("utf-8")) for path in files}
    counts: Counter[str] = Counter()
    for raw in raws.values():
        urls = {s["id"]: s["url"] for s in raw["sources"]}
        counts.update(domain(urls[q["source"]]) for q in raw["questions"])
    total = sum(counts.values())
    part_of: dict[str, str] = {}
    taken = 0
    for name in sorted(counts, key=lambda d: hashlib.sha256(d.encode()).hexdigest()):
        if taken < TEST_SHARE * total:
            part_of[name] = "test"
        elif taken < (TEST_SHARE + DEV_SHARE) * total:
            part_of[name] = "dev"
        else:
            part_of[name] = "train"
        taken += counts[name]
    for path, raw in raws.items():
        # Rewrite in place, keeping the file's comments and layout: `part:` follows each `id:`.
        text = re.sub(r"(?m)^ *part: \w+\n", "", path.read_text("utf-8"))
        for source in raw["sources"]:
            part = part_of[domain(source["url"])]
            id_line = re.compile(rf"(?m)^( *)(- id: {re.escape(source['id'])}[ \t]*(?:#.*)?\n)")
            text = id_line.sub(
                lambda m, p=part: f"{m.group(1)}{m.group(2)}{m.group(1)}  part: {p}\n",
                text,
                count=1,
            )
        path.write_text(text, "utf-8")
    sizes = Counter(part_of[d] for d in counts.elements())
    print(
        f"{total} questions: " + ", ".join(f"{p} {n} ({n / total:.0%})" for p, n in sizes.items())
    )


if __name__ == "__main__":
    main()
