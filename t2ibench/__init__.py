"""t2ibench: regenerate the comparison tables of text-to-image GAN papers end to end.

``t2ibench.evaluate`` and ``t2ibench.EvalResult`` are imported on first use, so that
``t2ibench --help`` and ``--version`` do not wait for torch to import.
"""
__version__ = "0.1.0"

__all__ = ["evaluate", "EvalResult", "__version__"]


def __getattr__(name: str):
    if name == "evaluate":
        from t2ibench.engine import evaluate

        return evaluate
    if name == "EvalResult":
        from t2ibench.result import EvalResult

        return EvalResult
    raise AttributeError(f"module 't2ibench' has no attribute {name!r}")
