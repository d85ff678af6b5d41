"""The coder's resident memory over a long stream of varied comments.

    .venv/bin/python scripts/perf/coding_memory.py [--comments 200000] [--every 20000]
    PYTHONPATH=/tmp/old/services/router .venv/bin/python scripts/perf/coding_memory.py

The whole-stack bench posts one comment over and over, so whatever the coder keeps per distinct
word never grows there; real traffic brings new words all the time (order numbers, names,
misspellings). This codes, as the router does (the rules and the fast model, in batches of
200), the non-blind labelled comments once (``blind.jsonl`` is never opened), then comments
drawn from them and varied the way real ones vary: a letter pair swapped in one word of half of
them, and an order number, a ticket number or an agent's name added to some. Every ``--every``
comments it prints the process's RSS, its CPU seconds so far and the size of each per-word
cache. Put another tree's ``services/router`` first on ``PYTHONPATH`` to measure it
(docs/performance.md, section 36); the stream is the same for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
from collections.abc import Iterator
from datetime import UTC, datetime

from winback_router.coding import code_responses
from winback_router.coding.compiler import KeywordIndex, load_and_compile
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import FAST_MODEL
from winback_router.coding.word_features import WordFeatures
from winback_shared.survey import Score, ScoreKind, SurveyResponse

NOT_READ = ("blind.jsonl", "second-readings.jsonl")
"""The blind set, never opened; the second readings hold codes, no texts."""
BATCH = 200
AGENTS = ("Sam", "Priya", "Jürgen", "Olu", "Mei", "Carlos", "Anna", "Tom")
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)


def labelled_texts() -> list[str]:
    """Every comment of the labelled files but the blind set's, in file order."""
    return [
        example.text
        for path in sorted(DEFAULT_DATA.glob("*.jsonl"))
        if path.name not in NOT_READ
        for example in load_examples(path)
    ]


def varied(text: str, rnd: random.Random) -> str:
    """``text`` with a misspelling half the time and sometimes a number or a name."""
    words = text.split()
    if words and rnd.random() < 0.5:
        i = rnd.randrange(len(words))
        word = words[i]
        if len(word) > 3:
            j = rnd.randrange(len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    extra = rnd.choice(
        [
            "",
            "",
            f" order {rnd.randrange(10**7)}",
            f" ticket #{rnd.randrange(10**6)}",
            f" {rnd.choice(AGENTS)} was the agent",
        ]
    )
    return " ".join(words) + extra


def stream(texts: list[str], count: int, seed: int) -> Iterator[str]:
    """The labelled comments once, then varied ones, ``count`` in all."""
    rnd = random.Random(seed)
    for n in range(count):
        yield texts[n] if n < len(texts) else varied(rnd.choice(texts), rnd)


def rss_mb() -> float:
    """The process's resident memory now (``getrusage`` gives only its peak)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cache_sizes() -> str:
    """Entries of every per-word cache alive: the models' words, the keyword index's."""
    words = [len(o._cache) for o in gc.get_objects() if isinstance(o, WordFeatures)]
    keywords = [len(o.cache) for o in gc.get_objects() if isinstance(o, KeywordIndex)]
    return f"word features {words}, keyword first words {keywords}"


def main() -> None:
    """Code the stream and print memory as it goes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=200_000)
    parser.add_argument("--every", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    texts = labelled_texts()
    print(f"{len(texts):,} labelled comments; RSS {rss_mb():.1f} MB before the coder")
    taxonomy = load_and_compile(model=FAST_MODEL)
    print(f"RSS {rss_mb():.1f} MB with the rules and the fast model loaded ({FAST_MODEL.name})")
    started = resource.getrusage(resource.RUSAGE_SELF)
    batch: list[SurveyResponse] = []
    for n, text in enumerate(stream(texts, args.comments, args.seed), start=1):
        batch.append(
            SurveyResponse(
                response_id=f"m{n}",
                comment=text,
                scores=[Score(kind=ScoreKind.NPS, value=n % 11)],
                source="memory",
                vendor="generic",
                receipt_id=f"m{n}",
                received_at=RECEIVED,
            )
        )
        if len(batch) == BATCH or n == args.comments:
            code_responses(batch, taxonomy)
            batch = []
        if n % args.every == 0:
            now = resource.getrusage(resource.RUSAGE_SELF)
            cpu = now.ru_utime + now.ru_stime - started.ru_utime - started.ru_stime
            print(
                f"{n:>9,} comments  RSS {rss_mb():6.1f} MB  CPU {cpu:6.1f} s  {cache_sizes()}",
                flush=True,
            )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")


if __name__ == "__main__":
    main()
