"""The workflow as a user runs it: the Snakemake CLI on the tiny synthetic scale."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
import yaml
from snakemake import benchmark

from socflow.labels import HEADLINE_MEASURES
from socflow.schema import schema_markdown

from .browser import assert_renders_offline
from .sacro_viewer import open_with_sacro_viewer

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def _snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [
        SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--configfile", str(REPO / "config/config.yaml"),
        str(REPO / "tests/data/tiny.yaml"), *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A copy of the resources in a scratch folder, and a full run of the workflow there."""
    work = tmp_path_factory.mktemp("run")
    shutil.copytree(REPO / "resources", work / "resources")
    proc = _snakemake(work)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


@pytest.mark.e2e
def test_tiny_run_produces_reports(tiny_run):
    html = (tiny_run / "results/quality/data_quality.html").read_text()
    assert "SYNTHETIC DATA" in html
    assert "Reconciliation" in html
    rec = pl.read_csv(tiny_run / "results/quality/tables/reconciliation.csv")
    assert (rec["rows_read"] == rec["rows_kept"] + rec["rows_quarantined"]).all()
    # Every table the shipped mapping declares present (all but the PNC extract) is listed.
    assert set(rec["table"]) == {
        "crown_defendant_cases", "crown_offences", "mags_defendant_cases", "xjs_link",
        "mags_crown_journey", "prison_journeys", "prison_establishment_spells",
        "prison_incidents", "oasys_assessments", "probation_starts",
    }  # fmt: skip
    for rule in ("synthesize", "data_quality_report", "summary_report", "describe"):
        assert (tiny_run / f"benchmarks/{rule}.tsv").exists()
        assert (tiny_run / f"logs/{rule}.log").exists()


@pytest.mark.e2e
def test_rerun_is_a_no_op(tiny_run):
    proc = _snakemake(tiny_run, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_missing_extract_stops_with_the_file_named(tmp_path):
    shutil.copytree(REPO / "resources", tmp_path / "resources")
    mapping = yaml.safe_load((REPO / "config/mappings/synthetic.yaml").read_text())
    for table, spec in mapping["datasets"].items():
        if spec is None:
            continue  # declared absent (the PNC extract)
        spec["path"] = str(tmp_path / f"{table}.csv")
        (tmp_path / f"{table}.csv").write_text("x\n1\n")
    mapping["datasets"]["crown_offences"]["path"] = "/nonexistent/crown_offences.csv"
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(mapping))
    overlay = tmp_path / "extract.yaml"
    overlay.write_text(f"data_source: extract\nmapping: {tmp_path / 'mapping.yaml'}\n")
    proc = _snakemake(tmp_path, "-n", "--configfile", str(REPO / "config/config.yaml"),
                      str(REPO / "tests/data/tiny.yaml"), str(overlay))  # fmt: skip
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "/nonexistent/crown_offences.csv" in out
    assert "datasets.crown_offences.path" in out


