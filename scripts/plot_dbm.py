#!/usr/bin/env python3
"""Plots DBM joint training from `crbm dbm-train --metrics FILE.jsonl` (or its --json report):
the reconstruction error and the mean activity of each hidden layer per joint epoch, with
the epochs that raised a health warning marked by a red cross. Several runs can share the
plot. Needs python3-matplotlib (scripts/install-deps.sh --plots).

usage: scripts/plot_dbm.py A.jsonl[=LABEL] B.json[=LABEL] ... [-o dbm.png] [--title TEXT]
"""
import json
import sys

from plotting import pyplot, read_run, runs_parser, save


def load(spec):
    path, label, text = read_run(spec, "plot_dbm.py")
    try:
        records = json.loads(text)["log"]  # a --json report
    except (json.JSONDecodeError, KeyError, TypeError):
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"plot_dbm.py: {path}:{number}: not JSON ({e})")
    joint = [r for r in records if isinstance(r, dict) and r.get("phase") == "joint"]
    if not joint:
        sys.exit(f"plot_dbm.py: {path}: no joint epochs (is it a dbm-train --metrics/--json file?)")
    return label, joint


def main():
    a = runs_parser(__doc__, "dbm-train metrics/JSON files, optionally FILE=LABEL",
                    "dbm.png").parse_args()
    plt = pyplot("plot_dbm.py")
    fig, (ax_rec, ax_act) = plt.subplots(1, 2, figsize=(10, 4))
    styles = ["-", "--", ":", "-."]
    for i, spec in enumerate(a.runs):
        label, joint = load(spec)
        epochs = [r["epoch"] for r in joint]
        recon = [r["reconstruction_error"] for r in joint]
        line, = ax_rec.plot(epochs, recon, label=label)
        bad = [(r["epoch"], r["reconstruction_error"]) for r in joint if r.get("warnings")]
        if bad:
            ax_rec.plot(*zip(*bad), "x", color="red", markersize=8,
                        label="health warning" if i == 0 else None)
        layers = len(joint[0].get("mean_activation", []))
        for l in range(layers):
            ax_act.plot(epochs, [r["mean_activation"][l] for r in joint],
                        styles[l % len(styles)], color=line.get_color(),
                        label=f"{label}: h{l + 1}")
    ax_rec.set_xlabel("joint epoch")
    ax_rec.set_ylabel("reconstruction error (v from mean-field)")
    ax_act.set_xlabel("joint epoch")
    ax_act.set_ylabel("mean hidden activity")
    save(fig, (ax_rec, ax_act), a.output, a.title, legend_size=8)


if __name__ == "__main__":
    main()
