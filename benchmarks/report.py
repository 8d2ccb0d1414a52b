"""The report: the targets table, the Markdown report and the JSON file of a run's results."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from report_sections import (
    compile_markdown,
    fmt_ratio,
    fmt_time,
    inference_markdown,
    memory_markdown,
    post_markdown,
    ratio,
    targets_markdown,
    tta_markdown,
    wide_markdown,
)

GiB = 1024**3


# ---------------------------------------------------------------------------- targets
def target(
    what: str, value: float | None, goal: str, ok: bool | None, text: str, cpu: str = ""
) -> dict[str, Any]:
    """One row of the targets table: the figure, the goal, whether it is met, and as text."""
    return {"what": what, "value": value, "target": goal, "met": ok, "text": text, "cpu_text": cpu}


def cpu_ratio(other: dict[str, Any], ours: dict[str, Any]) -> str:
    return fmt_ratio(ratio(other["cpu"]["median"], ours["cpu"]["median"]))


def speed_target(
    what: str, other: dict[str, Any], ours: dict[str, Any], need: float
) -> dict[str, Any]:
    """glassnet at least ``need`` times faster than ``other``, on wall time."""
    x = ratio(other["median"], ours["median"])
    return target(
        what, x, f">= {need:g}x", x is not None and x >= need, fmt_ratio(x), cpu_ratio(other, ours)
    )


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets table: each figure that has a goal, in the order the report lists them."""
    return compiled_targets(r) + post_targets(r) + wide_targets(r) + resource_targets(r)


def compiled_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The compiled engine's goals: the post's run against the reference and PyTorch, the wide
    network against PyTorch and against the floor of its products."""
    rows: list[dict[str, Any]] = []
    post = r.get("post", {}).get("dtypes", {})
    for dtype, need_ref, need_torch in (("float32", 4.0, 7.0), ("float64", 3.0, 6.0)):
        d = post.get(dtype, {})
        if "glassnet_numba" not in d:
            continue
        what = f"post's run {dtype}: compiled engine vs"
        rows.append(
            speed_target(f"{what} reference", d["reference"], d["glassnet_numba"], need_ref)
        )
        if "pytorch" in d:
            rows.append(
                speed_target(f"{what} PyTorch CPU", d["pytorch"], d["glassnet_numba"], need_torch)
            )
    w = r.get("wide", {})
    if "glassnet_numba" in w:
        if "pytorch" in w:
            what = "wide net batch 256: compiled engine vs PyTorch CPU"
            rows.append(speed_target(what, w["pytorch"], w["glassnet_numba"], 1.3))
        sp = r.get("matmul", {}).get("step_products")
        if sp:
            over = w["glassnet_numba"]["median"] / sp["floor_seconds_per_epoch"]
            what = "wide net batch 256: compiled engine over the products' floor"
            rows.append(target(what, over, "<= 1.15x", over <= 1.15, f"{over:.2f}x"))
    return rows


def post_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    post = r.get("post", {}).get("dtypes", {})
    for dtype, need in (("float32", 3.0), ("float64", 2.0)):
        d = post.get(dtype)
        if d:
            what = f"post's run {dtype}: NumPy engine vs reference"
            rows.append(speed_target(what, d["reference"], d["glassnet"], need))
    for dtype in ("float32", "float64"):
        d = post.get(dtype)
        if d and "pytorch" in d:
            what = f"post's run {dtype}: NumPy engine vs PyTorch CPU"
            rows.append(speed_target(what, d["pytorch"], d["glassnet"], 5.0))
    for key, engine in (("", "NumPy engine"), ("_numba", "compiled engine")):
        s = r.get("post", {}).get(f"seed_preset_projected_seconds_float32{key}")
        if s is not None:
            what = f"seed preset (1000 epochs) projected, float32, {engine}"
            rows.append(target(what, s, "(reported)", None, f"{s / 60:.1f} min"))
    return rows


def wide_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    w = r.get("wide")
    if not w:
        return []
    return [
        speed_target(f"wide net batch 256: NumPy engine vs {label}", w[other], w["glassnet"], 1.2)
        for other, label in (("pytorch", "PyTorch CPU"), ("reference", "reference"))
        if other in w
    ]


def resource_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    inf = r.get("inference")
    if inf:
        s = inf["glassnet"]["one_image"]["median"]
        rows.append(
            target("one-image predict_proba latency", s, "< 100 µs", s < 100e-6, fmt_time(s))
        )
    mem = r.get("memory")
    if mem and "peak_rss_bytes" in mem:
        b = mem["peak_rss_bytes"]
        what = "full-MNIST training peak RSS"
        rows.append(target(what, b, "< 1 GiB", b < GiB, f"{b / 2**20:.0f} MiB"))
    return rows


def noisy_figures(r: dict[str, Any]) -> list[str]:
    """Timed figures whose repetitions spread widely: the run was disturbed there."""
    found: list[str] = []
    sections = [(f"post {dtype}", d) for dtype, d in r.get("post", {}).get("dtypes", {}).items()]
    sections.append(("wide", r.get("wide", {})))
    for label, d in sections:
        for name, v in d.items():
            if (
                isinstance(v, dict)
                and "min" in v
                and name not in ("pytorch",)
                and v["min"] > 0
                and v["max"] / v["min"] > 1.3
            ):
                found.append(f"{label} {name} ({v['max'] / v['min']:.1f}x)")
    return found


# ---------------------------------------------------------------------------- Markdown
def report_markdown(r: dict[str, Any]) -> str:
    """The report's tables, section by section, for the sections the run measured."""
    lines = targets_markdown(r)
    for key, section in (
        ("post", post_markdown),
        ("wide", wide_markdown),
        ("inference", inference_markdown),
        ("memory", memory_markdown),
        ("time_to_accuracy", tta_markdown),
        ("compile", compile_markdown),
    ):
        if r.get(key):
            lines += section(r)
    lines.append(
        f"\n({r['mode']} run; load average {r['load_average_start']} at the start, "
        f"{r['load_average_end']} at the end; total {r['total_seconds']:.0f} s.)"
    )
    noisy = noisy_figures(r)
    if noisy:
        lines.append(
            "\nDisturbed figures (slowest repetition over 1.3 × the fastest): "
            + ", ".join(noisy)
            + "."
        )
    return "\n".join(lines)