def test_config_schema_refuses_bad_values(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data_source: somewhere_else\n")
    proc = _snakemake(tmp_path, "-n", "--configfile", str(REPO / "config/config.yaml"), str(bad))
    assert proc.returncode != 0
    assert "somewhere_else" in proc.stdout + proc.stderr


def test_schema_doc_is_current():
    doc = (REPO / "docs/canonical_schema.md").read_text()
    assert doc.strip() == schema_markdown().strip()


@pytest.mark.e2e
def test_every_released_file_is_an_output_of_the_checker_record(tiny_run):
    release, checker = tiny_run / "reports/release", tiny_run / "checker"
    data = json.loads((checker / "results.json").read_text())
    assert data["version"] == "1.0.2"
    records = data["results"]
    listed = {f["name"]: rec for rec in records.values() for f in rec["files"]}
    released = {p.relative_to(release).as_posix() for p in release.rglob("*")
                if p.is_file() and p.name != ".snakemake_timestamp"}  # fmt: skip
    assert released == set(listed)
    assert {"summary.html", "summary.md"} <= released
    assert any(n.startswith("figures/") for n in released)
    rules = set(re.findall(r"^rule (\w+):", "\n".join(
        p.read_text() for p in (REPO / "workflow/rules").glob("*.smk")), re.M))  # fmt: skip
    for name, rec in listed.items():
        digest = hashlib.sha256((release / name).read_bytes()).hexdigest()
        assert (checker / "checksums" / f"{name}.txt").read_text() == digest, name
        assert rec["status"] == "pass" or rec["exception"], name
        named = re.findall(r"rule (\w+)", rec["command"])
        assert named and set(named) <= rules, rec["command"]
    # The evidence stays with the checker: no reason labels or records in the release.
    for p in release.rglob("*"):
        if p.suffix in (".csv", ".md", ".html"):
            text = p.read_text()
            assert "MinimumThresholdCheck" not in text and "PresenceOfZeroCheck" not in text
    assert not list(release.rglob("*.json")) and not list(release.rglob("*.xlsx"))
    acro_record = pytest.importorskip("acro.record")
    loaded = acro_record.load_records(str(checker))
    assert set(loaded.get_keys()) == set(records)
    # Every output round-trips: tables load as the released CSV, other files by name.
    import pandas as pd  # noqa: PLC0415 - ACRO's reader returns pandas frames

    for uid, rec in records.items():
        [name] = [f["name"] for f in rec["files"]]
        output = loaded.get(uid).output
        if name.endswith(".csv") and (release / name).stat().st_size > 1:
            assert output[0].equals(pd.read_csv(release / name)), uid
        elif not name.endswith(".csv"):
            assert output == [name], uid
        assert loaded.get(uid).exception == rec["exception"]
        assert loaded.get(uid).timestamp == rec["timestamp"]


@pytest.mark.e2e
def test_no_establishment_is_named_in_released_or_checker_files(tiny_run):
    """Establishments are identifiable: no establishment ID appears, as a word, in any file
    under reports/release/ or checker/ (text files; HTML without its embedded images; the
    cells of the output request workbook), while the stage did run and release outputs."""
    ids = set()
    for table in ("prison_establishment_spells", "prison_incidents"):
        path = tiny_run / f"results/ingest/{table}.parquet"
        ids |= set(pl.read_parquet(path, columns=["establishment_id"])["establishment_id"])
    assert len(ids) >= 12
    word = re.compile(r"\b(" + "|".join(map(re.escape, sorted(ids))) + r")\b")
    assert (tiny_run / "reports/release/tables/establishments/establishments_models.csv").exists()
    checked = 0
    for root in (tiny_run / "reports/release", tiny_run / "checker"):
        for p in sorted(root.rglob("*")):
            if not p.is_file() or p.suffix == ".png":
                continue
            if p.suffix == ".xlsx":
                with zipfile.ZipFile(p) as z:
                    text = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
            else:
                text = p.read_text()
            text = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "", text)
            assert not word.search(text), (p, word.search(text).group(0))
            checked += 1
    assert checked > 100


@pytest.mark.e2e
def test_footnotes_count_the_marks_shown_and_notes_name_no_small_unit(tiny_run):
    text = (tiny_run / "reports/release/summary.md").read_text()
    checked = 0
    for block in re.split(r"\n(?=\*\*)", text):
        lines = block.splitlines()
        marks = sum(line.count("[c]") for line in lines if line.startswith("| "))
        foot = re.search(r"_(\d+) value\(s\) withheld", block)
        assert marks == (int(foot.group(1)) if foot else 0), lines[0]
        checked += bool(marks)
    assert checked > 5
    # Pooled model levels are counted, never listed (they would name small courts).
    assert not re.search(r"too-small levels? \d", text)


@pytest.mark.e2e
def test_checker_folder_opens_in_the_sacro_viewer(tiny_run):
    records = json.loads((tiny_run / "checker/results.json").read_text())["results"]
    report = open_with_sacro_viewer(tiny_run / "checker")
    assert report["outputs"] == len(records)
    assert report["files"] == sum(len(r["files"]) for r in records.values())
    assert report["invalid_checksums"] == [] and report["returncode"] == 0


