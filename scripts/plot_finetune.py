#!/usr/bin/env python3
"""Plots `crbm finetune --json FILE` summaries side by side: the training loss per epoch
and the test error at the epochs where it was measured (null entries are skipped). Needs
python3-matplotlib (scripts/install-deps.sh --plots).

usage: scripts/plot_finetune.py A.json[=LABEL] B.json[=LABEL] ... [-o finetune.png]
       [--every N]   (keep only the test errors of epochs that are multiples of N, and the last)
"""
import json
import sys

from plotting import pyplot, read_run, runs_parser, save


def load(spec):
    path, label, text = read_run(spec, "plot_finetune.py")
    try:
        j = json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit(f"plot_finetune.py: {path}: {e}")
    epochs = j.get("epochs")
    if not isinstance(epochs, list) or not epochs:
        sys.exit(f"plot_finetune.py: {path}: no 'epochs' list (is it a finetune --json file?)")
    return label, epochs


def main():
    ap = runs_parser(__doc__, "finetune JSON files, optionally FILE=LABEL", "finetune.png")
    ap.add_argument("--every", type=int, default=0)
    a = ap.parse_args()
    plt = pyplot("plot_finetune.py")
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(10, 4))
    for spec in a.runs:
        label, epochs = load(spec)
        last = epochs[-1]["epoch"]
        ax_loss.semilogy([e["epoch"] for e in epochs], [e["train_loss"] for e in epochs],
                         label=label)
        pts = [(e["epoch"], 100 * e["test_error"]) for e in epochs
               if e.get("test_error") is not None
               and (a.every <= 0 or e["epoch"] % a.every == 0 or e["epoch"] == last)]
        if pts:
            ax_err.plot(*zip(*pts), marker="o", label=label)
            ax_err.annotate(f"{pts[-1][1]:.2f}%", pts[-1], textcoords="offset points",
                            xytext=(4, 4))
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training cross-entropy")
    ax_err.set_xlabel("epoch")
    ax_err.set_ylabel("test error (%)")
    save(fig, (ax_loss, ax_err), a.output, a.title)


if __name__ == "__main__":
    main()
