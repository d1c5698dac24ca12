"""compare: the loop, its files (CSV schema, JSON, Markdown, PNG) and the CLI around it."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from discoverygym.agents.records import COLUMNS, Record, relative_gap_pct
from discoverygym.experiments import compare as compare_module
from discoverygym.experiments.cli import app
from discoverygym.experiments.suites import Suite

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class CountingSuite(Suite):
    """A suite whose agents score their name's length: enough to exercise the loop."""

    game = "binpacking"
    env_id = "discoverygym/OnlineBinPacking-v0"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def datasets(self, full: bool = False) -> list[str]:
        return ["a", "b", "c"] if full else ["a", "b"]

    def agent_names(self) -> list[str]:
        return ["first", "second", "limit"]

    def evaluate(self, agent: str, dataset: str) -> list[Record]:
        if agent not in self.agent_names():
            raise KeyError(f"unknown agent {agent!r}")
        self.calls.append((agent, dataset))
        value = float(len(agent) + len(dataset))
        family = "limit" if agent == "limit" else "heuristic"
        return [Record(self.game, dataset, agent, family, "excess_pct", value, 5.0, relative_gap_pct(value, 5.0))]


@pytest.fixture
def suite(monkeypatch: pytest.MonkeyPatch) -> CountingSuite:
    fake = CountingSuite()
    monkeypatch.setattr(compare_module, "available_suites", lambda: [fake])
    monkeypatch.setattr(compare_module, "get_suite", lambda game: fake)
    return fake


