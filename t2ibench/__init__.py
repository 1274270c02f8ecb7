"""t2ibench: regenerate the comparison tables of text-to-image GAN papers end to end."""
__version__ = "0.1.0"

from t2ibench.engine import evaluate  # noqa: E402
from t2ibench.result import EvalResult  # noqa: E402

__all__ = ["evaluate", "EvalResult", "__version__"]
