"""``python -m t2ibench`` (and ``torchrun ... -m t2ibench eval ...``): the ``t2ibench`` command line."""
import sys

from t2ibench.cli import main

sys.exit(main())
