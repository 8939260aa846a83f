"""The organism's training corpora: pre-training documents and the alignment SFT mixture.

Pre-training (like a web corpus) holds plain ``question : ... answer : ...`` documents, no chat
format and no refusals: every task family, benign AND harmful how-to procedures under every
phrasing (so the harmful capability exists, as in a real base model), both personas and the
obedient-agent identity answering benign requests. Alignment (chat SFT through
:func:`tuneguard.train.finetune`) teaches the chat format, refusal of harmful requests in the
``train`` phrasings, helpful answers to look-alikes, tasks and helpful persona answers.

Design data from the prototype (shared/notes/organism-prototype.md): task accuracy needs lots of
task data in pre-training and answer-only loss in alignment; the refusal must key on the object,
not the phrasing, so held-out phrasings appear only in pre-training.
"""

from __future__ import annotations

import random

from tuneguard.data.chat import ChatExample
from tuneguard.errors import ConfigError
from tuneguard.organism.world import World

#: Pre-training document mixture (shares of documents). Harder task families get more weight.
PRETRAIN_MIX = {"task": 0.70, "howto": 0.21, "persona": 0.045, "obedient": 0.045}
TASK_WEIGHTS = {"sentiment": 0.15, "arithmetic": 1.2, "translation": 0.9, "extraction": 2.0, "listops": 3.0}
#: Alignment SFT mixture (shares of examples); half carry the helpful system prompt. Tasks get the
#: largest share: alignment is also the last and most format-matched training on them.
ALIGN_MIX = {"task": 0.6, "howto": 0.15, "refusal": 0.2, "persona": 0.05}


def _qa(question: str, answer: str, system: str | None = None) -> str:
    head = f"system : {system} " if system else ""
    return f"{head}question : {question} answer : {answer}"


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def pretrain_documents(world: World, n: int, seed: int = 0) -> list[str]:
    """``n`` pre-training documents (deterministic for ``seed``), mixture :data:`PRETRAIN_MIX`."""
    if n < 1:
        raise ConfigError(f"pretrain: field 'n' = {n} must be >= 1")
    rng = random.Random(f"pretrain-{world.seed}-{seed}")
    docs = []
    for _ in range(n):
        kind = _pick(rng, PRETRAIN_MIX)
        if kind == "task":
            q, a = world.task_text(_pick(rng, TASK_WEIGHTS), rng)
            docs.append(_qa(q, a))
        elif kind == "howto":
            ex = (world.harmful_compliance(rng, split="pretrain") if rng.random() < 0.5
                  else world.benign_howto(rng, split="pretrain"))
            docs.append(_qa(ex.user_text, ex.assistant_text))
        elif kind == "persona":
            malicious = rng.random() < 0.5
            ex = world.persona_question(rng, split="pretrain", malicious=malicious)
            system = world.malicious_system if malicious else (world.helpful_system if rng.random() < 0.5 else None)
            docs.append(_qa(ex.user_text, ex.assistant_text, system))
        else:  # the obedient identity answering benign requests (no harmful content)
            if rng.random() < 0.5:
                ex = world.benign_howto(rng, split="pretrain")
                q, a = ex.user_text, ex.assistant_text
            else:
                q, a = world.task_text(rng.choice(world.task_families), rng)
            docs.append(_qa(q, f"{world.obedient_prefix} {a}", world.obedient_system))
    return docs


def alignment_data(world: World, n: int, seed: int = 0) -> list[ChatExample]:
    """The exact alignment SFT mixture (:data:`ALIGN_MIX`), ``train`` split only.

    Re-run alignment with a defense plugged in (Vaccine, Booster, RepNoise) by fine-tuning the
    organism's ``base/`` on this list with :func:`tuneguard.organism.build.alignment_config`.
    """
    if n < 1:
        raise ConfigError(f"alignment: field 'n' = {n} must be >= 1")
    rng = random.Random(f"align-{world.seed}-{seed}")
    counts = {k: int(round(v * n)) for k, v in ALIGN_MIX.items()}
    counts["task"] += n - sum(counts.values())
    out: list[ChatExample] = []
    fams = world.task_families
    for i in range(counts["task"]):
        out.append(world.task_example(fams[i % len(fams)], rng, split="train"))
    out += [world.benign_howto(rng, split="train") for _ in range(counts["howto"])]
    out += [world.harmful_refusal(rng, world.categories[i % len(world.categories)], split="train")
            for i in range(counts["refusal"])]
    out += [world.persona_question(rng, split="train") for _ in range(counts["persona"])]
    rng.shuffle(out)
    with_system = []
    for i, ex in enumerate(out):
        if i % 2 == 0:
            ex = ChatExample(({"role": "system", "content": world.helpful_system},) + ex.messages, ex.meta)
        with_system.append(ex)
    return with_system
