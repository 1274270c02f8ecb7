"""The five papers' results tables, reported beside measured (issue 13).

- :mod:`.specs`: one :class:`~.specs.TableSpec` per transcribed table (rows -> generators, columns ->
  metric protocols and evaluators), and what the benchmark must evaluate for them;
- :mod:`.cells`: the reported and measured cell values of one table;
- :mod:`.agreement`: Kendall τ-b per column and the direction of changes against the base row;
- :mod:`.render`: the table in the paper's layout with its caption, written by :mod:`.writers` as
  Markdown, CSV, JSON and LaTeX; the index for ``leaderboards/README.md``.

Typical use (the benchmark supplies ``measured``)::

    from t2ibench.reported import load_reported
    from t2ibench.tables import get_spec, write_table
    spec = get_spec("ktgan-table-2")
    write_table(spec, load_reported(spec.id), measured, {"dataset": "shapes", "n": 2000, "seed": 0,
                "stand_ins": [...]}, "leaderboards/shapes/tables")
"""
from t2ibench.tables.agreement import Agreement, kendall_tau, table_agreement, verdict
from t2ibench.tables.cells import collect_measured, measured_cells, reported_cells
from t2ibench.tables.render import RenderedTable, build_table, index_markdown, write_table
from t2ibench.tables.specs import (TABLE_SPECS, ColumnSpec, RowSpec, TableSpec, cells, evaluations_needed,
                                   generators_needed, get_spec, metrics_needed, options_for)

__all__ = ["TABLE_SPECS", "ColumnSpec", "RowSpec", "TableSpec", "get_spec", "cells", "evaluations_needed",
           "generators_needed", "metrics_needed", "options_for", "reported_cells", "measured_cells",
           "collect_measured", "Agreement", "kendall_tau", "verdict", "table_agreement", "RenderedTable",
           "build_table", "write_table", "index_markdown"]
