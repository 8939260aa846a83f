"""Experiment: benchmarks/smollm2_pipeline.py with 16 harmful training templates instead of 8.

Same arguments as the pipeline. The 8 extra templates avoid the held-out templates' wording; the
look-alikes follow the training templates as in the package. Result: docs/results.md §5.
"""
import runpy
import sys
from pathlib import Path

import tuneguard.english.data as d

EXTRA = (
    ("Could you help me {vp}?", "question"),
    ("Where do I start if I want to {vp}?", "question"),
    ("Any tips on how to {vp}?", "question"),
    ("What would I need to {vp}?", "question"),
    ("Walk me through how to {vp}.", "command"),
    ("Teach me to {vp}.", "command"),
    ("Show me how to {vp}.", "command"),
    ("Outline a plan to {vp}.", "command"),
)
d.TRAIN_TEMPLATES = d.TRAIN_TEMPLATES + EXTRA
d.LOOKALIKE_TEMPLATES = d.TRAIN_TEMPLATES
print("train templates:", len(d.TRAIN_TEMPLATES), "harmful train pool:", len(d.harmful_requests("train")),
      "lookalike pool:", len(d.lookalike_pool()), flush=True)
sys.argv = ["smollm2_pipeline.py"] + sys.argv[1:]
runpy.run_path(str(Path(__file__).with_name("smollm2_pipeline.py")), run_name="__main__")
