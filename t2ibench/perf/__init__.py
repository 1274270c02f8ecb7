"""``python -m t2ibench.perf``: t2ibench's speed and memory measured side by side with the tools a
user would otherwise call (issue 15), on one machine, in one run.

One module per measurement — :mod:`~t2ibench.perf.frechet` (a), :mod:`~t2ibench.perf.inception` (b),
:mod:`~t2ibench.perf.pipeline` with :mod:`~t2ibench.perf.separate_tools` (c),
:mod:`~t2ibench.perf.pixel` (d), :mod:`~t2ibench.perf.memory` (e), :mod:`~t2ibench.perf.generation`
(f) — every default in :mod:`~t2ibench.perf.settings`, the competing load in
:mod:`~t2ibench.perf.load`, the table and files in :mod:`~t2ibench.perf.report`, the command in
:mod:`~t2ibench.perf.run`. Each measurement calls only t2ibench's public functions, so it measures
whatever the kernels and the engine currently are.
"""
