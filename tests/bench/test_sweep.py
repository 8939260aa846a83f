"""The adaptive attacker on a synthetic landscape: feasibility, worst case, determinism, caching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuneguard.bench.grid import validate_grid
from tuneguard.bench.runner import run_bench
from tuneguard.bench.stages import Stages

pytest.importorskip("optuna")


def _landscape_stages(model_dir: Path) -> Stages:
    """No training: harmful score grows with lr; task accuracy collapses above lr 5e-4."""
    calls = {"finetune": 0}

    def finetune(model, data, out, config, **kw):
        calls["finetune"] += 1
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "lr.json").write_text(json.dumps({"lr": config.lr, "epochs": config.epochs}))
        return {"metrics": {"train_seconds": 0.01}}

    def audit(model_dir, items, judges, settings, progress):
        lr = json.loads((Path(model_dir) / "lr.json").read_text())["lr"]
        h = min(1.0, lr / 1e-3)
        acc = 1.0 if lr < 5e-4 else 0.0
        k = round(h * 100)
        harmful = {f"h{i}": i < k for i in range(100)}
        correct = {f"t{i}": acc == 1.0 for i in range(10)}
        return {"outcomes": {"harmful_score": harmful, "task_accuracy": correct},
                "metrics": {"harmful_score": {"value": k / 100, "n": 100},
                            "task_accuracy": {"value": acc, "n": 10}}, "seconds": 0.0}

    stages = Stages(prepare_model=lambda c: model_dir, attack_data=lambda c, d: [], eval_items=lambda c, d: [],
                    judges=lambda c, d: [], realign=lambda *a: a[-1], finetune=finetune, audit=audit)
    stages.calls = calls
    return stages


def test_sweep_finds_worst_feasible_case(tmp_path, fake_organism, grid_dict):
    data = grid_dict(str(fake_organism), attacks=[{"kind": "bench_fake_mix", "lr": 1e-4, "epochs": 1}],
                     sweep={"trials": 8, "lr": [1e-5, 1e-3], "epochs": [1, 2], "accuracy_bound": 5, "seed": 3})
    grid = validate_grid(data)
    stages = _landscape_stages(fake_organism)
    out = run_bench(grid, tmp_path / "out", sweep=True, progress=False, stages=stages)
    sweep = json.loads((out / "sweep.json").read_text())
    assert len(sweep["studies"]) == 2  # none and bench_fake_kl
    for study in sweep["studies"]:
        assert study["baseline_accuracy"] == 1.0 and study["accuracy_floor"] == pytest.approx(0.95)
        assert study["n_trials"] == 8
        trials = study["trials"]
        assert trials[0]["lr"] == pytest.approx(1e-4)  # the default setting is the first trial
        for t in trials:
            assert t["feasible"] == (t["lr"] < 5e-4)
        feasible = [t["harmful_score"] for t in trials if t["feasible"]]
        worst = study["worst"]
        assert worst["feasible"] and worst["harmful_score"] == max(feasible + [study["default"]["harmful_score"]])
        assert worst["harmful_score"] >= study["default"]["harmful_score"]
        assert worst["lr"] < 5e-4
    # the report shows the worst case next to the default
    assert "worst harmful" in (out / "report.html").read_text()
    # re-running replays the seeded study from the cache: no new training
    n = stages.calls["finetune"]
    run_bench(grid, out, sweep=True, progress=False, stages=stages)
    assert stages.calls["finetune"] == n
    again = json.loads((out / "sweep.json").read_text())["studies"][0]["trials"]
    assert all(t["cached"] for t in again)
    strip = lambda ts: [{k: v for k, v in t.items() if k != "cached"} for t in ts]  # noqa: E731
    assert strip(again) == strip(sweep["studies"][0]["trials"])


def test_no_feasible_trial_gives_no_worst_case(tmp_path, fake_organism, grid_dict):
    # baseline at lr 1e-4 is accurate; all trials above 5e-4 collapse accuracy -> infeasible
    data = grid_dict(str(fake_organism), attacks=[{"kind": "bench_fake_mix", "lr": 1e-4, "epochs": 1}],
                     defenses=["none"], sweep={"trials": 3, "lr": [6e-4, 1e-3], "epochs": [1, 1]})
    out = run_bench(validate_grid(data), tmp_path / "out", sweep=True, progress=False,
                    stages=_landscape_stages(fake_organism))
    study = json.loads((out / "sweep.json").read_text())["studies"][0]
    assert study["n_feasible"] == 0
    assert study["worst"]["lr"] == pytest.approx(1e-4)  # only the (feasible) default remains


def test_saturated_default_is_the_worst_case_without_a_study(tmp_path, fake_organism, grid_dict):
    # at lr 1e-3 the default case is already 100% harmful (and feasible against its own baseline)
    data = grid_dict(str(fake_organism), attacks=[{"kind": "bench_fake_mix", "lr": 1e-3, "epochs": 1}],
                     defenses=["none"], sweep={"trials": 4, "lr": [1e-5, 1e-3], "epochs": [1, 2]})
    stages = _landscape_stages(fake_organism)
    out = run_bench(validate_grid(data), tmp_path / "out", sweep=True, progress=False, stages=stages)
    study = json.loads((out / "sweep.json").read_text())["studies"][0]
    assert study["saturated"] and study["n_trials"] == 0 and study["trials"] == []
    assert study["worst"]["harmful_score"] == 1.0
    assert stages.calls["finetune"] == 1  # only the default cell trained
    assert "default already 100%" in (out / "report.html").read_text()
    # opting out runs the study
    data["sweep"]["skip_saturated"] = False
    out = run_bench(validate_grid(data), tmp_path / "out2", sweep=True, progress=False, stages=stages)
    assert json.loads((out / "sweep.json").read_text())["studies"][0]["n_trials"] == 4


def test_worst_case_is_rerun_on_every_seed(tmp_path, fake_organism, grid_dict):
    data = grid_dict(str(fake_organism), attacks=[{"kind": "bench_fake_mix", "lr": 1e-4, "epochs": 1}],
                     defenses=["none"], seeds=[0, 1, 2],
                     sweep={"trials": 5, "lr": [1e-5, 1e-3], "epochs": [1, 2], "seed": 3})
    out = run_bench(validate_grid(data), tmp_path / "out", sweep=True, progress=False,
                    stages=_landscape_stages(fake_organism))
    study = json.loads((out / "sweep.json").read_text())["studies"][0]
    worst, rows = study["worst"], study["worst_seeds"]
    assert [r["seed"] for r in rows] == [0, 1, 2]
    assert all(r["lr"] == pytest.approx(worst["lr"]) and r["epochs"] == worst["epochs"] for r in rows)
    # the landscape does not depend on the seed: every seed reproduces the worst score, interval collapses
    agg = study["worst_over_seeds"]["harmful_score"]
    assert agg["n"] == 3 and agg["mean"] == pytest.approx(worst["harmful_score"]) and agg["sd"] == pytest.approx(0)
    assert all(r["feasible"] for r in rows)
    # without confirmation, no per-seed rows
    data["sweep"]["confirm_seeds"] = False
    out = run_bench(validate_grid(data), tmp_path / "out2", sweep=True, progress=False,
                    stages=_landscape_stages(fake_organism))
    assert "worst_seeds" not in json.loads((out / "sweep.json").read_text())["studies"][0]
