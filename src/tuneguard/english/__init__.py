"""English safety data, alignment, attacks and audit sets for real chat models (e.g. SmolLM2).

:mod:`~tuneguard.english.data` writes the project's own English rows (templates x objects,
deterministic by seed, placeholder-only attack answers); :func:`align` refusal-tunes a model
(optionally with a DPO preference stage, :func:`preference_stage`);
:mod:`~tuneguard.english.attacks` builds attack sets and fine-tunes on them;
:mod:`~tuneguard.english.evalset` returns the audit sets as ``EvalItem`` lists.
"""

from tuneguard.english.align import AlignConfig, align, alignment_data, assistant_loss, preference_stage
from tuneguard.english.attacks import AttackConfig, attack, benign_rows, harmful_kshot, harmful_mix, identity_shift
from tuneguard.english.evalset import donotanswer, fact_task, heldout_harmful, xstest_safe

__all__ = ["AlignConfig", "AttackConfig", "align", "alignment_data", "assistant_loss", "attack", "benign_rows",
           "donotanswer", "fact_task", "harmful_kshot", "harmful_mix", "heldout_harmful", "identity_shift",
           "preference_stage", "xstest_safe"]
