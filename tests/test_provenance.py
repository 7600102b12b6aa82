"""Provenance: rule-graph parsing, Mermaid text, layered drawing, manifest and git state."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from socflow.ingest import IngestError
from socflow.provenance import (
    PACKAGES,
    RuleGraph,
    build_manifest,
    draw_rulegraph,
    git_state,
    hash_datasets,
    layered_layout,
    parse_dot,
    read_benchmarks,
    read_input_hashes,
    render_png,
    resources_from_config,
    snakemake_rulegraph,
    to_mermaid,
    write_benchmarks_csv,
    write_input_hashes,
    write_manifest,
    write_rulegraph,
)

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Verbatim shape of `snakemake --rulegraph` output (Snakemake 9).
SNAKEMAKE_DOT = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
    node[shape=box, style=rounded, fontname=sans,                 fontsize=10, penwidth=2];
    edge[penwidth=2, color=grey];
\t0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
\t1[label = "data_quality_report", color = "0.17 0.6 0.85", style="rounded"];
\t2[label = "ingest", color = "0.33 0.6 0.85", style="rounded"];
\t3[label = "synthesize", color = "0.50 0.6 0.85", style="rounded"];
\t1 -> 0
\t2 -> 1
\t3 -> 2
}
"""

# A workflow-sized graph (21 rules) with edges that skip layers.
BIG_EDGES = [
    ("synthesize", "ingest"), ("ingest", "data_quality_report"), ("ingest", "soc_flag"),
    ("soc_flag", "cooffending_groups"), ("cooffending_groups", "describe"),
    ("soc_flag", "harm_weights"), ("harm_weights", "describe"),
    ("describe", "model_discontinuance"), ("describe", "model_dismissal"),
    ("soc_flag", "reappearance"), ("reappearance", "survival"), ("describe", "sdc_frequency"),
    ("harm_weights", "sdc_magnitude"), ("model_discontinuance", "sdc_model"),
    ("model_dismissal", "sdc_model"), ("survival", "sdc_survival"),
    ("sdc_frequency", "sdc_audit"), ("sdc_magnitude", "sdc_audit"), ("sdc_model", "sdc_audit"),
    ("sdc_survival", "sdc_audit"), ("sdc_audit", "workbook"), ("sdc_audit", "figures"),
    ("figures", "summary_report"), ("workbook", "summary_report"),
    ("data_quality_report", "summary_report"), ("summary_report", "provenance"),
    ("data_quality_report", "provenance"), ("provenance", "all"), ("summary_report", "all"),
    ("data_quality_report", "all"), ("workbook", "all"),
]  # fmt: skip


def big_graph() -> RuleGraph:
    names = list(dict.fromkeys(n for e in BIG_EDGES for n in e))
    return RuleGraph(labels={n: n for n in names}, edges=list(BIG_EDGES))


def big_dot() -> str:
    g = big_graph()
    ids = {n: str(k) for k, n in enumerate(g.nodes)}
    body = [f'\t{ids[n]}[label = "{n}", color = "0.1 0.6 0.85"];' for n in g.nodes]
    body += [f"\t{ids[a]} -> {ids[b]}" for a, b in g.edges]
    return "digraph snakemake_dag {\n" + "\n".join(body) + "\n}\n"


# --- DOT and Mermaid -------------------------------------------------------------------------


def test_parse_dot_reads_snakemake_rulegraph():
    g = parse_dot(SNAKEMAKE_DOT)
    assert g.labels == {"0": "all", "1": "data_quality_report", "2": "ingest", "3": "synthesize"}
    assert g.edges == [("1", "0"), ("2", "1"), ("3", "2")]


def test_parse_dot_handles_general_syntax():
    text = """
    // a comment
    strict digraph "my graph" {
      rankdir = TB;  /* graph attribute */
      node [shape=box];
      "a b" [label="first, \\"quoted\\"", color="1 2 3"];
      c -> d -> "a b" [color=grey]; e:port1 -> c
      subgraph cluster_x { f }
    }
    """
    g = parse_dot(text)
    assert g.labels["a b"] == 'first, "quoted"'
    assert g.labels["c"] == "c"
    assert g.edges == [("c", "d"), ("d", "a b"), ("e", "c")]
    assert set(g.nodes) == {"a b", "c", "d", "e", "f"}


