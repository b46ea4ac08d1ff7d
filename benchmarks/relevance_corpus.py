"""The relevance benchmark's corpus: coding memories, the questions an agent asks, filler.

The hand-written part is data, in benchmarks/data/relevance.json: the notes an
agent keeps while working on seven code bases (a Django web shop, a Rust
log-tailing CLI, a React dashboard, a Go inventory service, an Airflow data
pipeline, Kubernetes/Terraform infrastructure and a developer's own tooling),
plus notes written by colleagues in other languages; the relationships between
them (a fix SOLVES or ADDRESSES what it fixes, …); and the questions, each with
its class, its language and the ids a person would pick (none for a negative).

Classes of questions: keywords (share words with the answer), identifiers
(error names, settings, commands), word forms (other inflections), paraphrase
(other words for the same thing), long questions, task-start questions,
multi-hop (the answer is linked to what the question names, not named itself),
other languages (same-language and cross-language), negatives (nothing in the
store is about them).

    corpus()          -> list[Memory]          the hand-written memories (500+)
    relationships()   -> list[Relationship]    edges between them
    questions()       -> list[Question]        every question with its class
    queries()         -> list[tuple[str, list[str]]]  the questions that have answers
    scaled_corpus(n)  -> Iterator[Memory]      the corpus, then filler up to n memories
    scaled_relationships(n) -> Iterator[Relationship]  edges of the corpus and the filler

Everything is deterministic: the filler comes from a seeded generator whose
topics (game engines, firmware, typesetting, …) never touch what the questions
ask about, so the expected answers stay the right ones at any size.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
)

DATA = Path(__file__).resolve().parent / "data" / "relevance.json"
EPOCH = datetime(2024, 3, 4, 8, 0, 0, tzinfo=UTC)
#: The classes of questions, in the order reports list them.
CLASSES = (
    "keywords",
    "identifiers",
    "word forms",
    "paraphrase",
    "long questions",
    "task-start questions",
    "multi-hop",
    "other languages",
    "negatives",
)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    language: str
    expected: tuple[str, ...]


@cache
def _data() -> tuple[tuple[Memory, ...], tuple[Relationship, ...], tuple[Question, ...]]:
    doc = json.loads(DATA.read_text(encoding="utf-8"))
    return (
        tuple(Memory(**m) for m in doc["memories"]),
        tuple(Relationship(**r) for r in doc["relationships"]),
        tuple(
            Question(q["question"], q["class"], q["language"], tuple(q["expected"]))
            for q in doc["questions"]
        ),
    )


def corpus() -> list[Memory]:
    """The hand-written memories, in a fixed order."""
    return list(_data()[0])


def relationships() -> list[Relationship]:
    """The edges between the hand-written memories (fix → problem, lesson → case, …)."""
    return list(_data()[1])


def questions() -> list[Question]:
    """Every question, negatives included, in the file's order."""
    return list(_data()[2])


def queries() -> list[tuple[str, list[str]]]:
    """The questions that have answers and, for each, the ids that answer it."""
    return [(q.text, list(q.expected)) for q in questions() if q.expected]


def query_languages() -> dict[str, str]:
    """The language of every question that is not in English: question -> ISO 639-1 code."""
    return {q.text: q.language for q in questions() if q.language != "en"}


def _edge(source: str, rel_type: str, target: str, when: datetime) -> Relationship:
    return Relationship(
        id=f"{source}--{rel_type.lower()}--{target}",
        from_id=source,
        to_id=target,
        type=RelationshipType(rel_type),
        strength=0.8,
        confidence=0.9,
        created_at=when,
    )


