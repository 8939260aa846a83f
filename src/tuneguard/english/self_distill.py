"""Self-distilled benign answers for alignment: the model's own greedy answers replace the written ones.

What: :func:`self_distill` regenerates the assistant turn of every benign row (look-alikes,
instructions, user-file rows) with the model being aligned; harmful -> refusal rows are left as
they are. Alignment then changes the model only where it must (refuse harmful requests) and
trains on its own distribution everywhere else.

Why: fine-tuning on answers written in another style than the model's own drifts its benign
behaviour; training on the model's own responses to the task prompts closes that gap
(Yang et al. 2024, "Self-Distillation Bridges Distribution Gap in Language Model Fine-Tuning",
SDFT). On SmolLM2-135M the written benign answers taught "question -> refuse" and cost benign
ability (docs/results.md section 5).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from tuneguard.data.chat import ChatExample, EvalItem

#: row kinds whose answers are regenerated (everything but the refusals)
BENIGN_KINDS = frozenset({"lookalike", "instruction", "user_benign"})
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def trim_answer(text: str, truncated: bool, min_chars: int) -> str | None:
    """The answer cut at its last full sentence when generation hit the token limit; None if too short."""
    text = text.strip()
    if truncated:
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        text = text[: ends[-1]] if ends else ""
    return text if len(text) >= min_chars else None


def self_distill(model: str | Path, rows: Sequence[ChatExample], max_new_tokens: int = 96, batch_size: int = 32,
                 min_chars: int = 8, progress: bool = True, model_obj=None,
                 tokenizer=None) -> tuple[list[ChatExample], dict]:
    """``rows`` with each benign row's answer replaced by ``model``'s greedy answer; and counts.

    Only the final assistant turn is regenerated (earlier turns of a multi-turn row stay as written).

    A generation that hits ``max_new_tokens`` is cut at its last full sentence; one that ends
    shorter than ``min_chars`` (empty, or a fragment) keeps the written answer. Refusal rows and
    rows of other kinds pass through unchanged, in the same order.
    """
    from tuneguard.audit.generate import generate_responses
    from tuneguard.models import load_model, load_tokenizer

    todo = [i for i, ex in enumerate(rows) if ex.meta.get("kind") in BENIGN_KINDS]
    stats = {"rows": len(todo), "distilled": 0, "kept_written": 0, "truncated": 0}
    if not todo:
        return list(rows), stats
    tokenizer = tokenizer or load_tokenizer(model)
    model_obj = model_obj or load_model(model)
    items = [EvalItem(f"distill-{i}", tuple(rows[i].prompt_messages), "benign") for i in todo]
    answers = generate_responses(model_obj, tokenizer, items, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                 progress=progress, description="self-distil benign answers")
    out = list(rows)
    for i, text in zip(todo, answers):
        truncated = len(tokenizer(text, add_special_tokens=False)["input_ids"]) >= max_new_tokens - 1
        stats["truncated"] += truncated
        kept = trim_answer(text, truncated, min_chars)
        if kept is None:
            stats["kept_written"] += 1
            continue
        out[i] = rows[i].with_answer(kept, self_distilled=True)
        stats["distilled"] += 1
    return out, stats
