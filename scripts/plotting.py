"""Shared pieces of the plotting scripts (plot_dbm.py, plot_finetune.py, plot_metrics.py):
matplotlib without a display, the command line and input files of a plot of several runs,
and the common finish of a figure."""
import argparse
import sys


def pyplot(tool):
    """matplotlib.pyplot on the Agg backend, or exit naming `tool` and the package."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit(f"{tool}: needs matplotlib (apt-get install python3-matplotlib, "
                 "or scripts/install-deps.sh --plots)")
    return plt


def runs_parser(doc, runs_help, output):
    """The command line of a plot of several runs: RUN[=LABEL] ..., -o/--output (default
    `output`) and --title; the description is the first line of `doc`. Callers add their own
    options before parse_args()."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("runs", nargs="+", help=runs_help)
    ap.add_argument("-o", "--output", default=output)
    ap.add_argument("--title", default="")
    return ap


def read_run(spec, tool):
    """A run given as FILE[=LABEL]: (FILE, its label (FILE when none), its text); exits naming
    `tool` and the file when it cannot be read."""
    path, _, label = spec.partition("=")
    try:
        with open(path, encoding="utf-8") as f:
            return path, label or path, f.read()
    except OSError as e:
        sys.exit(f"{tool}: {path}: {e}")


def save(fig, axes, output, title="", legend_size=None):
    """Grid and legend on every axis, an optional title, then writes `output` (PNG)."""
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=legend_size)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")