def machine_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    v = m["versions"]
    blas = "; ".join(
        f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)"
        for b in m["blas_runtime"]
    )
    return "\n".join(
        [
            "| | |",
            "|---|---|",
            f"| CPU | {m['cpu_model']} ({', '.join(m.get('simd_flags', []))}) |",
            f"| cores | {m['cpus_available']} available of {m['logical_cpus']} logical |",
            f"| memory | {m.get('memory_gib')} GiB |",
            f"| OS | {m['platform']} |",
            f"| Python | {m['python']} |",
            f"| NumPy | {v['numpy']}, BLAS {m.get('numpy_blas')} |",
            f"| BLAS at run time | {blas} |",
            f"| OPENBLAS_CORETYPE | {m['OPENBLAS_CORETYPE']} |",
            f"| glassnet | {v['glassnet']} (commit {m.get('git_commit')}"
            f"{', src modified' if m.get('git_src_dirty') else ''}) |",
            f"| PyTorch | {v.get('torch') or 'not installed'} |",
            f"| scikit-learn | {v.get('sklearn') or 'not installed'} |",
            f"| date | {m['date']} |",
        ]
    )


def benchmarks_md(r: dict[str, Any], table: str) -> str:
    """The whole of BENCHMARKS.md: what it is, the command, the report and the machine."""
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "glassnet beside a plain NumPy reference (`glassnet.reference`, the post's code with "
            "samples as columns), PyTorch on the CPU and scikit-learn, measured in one run by "
            "`benchmarks/run.py`; what each figure means is in `benchmarks/README.md`. The JSON of "
            "this run is `BENCHMARKS.json`.",
            "",
            "Command:",
            "",
            "```",
            r["command"].strip(),
            "```",
            "",
            table,
            "",
            "## Machine",
            "",
            machine_markdown(r),
            "",
        ]
    )


# ---------------------------------------------------------------------------- JSON
def write_json(results: dict[str, Any], out: Path) -> None:
    """The results as indented JSON, written to a temporary file first and renamed over ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(results, indent=1, default=str) + "\n")
    os.replace(tmp, out)
