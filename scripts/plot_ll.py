#!/usr/bin/env python3
"""Plots the log-likelihood estimates that `crbm train --eval-every` logs
(eval_log_likelihood, exact or AIS with its band) for one or more runs.

usage: scripts/plot_ll.py RUN.jsonl [RUN.jsonl ...] -o ll.png [--title TEXT]
Each run is labelled by its file name. Needs python3-matplotlib."""
import argparse
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("-o", "--out", default="ll.png")
    ap.add_argument("--title", default="log-likelihood during training")
    args = ap.parse_args()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for path in args.runs:
        xs, ys, lo, hi = [], [], [], []
        for line in open(path):
            j = json.loads(line)
            ll = j.get("eval_log_likelihood")
            if ll is None:
                continue
            z, zl, zh = j.get("eval_log_z"), j.get("eval_log_z_low"), j.get("eval_log_z_high")
            xs.append(j["epoch"])
            ys.append(ll)
            # LL = -F - log Z: the log Z band maps to an inverted LL band.
            hi.append(ll + (z - zl) if zl is not None and math.isfinite(zl) else ll)
            lo.append(ll - (zh - z) if zh is not None else ll)
        label = os.path.splitext(os.path.basename(path))[0]
        ax.plot(xs, ys, marker="o", label=label)
        ax.fill_between(xs, lo, hi, alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean log-likelihood (nats)")
    ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
