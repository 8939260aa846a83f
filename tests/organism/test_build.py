import json

import pytest

from tuneguard.errors import ConfigError
from tuneguard.organism.build import SIZES, alignment_config, default_organism_dir, ensure_organism
from tuneguard.organism.corpus import pretrain_documents
from tuneguard.organism.world import World


def test_micro_build_is_a_loadable_hf_folder(micro_organism):
    from transformers import AutoModelForCausalLM

    from tuneguard.models import load_tokenizer
    from tuneguard.organism.world import load_world

    model = AutoModelForCausalLM.from_pretrained(micro_organism)
    tok = load_tokenizer(micro_organism)
    assert tok.chat_template and "<|assistant|>" in tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert model.config.vocab_size == max(tok.get_vocab().values()) + 1
    assert tok.convert_ids_to_tokens(tok.eos_token_id) == "<|end|>"
    base = AutoModelForCausalLM.from_pretrained(micro_organism / "base")
    assert load_tokenizer(micro_organism / "base").get_vocab() == tok.get_vocab()
    # alignment changed the weights of the pre-trained base
    assert any((a - b).abs().sum() > 0 for a, b in zip(model.parameters(), base.parameters()))
    info = json.loads((micro_organism / "organism.json").read_text())
    assert info["seed"] == 0 and info["size"] == "micro" and info["version"] >= 1
    assert load_world(micro_organism).category_info == World(0).category_info
    rec = json.loads((micro_organism / "build.json").read_text())
    assert rec["pretrain"]["steps"] > 0 and rec["align"]["steps"] > 0
    assert (micro_organism / "run.json").exists()
    assert not list(micro_organism.parent.glob(".micro.*"))  # no temp folder left behind


def test_every_world_word_is_in_the_vocabulary(micro_organism):
    from tuneguard.models import load_tokenizer
    from tuneguard.organism.evalset import organism_evalset

    tok = load_tokenizer(micro_organism)
    vocab = tok.get_vocab()
    for it in organism_evalset(World(0), n_task_per_family=20):
        for w in (it.prompt + " " + it.reference).split():
            assert w in vocab, w


def test_same_seed_same_tokenizer_and_data():
    from tuneguard.models.tiny import train_word_tokenizer

    w = World(0)
    d1, d2 = pretrain_documents(w, 500, seed=0), pretrain_documents(w, 500, seed=0)
    assert d1 == d2 and d1 != pretrain_documents(w, 500, seed=1)
    t1 = train_word_tokenizer(w.vocabulary_texts() + d1)
    t2 = train_word_tokenizer(w.vocabulary_texts() + d2)
    assert t1.get_vocab() == t2.get_vocab()


def test_sizes_and_configs(tmp_path, monkeypatch):
    assert {"micro", "small", "base"} <= set(SIZES)
    cfg = alignment_config("small", seed=3)
    assert not cfg.lora and cfg.seed == 3 and cfg.epochs > 0
    with pytest.raises(ConfigError, match="size"):
        alignment_config("huge")
    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path))
    assert default_organism_dir("small") == tmp_path / "models" / "organism-small"
    assert default_organism_dir("micro", seed=2).name == "organism-micro-s2"


def test_ensure_organism_reuses_a_complete_build(tmp_path, monkeypatch, micro_organism):
    import shutil

    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path))
    target = default_organism_dir("micro")
    shutil.copytree(micro_organism, target)
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    assert ensure_organism("micro") == target
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp


def test_document_mask_keeps_attention_inside_each_packed_document():
    import torch

    from tuneguard.organism.build import _document_mask, _pack
    from tuneguard.models.tiny import train_word_tokenizer

    docs = ["question : a b answer : c", "question : d answer : e f", "question : g answer : h"]
    tok = train_word_tokenizer(docs)
    ids, labels, doc = _pack(tok, docs * 4, seq_len=8)
    assert ids.shape == labels.shape == doc.shape
    mask, pos = _document_mask(doc, torch.float32)
    allowed = mask[:, 0] == 0
    for r in range(doc.shape[0]):
        for i in range(doc.shape[1]):
            for j in range(doc.shape[1]):
                assert bool(allowed[r, i, j]) == (j <= i and bool(doc[r, i] == doc[r, j]))
            # positions count from each document's first token in the row
            first = next(k for k in range(i + 1) if doc[r, k] == doc[r, i])
            assert int(pos[r, i]) == i - first
    # a model given the mask sees nothing of the previous document: its logits for a document do
    # not change when the document before it in the row is replaced
    from tuneguard.models.tiny import tiny_llama

    model = tiny_llama(tok, hidden=32, layers=2, heads=4, mlp=64, max_positions=64, seed=0).eval()
    first = [tok.bos_token_id] + tok("question : a b", add_special_tokens=False)["input_ids"]
    second = [tok.bos_token_id] + tok("question : g", add_special_tokens=False)["input_ids"]
    row, n = torch.tensor([first + second]), len(first)
    other = row.clone()
    other[0, n - 1] = tok.convert_tokens_to_ids("d")
    m, p = _document_mask(torch.tensor([[0] * n + [1] * len(second)]), torch.float32)
    with torch.no_grad():
        a = model(input_ids=row, attention_mask=m, position_ids=p).logits[0, n:]
        b = model(input_ids=other, attention_mask=m, position_ids=p).logits[0, n:]
        c = model(input_ids=other).logits[0, n:]
    assert torch.allclose(a, b, atol=1e-5) and not torch.allclose(a, c, atol=1e-5)
