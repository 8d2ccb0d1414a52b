"""The Markdown tables of the report, one function per section of the results.

Each ``*_markdown`` function takes the whole results dictionary and returns its section's lines;
:func:`report.report_markdown` puts them together.
"""

from __future__ import annotations

import json
import math
from typing import Any

from harness import EPOCH, median


# ---------------------------------------------------------------------------- formatting
def fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None or not math.isfinite(r) else f"{r:.2f}x"


def ratio(other: float | None, ours: float | None) -> float | None:
    """How many times faster glassnet is: the other's time over glassnet's."""
    if other is None or ours is None or ours <= 0:
        return None
    return other / ours


def cell(d: dict[str, Any] | None, key: str = "median") -> str:
    return "n/a" if not d else fmt_time(d[key])


def spread(d: dict[str, Any] | None) -> str:
    if not d:
        return ""
    return f" ({fmt_time(d['min'])}–{fmt_time(d['max'])})" if d["min"] != d["max"] else ""


def ratio_cell(
    key: str, d: dict[str, Any] | None, section: dict[str, Any], ours: str = "glassnet"
) -> str:
    """A ratio column: ``d``'s median over ``ours``'s in ``section``; blank on ``ours``'s row."""
    if key == ours or ours not in section:
        return ""
    return fmt_ratio(ratio(d and d["median"], section[ours]["median"]))


#: How the report names glassnet's engines.
GLASSNET_ROWS = [
    ("glassnet, NumPy engine (Network.fit)", "glassnet"),
    ("**glassnet, compiled engine** (Network.fit, engine=numba)", "glassnet_numba"),
]


def pytorch_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    """The table rows of PyTorch's thread counts, and of its best, as (label, key)."""
    names = [
        (f"PyTorch CPU, {k.split('_')[1]} thread(s)", k) for k in d if k.startswith("pytorch_")
    ]
    if "pytorch" in d:
        names.append(("**PyTorch CPU, best**", "pytorch"))
    return names


# ---------------------------------------------------------------------------- targets
def targets_markdown(r: dict[str, Any]) -> list[str]:
    lines = ["### Targets\n"]
    lines.append(
        "Ratios are the other's seconds over glassnet's (above 1: glassnet is faster), "
        "on wall time, which the targets use; the CPU-time ratio beside it is less "
        "sensitive to other programs sharing the machine (see benchmarks/README.md).\n"
    )
    lines.append("| measurement | result | target | met | on CPU time |")
    lines.append("|---|---|---|---|---|")
    for t in r["targets"]:
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(
            f"| {t['what']} | {t['text']} | {t['target']} | {met} | {t.get('cpu_text', '')} |"
        )
    return lines


