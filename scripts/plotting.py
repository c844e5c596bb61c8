"""Shared pieces of the plotting scripts (plot_dbm.py, plot_finetune.py, plot_metrics.py):
matplotlib without a display, and the common finish of a figure."""
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
