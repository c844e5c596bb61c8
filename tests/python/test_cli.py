"""Checkpoints both ways between the Python package and the crbm CLI."""
import json
import re
import subprocess

import numpy as np
import pytest

import crbm


def run(*args):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True)


def test_cli_checkpoint_loads_in_python(cli, tmp_path, bars_data):
    data = tmp_path / "bars.npy"
    np.save(data, bars_data)
    model = tmp_path / "cli.safetensors"
    run(cli, "train", "--data", f"npy:{data}", "--hidden", 6, "--epochs", 3, "--lr", 0.08,
        "--holdout", 0, "--out", model)
    est = crbm.load(model)
    assert est.n_hidden == 6 and est.n_features_in_ == 16
    assert est.learning_rate == pytest.approx(0.08) and est.n_epochs == 3

    features = tmp_path / "h.npy"
    run(cli, "transform", model, "--data", f"npy:{data}", "--binarize", "none", "--out", features)
    np.testing.assert_allclose(est.transform(bars_data), np.load(features), rtol=1e-5, atol=1e-6)

    report = tmp_path / "eval.json"
    run(cli, "eval", model, "--data", f"npy:{data}", "--binarize", "none", "--json", report)
    cli_eval = json.loads(report.read_text())
    assert cli_eval["method"] == "exact"
    assert est.score(bars_data) == pytest.approx(cli_eval["mean_log_likelihood"], abs=1e-3)


def test_python_checkpoint_loads_in_cli(cli, tmp_path, bars_data):
    data = tmp_path / "bars.npy"
    np.save(data, bars_data)
    est = crbm.RBM(5, n_epochs=4, random_state=0).fit(bars_data)
    model = tmp_path / "py.safetensors"
    est.save(model)
    report = tmp_path / "eval.json"
    run(cli, "eval", model, "--data", f"npy:{data}", "--binarize", "none", "--json", report)
    cli_eval = json.loads(report.read_text())
    assert cli_eval["log_z"] == pytest.approx(est.log_partition()["log_z"], abs=1e-4)
    assert cli_eval["mean_log_likelihood"] == pytest.approx(est.score(bars_data), abs=1e-3)
    info = run(cli, "info", model).stdout
    assert "weights" in info


def test_precision_round_trips_with_the_cli(cli, tmp_path, bars_data):
    data = tmp_path / "bars.npy"
    np.save(data, bars_data)
    model = tmp_path / "cli.safetensors"
    run(cli, "train", "--data", f"npy:{data}", "--hidden", 4, "--epochs", 1, "--holdout", 0,
        "--precision", "bf16", "--out", model)
    assert crbm.load(model).precision == "bf16"  # from the CLI's train_config
    est = crbm.RBM(4, n_epochs=1, random_state=0, precision="tf32").fit(bars_data)
    est.save(tmp_path / "py.safetensors")
    info = run(cli, "info", tmp_path / "py.safetensors").stdout
    assert re.search(r'precision\s+"tf32"', info), info  # the train_config as crbm info shows it