# ---------------------------------------------------------------------------- the post's run
def post_markdown(r: dict[str, Any]) -> list[str]:
    post = r["post"]
    lines = ["\n### The post's run: 784-50x6-10 sigmoid, batch 10, lr 0.002\n"]
    lines.append(
        f"Seconds per epoch of 60,000 samples, extrapolated from "
        f"{post['batches_timed']} batches of 10 ({post['samples_timed']:,} samples; "
        f"PyTorch: at most {r['settings']['torch_post_batches']}, fewer when its "
        f"steps are slow, see the JSON); median of "
        f"{r['settings']['reps']} after a warm-up (min–max). glassnet: the second "
        "epoch of `Network.fit(epochs=2)` on the slice, its once-per-epoch "
        "statistics counted once. CPU = the process's CPU seconds over the same "
        "span (all threads).\n"
    )
    lines.append(
        "Ratios are the other's seconds over the NumPy engine's (×NumPy) and over the compiled "
        "engine's (×compiled). The arithmetic limit is an epoch of the step's products (2.35 "
        "MFLOP a step: forward, weight gradients, and the backward products of every layer but "
        "the first) at the best rate one core reaches on a 512×512 product.\n"
    )
    lines.append(
        "| contender | float64 s/epoch | CPU | ×NumPy | ×compiled | float32 s/epoch | CPU | ×NumPy "
        "| ×compiled |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    d64, d32 = post["dtypes"]["float64"], post["dtypes"]["float32"]
    names = [
        *GLASSNET_ROWS,
        ("reference NumPy (default BLAS threads)", "reference"),
        ("reference NumPy (1 BLAS thread)", "reference_1_thread"),
        *pytorch_rows(d32),
    ]
    for label, key in names:
        a, b = d64.get(key), d32.get(key)
        if a is None and b is None:
            continue
        cells = []
        for d, section in ((a, d64), (b, d32)):
            cpu = cell(d and d["cpu"])
            ours = (ratio_cell(key, d, section), ratio_cell(key, d, section, "glassnet_numba"))
            cells.append(f"{cell(d)}{spread(d)} | {cpu} | {ours[0]} | {ours[1]}")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    limits = [post["dtypes"][t].get("arithmetic_limit") for t in ("float64", "float32")]
    if all(limits):
        row = " | ".join(
            f"{fmt_time(lim['median'])} | | {fmt_ratio(ratio(lim['median'], d['glassnet']['median']))}"
            f" | {ratio_cell('limit', lim, d, 'glassnet_numba')}"
            for lim, d in zip(limits, (d64, d32), strict=True)
        )
        rates = ", ".join(f"{lim['core_gflops']:.0f}" for lim in limits)
        lines.append(f"| arithmetic limit ({rates} GFLOP/s on one core) | {row} |")
    projections = [
        f"**{post[key] / 60:.1f} min** on the {engine}"
        for key, engine in (
            ("seed_preset_projected_seconds_float32", "NumPy engine"),
            ("seed_preset_projected_seconds_float32_numba", "compiled engine"),
        )
        if key in post
    ]
    lines.append(
        "\nThe `seed` preset (1000 such epochs, float32) projects to "
        + " and ".join(projections)
        + " (1000 × the float32 epoch; per-epoch test evaluation not included)."
    )
    return lines


# ---------------------------------------------------------------------------- the wide network
def wide_markdown(r: dict[str, Any]) -> list[str]:
    w, mm = r["wide"], r["matmul"]
    lines = ["\n### Wide network: 784-512-512-10 ReLU, batch 256, float32\n"]
    lines.append(
        f"Seconds per epoch extrapolated from {w['batches_timed']} batches of 256 "
        f"({w['samples_timed']:,} samples), median of {r['settings']['reps']}. "
        f"GFLOP/s counts 6 × parameters ({w['parameters']:,}) FLOP per sample for "
        f"forward + backward (2 forward, 4 backward), the same nominal count for "
        f"every contender. Best float32 matmul in this run: "
        f"**{mm['best_gflops']:.0f} GFLOP/s** "
        f"({mm['default_threads']['best_gflops']:.0f} with default threads, "
        f"{mm['1_thread']['best_gflops']:.0f} with 1).\n"
    )
    lines.append("| contender | s/epoch | CPU | GFLOP/s | % of best matmul | ratio |")
    lines.append("|---|---|---|---|---|---|")
    names = [
        *[(label, key) for label, key in GLASSNET_ROWS if key in w],
        ("glassnet, NumPy engine, 1 BLAS thread (for information)", "glassnet_1_thread"),
        ("the compiled engine's products alone, its BLAS (for information)", "products"),
        ("reference NumPy (default BLAS threads)", "reference"),
        ("reference NumPy, 1 BLAS thread (for information)", "reference_1_thread"),
        *pytorch_rows(w),
    ]
    if "scikit-learn" in w:
        label = f"scikit-learn MLPClassifier ({w['scikit-learn'].get('coef_dtype')})"
        names.append((label, "scikit-learn"))
    for label, key in names:
        if key not in w:
            continue
        d = w[key]
        rr = ratio_cell(key, d, w)
        lines.append(
            f"| {label} | {cell(d)}{spread(d)} | {cell(d['cpu'])} | "
            f"{d['gflops']:.1f} | "
            f"{100 * d['gflops'] / mm['best_gflops']:.0f}% | {rr} |"
        )
    return lines + floor_markdown(r) + matmul_markdown(r)


def floor_markdown(r: dict[str, Any]) -> list[str]:
    w, sp = r["wide"], r["matmul"].get("step_products")
    if not sp:
        return []
    floor = sp["floor_seconds_per_epoch"]
    lines = [
        f"\nThe floor: the {len(sp['seconds'])} products of one step of this network "
        "(forward, weight gradient, and the backward product of every layer but the "
        "first), each timed alone at its better thread setting, take "
        f"**{fmt_time(floor)}** per epoch: no loop that computes them through NumPy's "
        "BLAS can train faster. The floor is "
        + " and ".join(
            f"{100 * floor / w[key]['median']:.0f}% of the "
            f"{label.split(', ')[1].split(' (')[0].strip('*')}'s epoch"
            for label, key in GLASSNET_ROWS
            if key in w
        )
        + "."
    ]
    if "pytorch" in w:
        lines.append(
            " ".join(
                f"{times}x PyTorch's epoch (the {engine}'s target) would be "
                f"{fmt_time(w['pytorch']['median'] / times)}"
                f" ({100 * w['pytorch']['median'] / times / floor:.0f}% of the floor)."
                for times, engine in ((1.2, "NumPy engine"), (1.3, "compiled engine"))
            )
        )
    return lines


def matmul_markdown(r: dict[str, Any]) -> list[str]:
    mm = r["matmul"]
    lines = [f"\nMatmul rates (GFLOP/s, best of {r['settings']['matmul_reps'] + 2}):\n"]
    lines.append("| shape | default threads | 1 thread |")
    lines.append("|---|---|---|")
    for shape, g in mm["default_threads"]["gflops"].items():
        lines.append(f"| {shape} | {g:.0f} | {mm['1_thread']['gflops'][shape]:.0f} |")
    return lines


# ---------------------------------------------------------------------------- inference, memory
def inference_markdown(r: dict[str, Any]) -> list[str]:
    inf = r["inference"]
    lines = [f"\n### Inference: {inf['network']}\n"]
    lines.append(
        "One image: median of "
        f"{inf['glassnet']['one_image']['calls']} calls of `predict_proba` on a "
        "(1, 784) uint8 row (standardizing included). 10,000 images: one call on the "
        "test images, median of several.\n"
    )
    lines.append("| contender | one image (p10–p90) | 10,000 images | images/s |")
    lines.append("|---|---|---|---|")
    entries = [("glassnet predict_proba", inf["glassnet"])]
    for k, v in inf.get("pytorch", {}).items():
        entries.append((f"PyTorch CPU, {k.replace('_', ' ')} (inference_mode)", v))
    for label, v in entries:
        o, m = v["one_image"], v["10000_images"]
        lines.append(
            f"| {label} | {fmt_time(o['median'])} ({fmt_time(o['p10'])}–"
            f"{fmt_time(o['p90'])}) | {fmt_time(m['median'])} | "
            f"{m['images_per_second']:,.0f} |"
        )
    return lines


def memory_markdown(r: dict[str, Any]) -> list[str]:
    mem = r["memory"]
    lines = ["\n### Memory: one epoch of the `default` preset on full MNIST\n"]
    if "error" in mem:
        return [*lines, f"Failed: {mem['error']}"]
    runs = ", ".join(f"{p / 2**20:.0f}" for p in mem["peak_rss_bytes_runs"])
    lines.append(
        "Peak resident set size (`VmHWM`) of a fresh Python process that "
        f"imports glassnet, loads MNIST ({mem['loaded_with']}) and runs "
        f"`Network.fit` for one epoch ({mem['network']}, "
        f"{mem['settings']}); the median of {len(mem['peak_rss_bytes_runs'])} "
        f"such processes (peaks: {runs} MiB).\n"
    )
    lines.append("| stage | resident |")
    lines.append("|---|---|")
    for label, key in (
        ("after `import glassnet`", "rss_after_imports_bytes"),
        ("after loading MNIST (uint8)", "rss_after_loading_mnist_bytes"),
        ("**peak, end of the epoch**", "peak_rss_bytes"),
    ):
        lines.append(f"| {label} | {mem[key] / 2**20:.0f} MiB |")
    lines.append(
        f"\n(`fit` took {mem['fit_seconds']:.1f} s including data preparation "
        "and its end-of-epoch statistics.)"
    )
    return lines


# ---------------------------------------------------------------------------- time to accuracy
def tta_markdown(r: dict[str, Any]) -> list[str]:
    tta = r["time_to_accuracy"]
    lines = [f"\n### Time to accuracy: the `fast` preset ({tta['network']})\n"]
    subset = (
        ""
        if tta["train_samples"] >= EPOCH
        else f" on the first {tta['train_samples']:,} training images only (quick run)"
    )
    lines.append(
        f"Settings: `{json.dumps(tta['preset'])}`{subset}. Test accuracy after every epoch; "
        "seconds are training time summed up to the first epoch that reaches the "
        "mark (evaluation not counted). glassnet runs the preset's "
        f"{tta['epochs']} epochs; PyTorch (started from glassnet's initial weights) "
        "and scikit-learn (its own initialization) stop at 98%, at "
        f"{tta['epochs']} epochs, or once their training time passes "
        f"{tta['budget_seconds_others']:.0f} s. Learning-rate schedule "
        f"({tta.get('schedule', 'constant')}): glassnet's own schedule function "
        "sets PyTorch's rate before every step, as glassnet's loop does; "
        "scikit-learn, which has no per-step hook, gets each epoch's midpoint "
        "rate.\n"
    )
    lines.append("| contender | 97% | 98% | final test accuracy | s/epoch (median) |")
    lines.append("|---|---|---|---|---|")
    for name, label in (
        ("glassnet", "glassnet"),
        ("pytorch", "PyTorch CPU"),
        ("scikit-learn", "scikit-learn MLPClassifier"),
    ):
        d = tta.get(name)
        if d:
            lines.append(tta_row(name, label, d))
    if "not_compared" in tta:
        lines.append(f"\n{tta['not_compared']}.")
    return lines


def tta_row(name: str, label: str, d: dict[str, Any]) -> str:
    """One contender's row: the seconds to each mark, its final accuracy and its epoch."""
    cells = []
    for thr in ("0.97", "0.98"):
        c = d[thr]
        cells.append(
            f"not reached in {d['epochs_run']} epochs"
            if c is None
            else f"{c['seconds']:.1f} s (epoch {c['epoch']})"
        )
    if name == "pytorch":
        label += f", {d['threads']} thread(s)"
    return (
        f"| {label} | {cells[0]} | {cells[1]} | "
        f"{100 * d['test_accuracy'][-1]:.2f}% | "
        f"{fmt_time(median(d['seconds_per_epoch']))} |"
    )


# ---------------------------------------------------------------------------- compiling
def compile_markdown(r: dict[str, Any]) -> list[str]:
    c = r["compile"]
    return [
        "\n### The compiled engine's start\n",
        "Compiling every kernel in both dtypes in a fresh process with an empty Numba cache "
        f"(the first run on a machine): **{c['cold']['seconds']:.1f} s**. The next process, "
        f"loading them from the cache: **{c['warm']['seconds']:.2f} s**, with "
        f"{c['warm']['kernels_compiled']} kernels compiled again. Both from the engine's import "
        "to its kernels being ready (`benchmarks/suites_compile.py`).",
    ]