@pytest.mark.e2e
def test_summary_report_is_self_contained(tiny_run):
    html = (tiny_run / "reports/release/summary.html").read_text()
    assert "SYNTHETIC DATA" in html
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    n_png = len(list((tiny_run / "reports/release/figures").glob("*.png")))
    assert n_png > 5
    assert html.count("data:image/png;base64,") == n_png
    # The release figures are those rule `figures` drew, stage by stage, byte for byte.
    drawn = sorted((tiny_run / "results/figures").glob("*/*.png"))
    assert len(drawn) == n_png
    for png in drawn:
        assert png.read_bytes() == (tiny_run / "reports/release/figures" / png.name).read_bytes()
    for stage in ("describe", "survival"):
        assert (tiny_run / f"benchmarks/figures/{stage}.tsv").exists()
        assert (tiny_run / f"logs/figures/{stage}.log").exists()
    for section in ("Data quality", "Identifying SOC cases", "Nature, extent and outcomes"):
        assert section in html


@pytest.mark.e2e
def test_published_counts_respect_the_threshold(tiny_run):
    for t in (tiny_run / "reports/release/tables/describe").glob("*.csv"):
        df = pl.read_csv(t, null_values="[c]")
        if "statistic" in df.columns:  # a statistic rests on its persons
            assert df["n_persons"].drop_nulls().min() >= 10, t.name
            continue
        cells = df.select(pl.exclude(df.columns[0])).unpivot()["value"].drop_nulls()
        shown = cells.to_list()
        # Zeros appear only where structural (a one-defendant case cannot be SOC).
        assert all(v >= 10 or (v == 0 and t.stem == "describe_defendants_per_case")
                   for v in shown), t.name  # fmt: skip


def _planned_rules(out: str) -> set[str]:
    """The rules of the first "Job stats" table a dry run prints (not the folder names and
    other text around it)."""
    lines = out.splitlines()
    start = lines.index("Job stats:") + 3  # the title, the column names, the rule
    rules = set()
    for line in lines[start:]:
        name = line.split()[0] if line.split() else "total"
        if name == "total":
            break
        rules.add(name)
    return rules


@pytest.mark.e2e
def test_editing_the_code_list_reruns_flagging_not_ingest(tiny_run):
    code_list = tiny_run / "resources/offence_codes/soc_offence_codes.csv"
    text = code_list.read_text()
    code_list.write_text(text.replace("Theft Act 1968 s.8", "Theft Act 1968 s 8"))
    try:
        proc = _snakemake(tiny_run, "-n", "--quiet", "rules")
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        planned = _planned_rules(out)
        assert {"flag_soc", "summary_report"} <= planned
        assert not {"synthesize", "ingest"} & planned
        # The input files are hashed again only when they change, not for the manifest; the
        # rule graph follows from the workflow's files and config, not from the code list.
        assert "provenance" in planned and "input_hashes" not in planned
        assert "rulegraph" not in planned
    finally:
        code_list.write_text(text)


@pytest.mark.e2e
def test_snakemake_report_includes_the_summary(tiny_run):
    target = tiny_run / "snakemake_report.zip"
    proc = _snakemake(tiny_run, "--report", str(target))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with zipfile.ZipFile(target) as z:
        names = z.namelist()
    assert any(n.endswith("summary.html") for n in names)
    assert any(n.endswith(".png") for n in names)


@pytest.mark.e2e
@pytest.mark.browser
def test_summary_renders_offline_in_a_browser(tiny_run):
    # The screenshot is kept as a test artefact (git-ignored).
    shot = REPO / "test-artifacts" / "summary.png"
    shot.parent.mkdir(exist_ok=True)
    result = assert_renders_offline(tiny_run / "reports/release/summary.html", shot)
    # The table of contents resolves, and nothing is wider than the page.
    assert result["anchors"] > 10
    assert result["broken_anchors"] == []
    assert result["wider_than_page"] == []