def test_compare_runs_every_agent_on_every_dataset(suite: CountingSuite, tmp_path: Path) -> None:
    result = compare_module.run_compare(tmp_path)
    assert sorted(suite.calls) == sorted((a, d) for a in suite.agent_names() for d in ("a", "b"))
    assert len(result.records) == 6
    with (tmp_path / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0].keys()) == COLUMNS
    assert len(rows) == 6
    assert len(json.loads((tmp_path / "summary.json").read_text())) == 6
    report = (tmp_path / "report.md").read_text()
    assert "| dataset | bound | first | second | limit |" in report
    assert (tmp_path / "binpacking.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "quality_vs_compute.png").read_bytes()[:8] == PNG_MAGIC
    runs = list(Path(os.environ["WANDB_DIR"]).glob("wandb/offline-run-*"))
    assert len(runs) == 1, "compare logs one offline W&B run"


def test_compare_filters_agents_and_full_adds_datasets(suite: CountingSuite, tmp_path: Path) -> None:
    compare_module.run_compare(tmp_path, agents=["second"], full=True, wandb=False)
    assert suite.calls == [("second", "a"), ("second", "b"), ("second", "c")]


def test_cli_compare_writes_results(suite: CountingSuite, tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["compare", "--out", str(tmp_path / "run"), "--agent", "first", "--no-wandb"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "run" / "summary.csv").exists()


def test_cli_unknown_game_lists_known_ones() -> None:
    out = CliRunner().invoke(app, ["evaluate", "--game", "chess", "--agent", "x", "--dataset", "y"])
    assert out.exit_code != 0
    assert "binpacking" in out.output and "chess" in out.output


def test_cli_envs_lists_every_id() -> None:
    out = CliRunner().invoke(app, ["envs"], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    for name in ("OnlineBinPacking-v0", "JobShop-v0", "TensorDecomposition-v0"):
        assert name in out.output


class LongNamesSuite(CountingSuite):
    """Agent and dataset names whose table is far wider than rich's 80 columns without a terminal."""

    def datasets(self, full: bool = False) -> list[str]:
        return ["weibull-100k:seed=0,count=1,rounding=round"]

    def agent_names(self) -> list[str]:
        return ["first_fit_with_a_very_long_descriptive_name", "evolved:binpacking_gemma270m_1h"]


@pytest.mark.parametrize("runner", ["pipe", "cli"])
def test_compare_output_to_a_pipe_keeps_whole_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, runner: str
) -> None:
    fake = LongNamesSuite()
    monkeypatch.setattr(compare_module, "available_suites", lambda: [fake])
    monkeypatch.setattr(compare_module, "get_suite", lambda game: fake)
    monkeypatch.delenv("COLUMNS", raising=False)
    if runner == "pipe":
        buffer = io.StringIO()  # not a terminal: rich would assume 80 columns
        console = Console(file=buffer)
        assert not console.is_terminal and console.width == 80
        compare_module.run_compare(tmp_path, console=console, wandb=False)
        output = buffer.getvalue()
    else:
        out = CliRunner().invoke(app, ["compare", "--out", str(tmp_path / "run"), "--no-wandb"])
        assert out.exit_code == 0, out.output
        output = out.output
    rows = [line for line in output.splitlines() if line.startswith("│")]
    assert len(rows) == 2, output
    for name in [*fake.agent_names(), *fake.datasets()]:
        assert any(name in row for row in rows), f"{name!r} cut in:\n{output}"
    assert not any("…" in row for row in rows)


def test_compare_table_in_a_narrow_terminal_folds_names_instead_of_cutting() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=True, color_system=None)
    record = Record("binpacking", "weibull-100k:seed=0,count=1,rounding=round",
                    "first_fit_with_a_very_long_descriptive_name", "heuristic", "excess_pct",
                    4.0, 5.0, 1.0)
    compare_module.print_table(console, compare_module.records_table([record], "binpacking"))
    lines = buffer.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    cells = [line.split("│")[1:3] for line in lines if line.startswith("│")]
    assert len(cells) > 1, "the names fold onto more lines"
    assert "".join(c[0].strip() for c in cells) == record.dataset
    assert "".join(c[1].strip() for c in cells) == record.agent


def test_an_agent_failing_on_one_set_is_reported_and_the_rest_runs(suite, tmp_path, monkeypatch):
    real = suite.evaluate

    def evaluate(agent, dataset):
        if (agent, dataset) == ("second", "b"):
            raise ValueError("evolved:second: priority returned NaN for item 2")
        return real(agent, dataset)

    monkeypatch.setattr(suite, "evaluate", evaluate)
    result = compare_module.run_compare(tmp_path, wandb=False)
    assert len(result.records) == 5  # every other (agent, dataset) pair was scored
    assert result.failures == [("binpacking", "b", "second",
                                "ValueError: evolved:second: priority returned NaN for item 2")]
    report = (tmp_path / "report.md").read_text()
    assert "## Failures" in report and "priority returned NaN" in report


def set_first_value(summary: Path, value: str) -> None:
    """Overwrite the value of the first record of a summary.csv."""
    rows = list(csv.DictReader(summary.open()))
    rows[0]["value"] = value
    with summary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def test_compare_reuse_plays_only_what_the_earlier_run_lacks(suite: CountingSuite, tmp_path: Path) -> None:
    first = CliRunner().invoke(app, ["compare", "--out", str(tmp_path / "one"), "--agent", "first", "--no-wandb"])
    assert first.exit_code == 0, first.output
    # Edit the earlier number: a reused result is taken as it is, not played again.
    summary = tmp_path / "one" / "summary.csv"
    set_first_value(summary, "99.0")
    suite.calls.clear()
    again = CliRunner().invoke(app, ["compare", "--out", str(tmp_path / "two"), "--reuse", str(tmp_path / "one"),
                                     "--full", "--no-wandb"])
    assert again.exit_code == 0, again.output
    played = {(a, d) for a in suite.agent_names() for d in ("a", "b", "c")} - {("first", "a"), ("first", "b")}
    assert sorted(suite.calls) == sorted(played)
    merged = {(r["agent"], r["dataset"]): r["value"] for r in csv.DictReader((tmp_path / "two" / "summary.csv").open())}
    assert len(merged) == 9 and merged[("first", "a")] == "99.0"
    assert f"2 of the 9 (game, dataset, agent) results were taken from the earlier comparison {tmp_path / 'one'}" \
        in (tmp_path / "two" / "report.md").read_text()
    # Several folders: all their results are reused, and a later folder's result wins.
    set_first_value(summary, "7.0")
    merged[("first", "a")] = "7.0"
    suite.calls.clear()
    third = CliRunner().invoke(app, ["compare", "--out", str(tmp_path / "three"), "--full", "--no-wandb",
                                     "--reuse", str(tmp_path / "two"), "--reuse", str(tmp_path / "one")])
    assert third.exit_code == 0, third.output
    assert suite.calls == []
    values = {(r["agent"], r["dataset"]): r["value"] for r in csv.DictReader((tmp_path / "three" / "summary.csv").open())}
    assert values == merged


@pytest.mark.parametrize(("content", "message"), [(None, "No such file"), ("a,b\n1,2\n", "not a compare summary.csv")])
def test_compare_reuse_names_a_bad_summary(suite: CountingSuite, tmp_path: Path, content, message) -> None:
    summary = tmp_path / "summary.csv"
    if content is not None:
        summary.write_text(content)
    out = CliRunner().invoke(app, ["compare", "--out", str(tmp_path / "r"), "--reuse", str(summary), "--no-wandb"],
                             env={"COLUMNS": "300"})
    assert out.exit_code == 2
    assert message in out.output and "--reuse" in out.output and not suite.calls
