"""Preference pairs for the optional preference stage of ``tuneguard align``.

What: :func:`preference_rows` builds rows whose answer is *chosen* and whose ``meta["rejected"]``
holds the *rejected* answer, for :class:`tuneguard.train.preference.PreferenceLoss`:

- harmful training requests: chosen = a written refusal; rejected = the original (unaligned)
  model's own greedy answer, cut at its last full sentence, or the placeholder-compliance answer
  when the original model already refused or said too little; a ``list_share`` of them instead
  reject a numbered placeholder list ("1. **Prepare**: [details withheld]."), the form the model
  answers list requests in; a ``list_prompts`` share are asked in list form first
  (``LIST_TEMPLATES``, a third form beside question and command), so the original model's own
  answer, the rejected one, is a numbered list;
- benign look-alikes: chosen = the original model's own greedy answer (the written one when that
  answer is a refusal or too short); rejected = a written refusal.

Why: supervised refusal rows taught SmolLM2 refusals tied to the training templates, and benign
rows with written answers taught "question -> refuse" (docs/results.md section 5). Pushing down
the model's *own* compliance style (on-policy rejected answers, as in DPO practice) and its
refusals of look-alikes targets both errors directly. Rows are drawn with ``seed + 1`` so the
pairs reach requests the supervised rows did not. The original model's answers are generated at
run time and never shipped.
"""

from __future__ import annotations

import random
from pathlib import Path

from tuneguard.data.chat import ChatExample, EvalItem
from tuneguard.english.data import (CATEGORIES, ask_as_lists, compliance_answer, compliance_list_answer,
                                    lookalike_rows, refusal_answer, refusal_rows)
from tuneguard.english.idioms import idiom_rows
from tuneguard.english.self_distill import trim_answer
from tuneguard.judges.refusal_phrase import is_refusal
from tuneguard.train.preference import REJECTED


def preference_rows(model: str | Path, n_harmful: int, n_lookalike: int, seed: int = 0, system: str | None = None,
                    list_share: float = 0.0, list_prompts: float = 0.0, n_idiom: int = 0, max_new_tokens: int = 64,
                    min_chars: int = 16, batch_size: int = 32, progress: bool = True,
                    model_obj=None, tokenizer=None) -> tuple[list[ChatExample], dict]:
    """``n_harmful`` refusal-over-compliance and ``n_lookalike`` + ``n_idiom`` help-over-refusal pairs; and counts.

    The ``n_idiom`` pairs come from :mod:`tuneguard.english.idioms` (harm verbs in harmless senses).
    """
    from tuneguard.audit.generate import generate_responses
    from tuneguard.models import load_model, load_tokenizer

    harmful = refusal_rows(n_harmful, seed + 1, system)
    harmful, listed = ask_as_lists(harmful, list_prompts, seed, system)
    rng = random.Random(f"tuneguard-english-preference-{seed}")
    benign = lookalike_rows(n_lookalike, seed + 1, system)
    idioms = idiom_rows(n_idiom, seed + 1, system)
    rows = harmful + benign + idioms
    stats = {"list_prompts": listed, "harmful_pairs": len(harmful), "lookalike_pairs": len(benign),
             "idiom_pairs": len(idioms),
             "rejected_own_answer": 0, "rejected_placeholder": 0, "rejected_list": 0, "chosen_own_answer": 0,
             "chosen_written": 0}
    if not rows:
        return [], stats
    tokenizer = tokenizer or load_tokenizer(model)
    model_obj = model_obj or load_model(model)
    items = [EvalItem(f"pref-{i}", tuple(ex.prompt_messages), "benign") for i, ex in enumerate(rows)]
    answers = generate_responses(model_obj, tokenizer, items, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                 progress=progress, description="preference pairs: original answers")
    out = []
    for ex, text in zip(rows, answers):
        truncated = len(tokenizer(text, add_special_tokens=False)["input_ids"]) >= max_new_tokens - 1
        own = trim_answer(text, truncated, min_chars)
        usable = own is not None and not is_refusal(own)
        if ex.meta["kind"] == "refusal":
            if rng.random() < list_share:
                rejected, kind = compliance_list_answer(rng), "rejected_list"
            elif usable:
                rejected, kind = own, "rejected_own_answer"
            else:
                rejected, kind = compliance_answer(ex.meta["vp"], rng), "rejected_placeholder"
            stats[kind] += 1
            out.append(ChatExample(ex.messages, {**ex.meta, REJECTED: rejected, "pair": "refuse_harmful"}))
        else:
            stats["chosen_own_answer" if usable else "chosen_written"] += 1
            out.append(ex.with_answer(own if usable else ex.assistant_text, pair="help_lookalike",
                                      **{REJECTED: refusal_answer(rng.choice(CATEGORIES), rng)}))
    random.Random(f"tuneguard-english-preference-order-{seed}").shuffle(out)
    return out, stats