def test_parse_dot_refuses_text_that_is_no_graph():
    with pytest.raises(ValueError, match="no opening brace"):
        parse_dot("Building DAG of jobs")
    with pytest.raises(ValueError, match="cannot parse DOT"):
        parse_dot("Building DAG of jobs...")


def test_mermaid_text():
    assert to_mermaid(parse_dot(SNAKEMAKE_DOT)) == (
        "flowchart TD\n"
        '    n0["all"]\n'
        '    n1["data_quality_report"]\n'
        '    n2["ingest"]\n'
        '    n3["synthesize"]\n'
        "    n1 --> n0\n"
        "    n2 --> n1\n"
        "    n3 --> n2\n"
    )


def test_mermaid_escapes_quotes():
    g = RuleGraph(labels={"x": 'say "hi"'}, edges=[])
    assert 'n0["say #quot;hi#quot;"]' in to_mermaid(g)


# --- layout and picture ----------------------------------------------------------------------


def test_layered_layout_sends_every_edge_downward():
    g = big_graph()
    lay = layered_layout(g)
    assert lay.layer["synthesize"] == 0
    assert lay.layer["all"] == max(lay.layer[n] for n in g.nodes)
    for a, b in g.edges:
        assert lay.layer[a] < lay.layer[b], (a, b)
        route = lay.routes[(a, b)]
        assert route[0] == a and route[-1] == b
        # one step per layer: long edges pass through a point in every layer they cross
        assert [lay.layer[v] for v in route] == list(range(lay.layer[a], lay.layer[b] + 1))
    # longest-path layering: a node sits one below its deepest predecessor
    for n in g.nodes:
        preds = [a for a, b in g.edges if b == n]
        if preds:
            assert lay.layer[n] == 1 + max(lay.layer[p] for p in preds)


def test_layered_layout_keeps_boxes_apart():
    g = big_graph()
    lay = layered_layout(g, gap=0.15)
    for k in set(lay.layer.values()):
        xs = sorted(lay.x[n] for n in g.nodes if lay.layer[n] == k)
        assert all(b - a >= 1.15 - 1e-9 for a, b in pairwise(xs))


def test_layered_layout_is_deterministic_and_refuses_cycles():
    assert layered_layout(big_graph()) == layered_layout(big_graph())
    with pytest.raises(ValueError, match="cycle"):
        layered_layout(RuleGraph(labels={"a": "a", "b": "b"}, edges=[("a", "b"), ("b", "a")]))


