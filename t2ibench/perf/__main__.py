"""``python -m t2ibench.perf``: see :mod:`t2ibench.perf.run`."""
import sys

from t2ibench.perf.run import main

sys.exit(main())
