#!/usr/bin/env python3
"""Plots a `crbm train --metrics FILE.jsonl` log: reconstruction error, free
energy of training and held-out rows (and their gap), and the exact
log-likelihood per epoch when it was computed. Needs python3-matplotlib
(Debian: apt-get install python3-matplotlib, or scripts/install-deps.sh --plots).

usage: scripts/plot_metrics.py metrics.jsonl [-o metrics.png] [--title TEXT]
"""
import argparse
import json
import math
import sys


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"plot_metrics.py: {path}:{number}: not JSON ({e})")
    if not rows:
        sys.exit(f"plot_metrics.py: {path}: no epochs logged")
    return rows


def series(rows, key):
    """(epochs, values) for the epochs where `key` holds a finite number."""
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v):
            xs.append(r["epoch"])
            ys.append(v)
    return xs, ys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", help="JSONL file written by crbm train --metrics")
    parser.add_argument("-o", "--out", help="PNG to write (default: METRICS with .png)")
    parser.add_argument("--title", default=None, help="figure title")
    args = parser.parse_args()

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_metrics.py: needs matplotlib (apt-get install python3-matplotlib)")

    rows = load(args.metrics)
    out = args.out or (args.metrics.rsplit(".", 1)[0] + ".png")
    panels = [("reconstruction error", [("recon_error", "recon error")])]
    panels.append(("free energy", [("free_energy_train", "F(train)"),
                                   ("free_energy_holdout", "F(holdout)")]))
    if series(rows, "free_energy_gap")[0]:
        panels.append(("free energy gap (holdout - train)", [("free_energy_gap", "gap")]))
    if series(rows, "exact_log_likelihood")[0]:
        panels.append(("exact mean log-likelihood (nats)",
                       [("exact_log_likelihood", "train"),
                        ("exact_log_likelihood_holdout", "holdout")]))

    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels)), sharex=True,
                             squeeze=False)
    for ax, (title, keys) in zip(axes[:, 0], panels):
        for key, label in keys:
            xs, ys = series(rows, key)
            if xs:
                ax.plot(xs, ys, marker="." if len(xs) < 40 else None, label=label)
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("epoch")
    fig.suptitle(args.title or args.metrics, fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out} ({len(rows)} epochs)")


if __name__ == "__main__":
    main()