@pytest.mark.e2e
def test_provenance_manifest(tiny_run):
    prov = tiny_run / "reports/provenance"
    manifest = json.loads((prov / "manifest.json").read_text())
    text = json.dumps(manifest)
    assert "soc_offence_codes" in text and "polars" in text
    assert (prov / "rulegraph.png").stat().st_size > 1000
    dot = (prov / "rulegraph.dot").read_text()
    for rule in ("flag_soc", "disclosure_check", "figures", "summary_report"):
        assert rule in dot


@pytest.mark.parametrize(
    "overlay",
    ["sdc:\n  min_cell_count: 5\n", "sdc:\n  dominance_k: 0.95\n", "sdc:\n  p_ratio: 0.05\n",
     "sdc:\n  min_residual_df: 3\n", "sdc:\n  zeros_disclosive: false\n"],
)  # fmt: skip
def test_config_refuses_looser_disclosure_thresholds(tmp_path, overlay):
    loose = tmp_path / "loose.yaml"
    loose.write_text(overlay)
    proc = _snakemake(tmp_path, "-n", "--configfile", str(REPO / "config/config.yaml"), str(loose))
    assert proc.returncode != 0
    assert "sdc" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_moving_the_project_folder_reruns_nothing(tiny_run, tmp_path):
    """Params hold no absolute paths: the same run, driven from a copy of the project in
    another folder, has nothing to do."""
    files = (
        subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    moved = tmp_path / "moved"
    for f in filter(None, files):
        (moved / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, moved / f)
    cmd = [
        SNAKEMAKE, "--snakefile", str(moved / "Snakefile"), "--directory", str(tiny_run),
        "--cores", "1", "--configfile", str(moved / "config/config.yaml"),
        str(moved / "tests/data/tiny.yaml"), "-n",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_two_runs_give_byte_identical_release_and_checker_folders(tmp_path):
    """Two runs of tiny, with SOURCE_DATE_EPOCH set, give the same bytes in both folders."""
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    digests = []
    for name in ("a", "b"):
        work = tmp_path / name
        shutil.copytree(REPO / "resources", work / "resources")
        proc = _snakemake(work, env=env)
        assert proc.returncode == 0, proc.stderr[-4000:]
        digests.append({
            p.relative_to(work).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("reports/release", "checker")
            for p in sorted((work / folder).rglob("*")) if p.is_file()
        })  # fmt: skip
    assert digests[0].keys() == digests[1].keys()
    differing = sorted(k for k in digests[0] if digests[0][k] != digests[1][k])
    assert differing == [], differing


@pytest.mark.e2e
def test_no_published_text_names_a_sensitivity_variant_by_its_config_key(tiny_run):
    keys = yaml.safe_load((REPO / "config/config.yaml").read_text())["soc"]["sensitivity"]
    release = tiny_run / "reports/release"
    texts = [p for p in release.rglob("*") if p.suffix in (".html", ".md", ".csv")]
    assert texts
    found = sorted(
        f"{p.relative_to(release)}: {k}" for p in texts for k in keys if k in p.read_text()
    )
    assert found == []


@pytest.mark.e2e
def test_every_headline_measure_is_in_both_pages(tiny_run):
    for page in ("summary.html", "summary.md"):
        text = (tiny_run / "reports/release" / page).read_text()
        head = text[text.index("Headline measures") :]
        for label in HEADLINE_MEASURES.values():
            assert label in head, (page, label)
        # Recall after custody, from the synthetic linked prison data (else "needs prison data").
        assert "released persons" in head and "needs prison data" not in head, page
        # The measures the court data can give carry a percentage (or [c]), with a base.
        assert "% (" in head and "appearances" in head and "index persons" in head


@pytest.mark.e2e
def test_linkage_section_reports_the_default_extract(tiny_run):
    """The default mapping has the linked prison, OASys and probation tables but declares the
    PNC extract absent: the linked-data section shows profiles and says PNC is absent."""
    checked = json.loads((tiny_run / "results/disclosure/linkage.json").read_text())
    ids = {o["output_id"] for o in checked["outputs"]}
    assert {"linkage_found", "linkage_needs", "linkage_history_courts"} <= ids
    assert "linkage_history_pnc" not in ids
    for page in ("summary.md", "summary.html"):
        text = (tiny_run / "reports/release" / page).read_text()
        assert "Linked data: who is linked and their profiles" in text
        assert "Police National Computer histories: not produced" in text
        assert "no PNC extract is mapped" in text


@pytest.mark.e2e
def test_every_job_asks_for_threads_memory_and_time_sized_to_its_input(tiny_run):
    """Every job carries its rule's mem_mb and runtime (Snakemake's defaults have no runtime),
    and at `tiny` none asks for a gigabyte: the requests grow with the input."""
    proc = _snakemake(tiny_run, "-n", "--forceall")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    jobs = re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", out, re.MULTILINE | re.DOTALL)
    assert len(jobs) > 20
    for rule, body in jobs:
        if rule == "all":
            continue
        resources = dict(re.findall(r"(\w+)=([^,\s]+)", body.split("resources:")[1]))
        assert 0 < int(resources["mem_mb"]) < 1000, (rule, resources)
        assert 0 < int(resources["runtime"]) <= 30, (rule, resources)


def test_benchmark_sampler_reads_the_interval_the_workflow_sets(monkeypatch):
    """workflow/rules/resources.smk sets snakemake.benchmark.BENCHMARK_INTERVAL_SHORT; the
    setting works only while the sampler reads that module attribute each time it arms a
    sample (a Snakemake upgrade that binds it elsewhere must fail here)."""
    rules = (REPO / "workflow/rules/resources.smk").read_text()
    assert "snakemake_benchmark.BENCHMARK_INTERVAL_SHORT = BENCHMARK_SAMPLE_S" in rules
    monkeypatch.setattr(benchmark, "BENCHMARK_INTERVAL_SHORT", 7.0)

    class Probe(benchmark.ScheduledPeriodicTimer):
        def work(self):
            pass

    probe = Probe(benchmark.BENCHMARK_INTERVAL)
    probe.start()
    try:
        assert probe._timer.interval == 7.0
    finally:
        probe.cancel()


def test_comparing_code_lists_without_a_baseline_names_the_config_key(tmp_path):
    """Asking for the comparison when config names no baseline list stops with the key to set,
    not a traceback from inside the rule's script."""
    proc = _snakemake(tmp_path, "-n", "compare_code_lists")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "soc.baseline_code_list, which is empty" in out, out[-3000:]


@pytest.mark.e2e
def test_jobs_on_the_longest_chains_after_the_flags_are_started_first(tiny_run):
    """Snakemake passes no priority downstream: every job on harm's chain carries the highest
    priority, survival's and linkage's the next, per-stage jobs included (a code-list edit
    re-runs these chains; one left to the end runs alone on one core)."""
    proc = _snakemake(tiny_run, "-n", "--forceall")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    priority = {}
    for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", out, re.MULTILINE | re.DOTALL):
        stage = re.search(r"wildcards: stage=(\w+)", body)
        found = re.search(r"priority: (\d+)", body)
        priority[(rule, stage.group(1) if stage else None)] = int(found.group(1)) if found else 0
    harm_chain = [
        ("co_offending_groups", None), ("harm", None), ("disclosure_check", "harm"),
        ("figures", "harm"),
    ]  # fmt: skip
    next_chains = [
        ("survival", None), ("survival_sensitivity", None), ("linkage_cohort", None),
        ("linkage", None), ("disclosure_check", "survival"), ("figures", "linkage"),
    ]  # fmt: skip
    assert {priority[j] for j in harm_chain} == {20}
    assert {priority[j] for j in next_chains} == {10}
    assert priority[("figures", "describe")] == priority[("disclosure_check", "model")] == 0
