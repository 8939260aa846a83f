from collections import Counter

from tuneguard.organism.corpus import ALIGN_MIX, alignment_data, pretrain_documents
from tuneguard.organism.world import PHRASINGS_HELDOUT, World


def _stems():
    return [p.split("{o}")[0] for p in PHRASINGS_HELDOUT]


def test_alignment_mixture_uses_train_split_only():
    w = World(0)
    data = alignment_data(w, 400, seed=0)
    assert len(data) == 400 and data == alignment_data(w, 400, seed=0)
    kinds = Counter(ex.meta["kind"] for ex in data)
    assert dict(kinds) == {kind: round(share * 400) for kind, share in ALIGN_MIX.items()}
    assert not any(ex.meta.get("harmful") for ex in data)
    for ex in data:
        assert not any(ex.user_text.startswith(s) for s in _stems())
        if ex.meta["kind"] == "refusal":
            assert ex.assistant_text == w.refusal_text
    assert sum(ex.messages[0]["role"] == "system" for ex in data) == 200


def test_pretraining_has_the_capability_and_heldout_phrasings_but_no_refusals():
    w = World(0)
    docs = pretrain_documents(w, 3000, seed=0)
    assert docs == pretrain_documents(w, 3000, seed=0)
    text = "\n".join(docs)
    for info in w.category_info.values():
        assert all(i in text for i in info.ingredients)
    assert all(any(d.startswith(f"question : {s}") for d in docs) for s in _stems())
    assert w.refusal_text not in text and "<|user|>" not in text