# Filler: plausible notes from projects none of the queries is about (game engines,
# firmware, typesetting, scientific code, …). They share everyday words with the
# queries ("fix", "slow", "crash", "error") but never the subject, so they compete
# for rank without ever being a right answer.
# Each family: subjects (name, language, project path) and symptoms (what, detail) that fit them.
_FILLER_FAMILIES: list[tuple[list[tuple[str, str, str]], list[tuple[str, str]]]] = [
    (
        [
            ("Godot scene loader", "gdscript", "/home/dev/games/skyfarm"),
            ("Unity physics step", "csharp", "/home/dev/games/kart"),
            ("GLSL water shader", "glsl", "/home/dev/games/kart"),
            ("Blender geometry nodes setup", "blender", "/home/dev/renders"),
            ("PICO-8 platformer cartridge", "lua", "/home/dev/games/pico"),
            ("Game Boy emulator PPU", "zig", "/home/dev/emulator"),
        ],
        [
            ("drops frames when the camera turns quickly", "frame time jumps from 8 ms to 40 ms"),
            ("renders black on older graphics cards", "the log shows a precision warning"),
            (
                "makes sprites flicker at the screen edge",
                "only objects crossing x = 0 are affected",
            ),
            ("lets the player fall through the floor", "happens at high speed on sloped tiles"),
        ],
    ),
    (
        [
            ("Arduino soil sensor sketch", "cpp", "/home/dev/garden"),
            ("STM32 bootloader", "c", "/home/dev/firmware/bootloader"),
            ("ESP32 MQTT thermostat", "c", "/home/dev/firmware/thermostat"),
            ("VHDL FIFO buffer", "vhdl", "/home/dev/fpga"),
            ("Verilog UART receiver", "verilog", "/home/dev/fpga"),
        ],
        [
            ("resets when the battery is low", "brown-out resets every few minutes"),
            (
                "loses the last few bytes of every transfer",
                "the receiver counts fewer bytes than were sent",
            ),
            ("fails its test bench at high clock speed", "setup violations in the timing report"),
            (
                "reads garbage from the sensor after wake-up",
                "the first sample after sleep is always 0xFF",
            ),
        ],
    ),
    (
        [
            ("Fortran heat equation solver", "fortran", "/home/dev/sim"),
            ("MATLAB bandpass filter", "matlab", "/home/dev/audio-lab"),
            ("Julia ODE integrator", "julia", "/home/dev/sim"),
            ("R ggplot2 survey figure", "r", "/home/dev/survey"),
        ],
        [
            (
                "gives slightly different results on each machine",
                "the last digits differ between laptops",
            ),
            ("diverges for small step sizes", "values blow up after a few hundred steps"),
            ("produces shifted output after resampling", "every value is shifted by one position"),
            ("needs hours for the fine grid", "the coarse grid takes a minute"),
        ],
    ),
    (
        [
            ("Elixir GenServer registry", "elixir", "/home/dev/chat"),
            ("Phoenix LiveView chat room", "elixir", "/home/dev/chat"),
            ("Haskell parser combinators", "haskell", "/home/dev/calc"),
            ("OCaml dune workspace", "ocaml", "/home/dev/typechecker"),
            ("Prolog route planner", "prolog", "/home/dev/planner"),
            ("COBOL payroll batch", "cobol", "/home/dev/legacy-payroll"),
            ("SwiftUI watch complication", "swift", "/home/dev/watch-app"),
        ],
        [
            ("hangs on the second launch", "nothing is printed after the splash step"),
            (
                "rejects valid input with a parse error",
                "the error points at the last character of the line",
            ),
            ("uses twice the expected RAM", "usage grows steadily while idle"),
            ("is slow to compile after the refactor", "full builds went from 40 s to 4 minutes"),
        ],
    ),
    (
        [
            ("LaTeX thesis build", "latex", "/home/dev/thesis"),
            ("BibLaTeX bibliography", "latex", "/home/dev/thesis"),
        ],
        [
            ("needs three passes to settle the references", "page numbers in the index are off"),
            ("prints question marks instead of citations", "the log says the entry is undefined"),
            ("puts figures at the end of the chapter", "float placement ignores [htbp]"),
        ],
    ),
]
_FILLER_CAUSES: list[str] = [
    "an off-by-one in the ring index",
    "a float compared for equality",
    "the interrupt handler doing too much work",
    "an uninitialised variable that happened to be zero in debug builds",
    "a recursive call without a depth limit",
    "the wrong endianness when packing the header",
    "a stale generated file that the build did not clean",
    "integer overflow in an intermediate product",
    "two modules each keeping their own copy of the settings",
    "a busy-wait loop starving the other task",
]
_FILLER_ACTIONS: list[str] = [
    "rewrote the loop to use a half-open range and added an assertion",
    "compared with a tolerance instead of exact equality",
    "moved the work out of the interrupt into the main loop with a flag",
    "initialised the variable explicitly and turned on the compiler warning",
    "replaced the recursion with an explicit stack",
    "packed the header field by field in network byte order",
    "added the generated file to the clean target",
    "widened the intermediate to 64 bits",
    "kept one settings object and passed it down",
    "replaced the busy-wait with a blocking wait on an event",
]


def filler(count: int, start: int = 0, seed: int = 1729) -> Iterator[Memory]:
    """`count` filler memories, numbered from `start`, in (problem, fix) pairs.

    The sequence for a given seed is fixed: memory k is always the same, however
    many are asked for.
    """
    for k in range(start, start + count):
        yield _filler_memory(k, seed)


def _filler_memory(k: int, seed: int) -> Memory:
    pair = k // 2
    rng = random.Random(seed * 1_000_003 + pair)
    subjects, symptoms = rng.choice(_FILLER_FAMILIES)
    subject, language, path = rng.choice(subjects)
    symptom, detail = rng.choice(symptoms)
    c = rng.randrange(len(_FILLER_CAUSES))
    version = f"{rng.randrange(1, 9)}.{rng.randrange(0, 20)}"
    created = EPOCH + timedelta(days=400, seconds=97 * k)
    context = MemoryContext(project_path=path, languages=[language])
    tag = subject.split()[0].lower()
    if k % 2 == 0:
        return Memory(
            id=f"filler-{k:06d}",
            type=MemoryType.PROBLEM,
            title=f"{subject} {symptom} (v{version})",
            content=f"Since v{version} the {subject} {symptom}; {detail}. "
            f"Suspect {_FILLER_CAUSES[c]}.",
            tags=[tag, language, "bug"],
            importance=round(rng.uniform(0.2, 0.8), 2),
            created_at=created,
            context=context,
        )
    return Memory(
        id=f"filler-{k:06d}",
        type=MemoryType.FIX,
        title=f"{subject}: {_FILLER_ACTIONS[c]}",
        content=f"The {subject} problem in v{version} came from {_FILLER_CAUSES[c]}. "
        f"We {_FILLER_ACTIONS[c]}; verified on the bench.",
        tags=[tag, language, "fix"],
        importance=round(rng.uniform(0.2, 0.8), 2),
        created_at=created,
        context=context,
    )


def scaled_corpus(n: int) -> Iterator[Memory]:
    """The whole corpus, then filler memories until there are `n` in all.

    The corpus is never cut: when `n` is smaller than the corpus, all of it is
    yielded (so every expected answer exists at every size).
    """
    base = corpus()
    yield from base
    yield from filler(max(0, n - len(base)))


def scaled_relationships(n: int) -> Iterator[Relationship]:
    """The corpus's relationships, then one SOLVES edge per complete filler pair."""
    yield from relationships()
    count = max(0, n - len(corpus()))
    for k in range(0, count - 1, 2):
        yield _edge(f"filler-{k + 1:06d}", "SOLVES", f"filler-{k:06d}", EPOCH + timedelta(days=500))