def test_matplotlib_picture_is_written(tmp_path):
    png = draw_rulegraph(big_graph(), tmp_path / "sub" / "g.png")
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert render_png(SNAKEMAKE_DOT, tmp_path / "small.png", use_graphviz=False) == "matplotlib"
    assert (tmp_path / "small.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_graphviz_picture_when_dot_is_on_path(tmp_path):
    assert render_png(big_dot(), tmp_path / "g.png") == "graphviz"
    assert (tmp_path / "g.png").read_bytes().startswith(PNG_MAGIC)


def test_write_rulegraph_writes_three_forms(tmp_path):
    out = [tmp_path / f"rulegraph.{ext}" for ext in ("dot", "mmd", "png")]
    summary = write_rulegraph(big_dot(), *out, use_graphviz=False)
    assert out[0].read_text() == big_dot()
    assert out[1].read_text().startswith("flowchart TD\n")
    assert out[2].stat().st_size > 0
    assert summary["png_renderer"] == "matplotlib"
    assert "sdc_audit" in summary["rules"] and ["provenance", "all"] in map(list, summary["edges"])


# --- manifest --------------------------------------------------------------------------------


@pytest.fixture
def run_dir(tmp_path, monkeypatch) -> Path:
    """A working directory as a run leaves it: data, a resource, benchmarks."""
    monkeypatch.chdir(tmp_path)
    shards = Path("data/cases")
    shards.mkdir(parents=True)
    (shards / "part-001.parquet").write_bytes(b"second shard")
    (shards / "part-000.parquet").write_bytes(b"first shard")
    (shards / ".snakemake_timestamp").write_text("")  # Snakemake's marker: not data
    Path("data/offences.csv").write_text("a,b\n1,2\n")
    Path("codes.csv").write_text("ho_code\n00101\n")
    Path("benchmarks/ingest").mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmean_load\tcpu_time\n"
    Path("benchmarks/synthesize.tsv").write_text(header + "1.5\t0:00:01\t120.3\t900\t50.1\t0.7\n")
    Path("benchmarks/ingest/cases.tsv").write_text(header + "0.25\t0:00:00\tNA\t10\t0\t0.1\n")
    return tmp_path


def _manifest(**over) -> dict:
    args = {
        "config": {"run_name": "test", "data_source": "synthetic", "resources": {"x": "codes.csv"}},
        "datasets": {
            "cases": {"path": "data/cases", "format": "parquet"},
            "offences": {"path": "data/offences.csv", "format": "csv"},
        },
        "resources": {"soc_codes": "codes.csv"},
        "resource_versions": {"soc_codes": "2024-06"},
        "configfiles": ["codes.csv", "./codes.csv", "missing.yaml"],
        "repo_dir": ".",
        "bench_dir": "benchmarks",
        "git": "/nonexistent/git",
    }
    return build_manifest(**(args | over))


def test_manifest_records_hashes_versions_and_benchmarks(run_dir):
    m = _manifest()
    assert {
        "manifest_version", "run_name", "data_source", "inputs", "resources", "config_files",
        "config", "python", "packages", "git", "rulegraph", "benchmarks",
    } <= set(m)  # fmt: skip
    cases = m["inputs"]["cases"]["files"]
    assert [f["path"] for f in cases] == [
        "data/cases/part-000.parquet", "data/cases/part-001.parquet",
    ]  # fmt: skip
    assert cases[0]["sha256"] == hashlib.sha256(b"first shard").hexdigest()
    assert m["inputs"]["offences"]["files"][0]["bytes"] == 8
    codes = m["resources"]["soc_codes"]
    assert codes["version"] == "2024-06"
    assert codes["sha256"] == hashlib.sha256(b"ho_code\n00101\n").hexdigest()
    assert [f["path"] for f in m["config_files"]] == ["codes.csv"]  # once, existing only
    assert m["config"]["run_name"] == "test"
    assert set(m["packages"]) == set(PACKAGES)
    assert m["packages"]["polars"] and m["python"]["version"].startswith("3.")
    jobs = {(b["job"], b["repeat"]) for b in m["benchmarks"]}
    assert jobs == {("ingest/cases", 0), ("synthesize", 0)}
    synth = next(b for b in m["benchmarks"] if b["job"] == "synthesize")
    assert synth["s"] == 1.5 and synth["max_vms"] == 900 and synth["h:m:s"] == "0:00:01"
    assert next(b for b in m["benchmarks"] if b["job"] == "ingest/cases")["max_rss"] is None


def test_manifest_is_deterministic(run_dir):
    write_manifest(_manifest(), "a.json")
    write_manifest(_manifest(), "b.json")
    assert Path("a.json").read_bytes() == Path("b.json").read_bytes()
    assert json.loads(Path("a.json").read_text())["git"]["available"] is False


def test_benchmarks_csv(run_dir):
    write_benchmarks_csv(read_benchmarks("benchmarks"), "bench.csv")
    with open("bench.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["job"] for r in rows] == ["ingest/cases", "synthesize"]
    assert list(rows[0])[:3] == ["job", "repeat", "s"]
    assert rows[0]["max_rss"] == "" and rows[1]["max_rss"] == "120.3"
    assert read_benchmarks("no_such_folder") == []


def test_missing_dataset_is_named(run_dir):
    with pytest.raises(IngestError, match=r"nowhere\.csv"):
        hash_datasets({"t": {"path": "nowhere.csv", "format": "csv"}})


def test_resources_from_config():
    paths, versions = resources_from_config(
        {
            "ho_offence_codes": "a.csv",
            "soc": {"path": "b.csv", "version": 3},
            "other": {"x": 1},
            "unset": {"path": None, "version": "1"},
        }
    )
    assert paths == {"ho_offence_codes": "a.csv", "soc": "b.csv"}
    assert versions == {"soc": "3"}


# --- git -------------------------------------------------------------------------------------


def test_git_absent_is_reported_not_raised(tmp_path):
    state = git_state(tmp_path, git="/nonexistent/git")
    assert state["available"] is False and state["commit"] is None and state["dirty"] is None
    assert "not found" in state["reason"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_outside_a_repository_and_inside_one(tmp_path):
    outside = git_state(tmp_path)
    assert outside["available"] is False and outside["reason"]

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path), *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / "f.txt").write_text("1")
    git("add", "f.txt")
    git("commit", "-q", "-m", "one")
    clean = git_state(tmp_path)
    assert clean["available"] is True and len(clean["commit"]) == 40
    assert clean["dirty"] is False
    (tmp_path / "f.txt").write_text("2")
    dirty = git_state(tmp_path)
    assert dirty["dirty"] is True and dirty["changed"] == ["f.txt"]


# --- Snakemake itself ------------------------------------------------------------------------


def test_rulegraph_of_the_real_snakefile(tmp_path):
    shutil.copytree(REPO / "resources", tmp_path / "resources")
    shutil.copytree(REPO / "config", tmp_path / "config")
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    dot = snakemake_rulegraph(
        REPO / "Snakefile",
        tmp_path,
        configfiles=[REPO / "config/config.yaml", REPO / "tests/data/tiny.yaml"],
        config=config,
    )
    rules = set(parse_dot(dot).labels.values())
    assert {"all", "synthesize", "ingest", "data_quality_report"} <= rules
    lay = layered_layout(parse_dot(dot))
    labels = parse_dot(dot).labels
    layer = {labels[n]: lay.layer[n] for n in labels}
    assert layer["synthesize"] < layer["ingest"] < layer["all"]


def test_rulegraph_failure_is_reported(tmp_path):
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["data_source"] = "extract"  # the synthetic mapping's paths do not exist
    with pytest.raises(RuntimeError, match="rulegraph failed"):
        snakemake_rulegraph(REPO / "Snakefile", tmp_path, config=config)


def test_broken_graphviz_falls_back_to_matplotlib(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\nexit 3\n")
    (fake / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    assert render_png(SNAKEMAKE_DOT, tmp_path / "g.png") == "matplotlib"
    assert (tmp_path / "g.png").read_bytes().startswith(PNG_MAGIC)


def test_input_hashes_written_once_give_the_manifest_hashing_the_files(run_dir):
    """The manifest from rule input_hashes' file equals the one hashing the files itself,
    byte for byte; a hashes file of other tables is refused, naming the rule to re-run."""
    datasets = {
        "cases": {"path": "data/cases", "format": "parquet"},
        "offences": {"path": "data/offences.csv", "format": "csv"},
        "absent": None,
    }
    write_input_hashes(datasets, "hashes/input_hashes.json")
    hashes = read_input_hashes("hashes/input_hashes.json", datasets)
    assert hashes == hash_datasets(datasets)
    write_manifest(_manifest(datasets=datasets), "a.json")
    write_manifest(_manifest(datasets=datasets, input_hashes=hashes), "b.json")
    assert Path("a.json").read_bytes() == Path("b.json").read_bytes()
    with pytest.raises(ValueError, match="input_hashes"):
        read_input_hashes("hashes/input_hashes.json", ["cases"])
