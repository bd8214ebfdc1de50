"""mollirl: policy-gradient training with a controlled exploration sigma, and the
instruments to see and measure what sigma does to the optimization landscape.

Importing ``mollirl`` registers the built-in envs with Gymnasium; it does not
import MuJoCo, Optuna or PyTorch-heavy modules.
"""

from mollirl import envs as _envs  # noqa: F401  (registration is the only side effect)

__version__ = "0.1.0"
__all__ = ["__version__"]
