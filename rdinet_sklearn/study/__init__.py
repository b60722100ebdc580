"""The study design (split, tuning, testing, reporting) as one call, with presets."""

from ._config import PRESETS, make_config
from ._run import run_study

__all__ = ["PRESETS", "make_config", "run_study"]
