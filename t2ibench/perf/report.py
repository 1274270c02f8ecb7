"""The perf table as text (printed), Markdown and JSON (written to ``leaderboards/perf/``)."""
from __future__ import annotations

import json
from pathlib import Path

from t2ibench.io import write_json, write_text
from t2ibench.tables.writers import md_table


def _num(x, fmt="{:.3g}") -> str:
    return "" if x is None else fmt.format(x)


def _passed(row) -> str:
    return "" if row["passed"] is None else ("PASS" if row["passed"] else "FAIL")


def _target(row) -> str:
    t = row["target"]
    return "" if t is None else (f">= {t:g}x" if isinstance(t, (int, float)) else str(t))


def _extra(row) -> str:
    e = row["extra"]
    if row["measurement"] == "memory":
        if row["case"] == "slope":
            return (f"{_num(e['peak_rss_mb_per_1k'], '{:.1f}')} MB/1k, {_num(e['seconds_per_1k'], '{:.1f}')} s/1k; "
                    f"peak {e['peak_rss_mb_max_n']:.0f} MB vs bound {e['bound_mb']:.0f} MB")
        cuda = f", CUDA peak {e['cuda_peak_mb']:.0f} MB" if "cuda_peak_mb" in e else ""
        return f"peak RSS {e['peak_rss_mb']:.0f} MB{cuda} (features {e['feature_mb']:.1f} MB)"
    if "peer_seconds_by_tool" in e:
        return "peer s: " + ", ".join(f"{k} {v:.3g}" for k, v in e["peer_seconds_by_tool"].items())
    if "max_pair_abs_diff" in e:
        calls = e.get("timed_calls", {})
        return (f"max pair |diff| {e['max_pair_abs_diff']:.2g}; best of {calls.get('ours', '?')} / "
                f"{calls.get('peer', '?')} calls")
    return ""


def _values(row) -> str:
    if not row["values"]:
        return ""
    agree = sum(v["agree"] for v in row["values"])
    return f"{agree}/{len(row['values'])} agree"


def table_rows(rows) -> list[list[str]]:
    """The main table: one line per row."""
    out = []
    for r in rows:
        if r["skipped"]:
            out.append([r["measurement"], r["case"], r["device"], r["load"], "", "", "", "", "", "", "",
                        f"skipped: {r['skipped']}"])
            continue
        peer = r["peer"]
        out.append([r["measurement"], r["case"], r["device"], r["load"], _num(r["ours"]["seconds"]),
                    _num(r["ours"]["per_s"], "{:.4g}"), peer["name"] if peer else "",
                    _num(peer["seconds"]) if peer else "", _num(r["ratio"], "{:.2f}x"), _target(r), _passed(r),
                    "; ".join(x for x in (_values(r), _extra(r)) if x)])
    return out


HEADER = ["measurement", "case", "device", "load", "ours s", "ours /s", "peer", "peer s", "speed-up", "target",
          "pass", "values / notes"]
VALUE_HEADER = ["measurement", "case", "device", "load", "value", "ours", "peer", "rel diff", "tolerance", "agree"]


def value_rows(rows) -> list[list[str]]:
    """The values side by side: one line per compared number."""
    return [[r["measurement"], r["case"], r["device"], r["load"], v["metric"], f"{v['ours']:.8g}", f"{v['peer']:.8g}",
             f"{v['rel_diff']:.2e}", v["tolerance"], "yes" if v["agree"] else "NO"]
            for r in rows for v in r["values"]]


def text_table(header, lines) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)] if lines else [len(h) for h in header]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths)),
                      *(fmt.format(*line) for line in lines)])


def markdown_table(header, lines) -> str:
    return "\n".join(md_table(list(header), [[str(x) for x in line] for line in lines], ["l"] * len(header)))


def target_lines(rows) -> list[str]:
    """One line per row with a target: its pass/fail on each device and load condition."""
    out = []
    for r in rows:
        if r["target"] is None or r["skipped"]:
            continue
        how = f"speed-up {r['ratio']:.2f}x" if r["ratio"] is not None and r["measurement"] != "memory" else (
            f"peak {r['extra']['peak_rss_mb_max_n']:.0f} MB, bound {r['extra']['bound_mb']:.0f} MB")
        same = "" if not r["values"] else (" (values agree)" if all(v["agree"] for v in r["values"])
                                           else " (VALUES DIFFER)")
        out.append(f"{_passed(r)}  {r['measurement']} {r['case']} [{r['device']}, {r['load']}]: target "
                   f"{_target(r)}; {how}{same}")
    return out


def render_text(result: dict) -> str:
    return (text_table(HEADER, table_rows(result["rows"])) + "\n\nValues side by side:\n"
            + text_table(VALUE_HEADER, value_rows(result["rows"])) + "\n\nTargets:\n"
            + "\n".join(target_lines(result["rows"])))


def render_markdown(result: dict) -> str:
    m, cfg = result["machine"], result["config"]
    gpus = ", ".join(g["name"] for g in m["gpus"]) or "none"
    versions = ", ".join(f"{k} {v}" for k, v in result["versions"].items() if v)
    lines = [f"# t2ibench perf — {result['date']}", "",
             f"Machine: {m['cpu_model']}, {m['cpu_cores']} cores, {m['memory_gib']} GiB; GPU: {gpus}; torch threads "
             f"{m['torch_threads']}.", f"Versions: {versions}.",
             f"Command: `{cfg['command']}` (sizes {cfg['mode']}: {json.dumps(cfg['sizes'])}; seed {cfg['seed']}; "
             f"competing load: {cfg['load_workers']} busy processes)"
             + (f"; the whole run took {cfg['wall_seconds'] / 60:.1f} minutes." if "wall_seconds" in cfg else "."), "",
             "Speed-up = peer seconds / our seconds on the same inputs (> 1: t2ibench is faster).", "",
             markdown_table(HEADER, table_rows(result["rows"])), "", "## Values side by side", "",
             markdown_table(VALUE_HEADER, value_rows(result["rows"])), "", "## Targets", "",
             *(f"- {line}" for line in target_lines(result["rows"])), ""]
    if result.get("errors"):
        lines += ["## Errors", "", *(f"- {e}" for e in result["errors"]), ""]
    if result.get("notes"):
        lines += ["## Notes", "", *(f"- {n}" for n in result["notes"]), ""]
    return "\n".join(lines)


def write(result: dict, out_dir, stem: str) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    write_json(js, result)
    write_text(md, render_markdown(result))
    return js, md
