"""The monitor's dashboard in headless Chromium (Debian's chromium, driven by
Playwright) against a real cluster with replayed traffic: each chart shows
the figures of that traffic (read from the page's SVG data-* attributes and
text labels, compared with the router's replies), the page fetches nothing
from outside the monitor, and a screenshot is saved to the build dir (and
to $LYCEUM_DASHBOARD_PNG when set). The example analytics consumer
(deploy/analytics/report.py) reads the same log as a consumer group and
writes its plots; its figures agree with the monitor's."""

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from confluent_kafka import Producer
from playwright.sync_api import sync_playwright

from test_metrics import BASE_PORT, QUESTIONS, LiveCluster

SOURCE = os.environ.get("LYCEUM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "deploy", "analytics"))
from lyceum_events import Schemas  # noqa: E402

CHROMIUM = os.environ.get("LYCEUM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
REASON = "promoted student -> ta: Wilson lower bound 0.62 over 30 answers reached 0.60"
REPLAY_MODELS = ("supervisor", "teacher", "student")


def inject_trainer_events(cluster, schemas, samples_at_us):
    """What a trainer would publish: a promotion with its evidence, two
    exemplars for the student in math, a gated fine-tuned version in geo."""
    p = Producer({"bootstrap.servers": os.environ["LYCEUM_KAFKA_BROKERS"]})
    role = schemas.new("RoleChange", model="student", domain="math", from_role=1, to_role=2,
                       reason=REASON, evidence_count=30, mean_score=0.74, lower_bound=0.62,
                       upper_bound=0.85, at_us=int(time.time() * 1e6))
    p.produce(cluster.topics["roles"], key="student", value=schemas.encode("ROLE_CHANGE", role))
    for i, at in enumerate(samples_at_us):
        s = schemas.new("TrainingSample", sample_id=f"dash-sample-{i}-{os.getpid()}",
                        domain="math", student_model="student", source_model="teacher",
                        answer="42", score=1.0, at_us=at)
        p.produce(cluster.topics["training"], key="student",
                  value=schemas.encode("TRAINING_SAMPLE", s))
    job = schemas.new("TrainingJob", job_id=f"dash-job-{os.getpid()}", student_model="student",
                      domain="geo", samples=40, state=5, dispatcher="command",
                      result_model="student-ft1", created_at_us=int(time.time() * 1e6) - 1000,
                      updated_at_us=int(time.time() * 1e6), gate_score=0.9)
    p.produce(cluster.topics["training"], key="student", value=schemas.encode("TRAINING_JOB", job))
    assert p.flush(30) == 0


@pytest.fixture(scope="module")
def cluster():
    c = LiveCluster(BASE_PORT + 10).start(
        monitor_extra="  learning_min_exemplars: 2\n")
    c.traffic(rounds=1)
    middle = int(time.time() * 1e6)
    time.sleep(0.05)
    c.traffic(rounds=2)
    inject_trainer_events(c, Schemas(), [middle, middle + 1])
    c.wait_monitor(3 * len(QUESTIONS))
    deadline = time.time() + 30
    while time.time() < deadline:
        types = c.monitor_api("overview")["by_type"]
        if types["role_change"] >= 1 and types["training_sample"] >= 2 and types["training_job"]:
            break
        time.sleep(0.3)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def page(cluster):
    """The dashboard, loaded, with two refreshes behind it; the requests it made."""
    requests = []
    with sync_playwright() as pw:
        profile = tempfile.mkdtemp(prefix="lyceum-chromium-")
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.on("request", lambda r: requests.append(r.url))
        pg.goto(cluster.monitor + "/", wait_until="load")
        pg.wait_for_function(f"Number(document.body.dataset.events || 0) >= {3 * len(QUESTIONS)}",
                             timeout=20000)
        first = pg.evaluate("document.body.dataset.updated")
        pg.wait_for_function(f"document.body.dataset.updated !== '{first}'", timeout=10000)
        yield pg, requests
        shot = os.path.join(os.environ["LYCEUM_BUILD_DIR"], "monitor-dashboard.png")
        pg.screenshot(path=shot, full_page=True)
        if os.environ.get("LYCEUM_DASHBOARD_PNG"):
            shutil.copyfile(shot, os.environ["LYCEUM_DASHBOARD_PNG"])
        ctx.close()
        shutil.rmtree(profile, ignore_errors=True)


# SVG nodes have textContent, not innerText: text_content() reads chart labels.


def attr(pg, selector, name):
    value = pg.get_attribute(selector, name)
    assert value is not None, f"{selector} has no {name}"
    return value


def scored(cluster):
    """(domain, model) -> scores, from the router's replies (replay models only)."""
    cells = collections.defaultdict(list)
    for reply in cluster.replies:
        meta = reply["lyceum"]
        for model, score in meta["scores"].items():
            if model in REPLAY_MODELS:
                cells[(meta["domain"], model)].append(score)
    return cells


def test_page_is_self_contained(cluster, page):
    pg, requests = page
    assert requests and all(u.startswith(cluster.monitor + "/") for u in requests), requests
    assert pg.title() == "Lyceum monitor"


def test_kpis_show_the_traffic(cluster, page):
    pg, _ = page
    assert pg.inner_text("[data-kpi=queries] .v") == str(len(cluster.replies))
    overview = cluster.monitor_api("overview")
    assert pg.inner_text("[data-kpi=answer_calls] .v") == str(overview["answer_calls"])


def test_supervisor_chart(cluster, page):
    pg, _ = page
    usage = cluster.monitor_api("supervisor_usage")
    sup = sum("supervisor" in r["lyceum"]["answered_by"] for r in cluster.replies)
    assert int(attr(pg, "#chart-supervisor", "data-supervisor-calls")) == sup
    assert int(attr(pg, "#chart-supervisor", "data-total-calls")) == usage["totals"]["answer_calls"]
    shares = [p for p in usage["series"] if p["answer_share"] is not None]
    line = "#chart-supervisor g[data-series=answer_share]"
    assert int(attr(pg, line, "data-points")) == len(shares) >= 1
    assert pg.locator(line + " circle").count() == len(shares)


def test_cost_charts(cluster, page):
    pg, _ = page
    total = sum(r["lyceum"]["cost_usd"] for r in cluster.replies)
    assert abs(float(attr(pg, "#chart-cost", "data-total-usd")) - total) < 1e-9
    assert int(attr(pg, "#chart-cost", "data-queries")) == len(cluster.replies)
    assert pg.locator("#chart-cost path").count() == 2
    per_domain = collections.Counter(r["lyceum"]["domain"] for r in cluster.replies)
    for domain, n in per_domain.items():
        group = f"#chart-cost-domains g[data-domain={domain}]"
        assert int(attr(pg, group, "data-queries")) == n
        assert domain in pg.text_content(group)
    for model in REPLAY_MODELS:
        assert model in pg.text_content(f"#chart-cost-models g[data-model={model}]")
    assert int(attr(pg, "#chart-queries", "data-queries")) == len(cluster.replies)


def test_domain_accuracy_heatmap(cluster, page):
    pg, _ = page
    for (domain, model), scores in scored(cluster).items():
        cell = f"#chart-domains g.cell[data-domain={domain}][data-model={model}]"
        assert int(attr(pg, cell, "data-n")) == len(scores)
        assert abs(float(attr(pg, cell, "data-mean")) - sum(scores) / len(scores)) < 1e-9
        assert f"(n={len(scores)})" in pg.text_content(cell)
    labels = pg.locator("#chart-domains text.domain-label").all_text_contents()
    assert set(labels) >= {d for d, _, _ in QUESTIONS}


def test_role_timeline(cluster, page):
    pg, _ = page
    change = "#chart-roles g.change[data-model=student][data-domain=math][data-to=ta]"
    assert attr(pg, change, "data-from") == "student"
    assert attr(pg, change, "data-evidence") == "30"
    assert REASON in pg.inner_text("#table-roles")


def test_learning_chart(cluster, page):
    pg, _ = page
    learning = {(s["model"], s["domain"]): s for s in cluster.monitor_api("learning")["students"]}
    math = learning[("student", "math")]
    group = "#chart-learning g[data-model=student][data-domain=math]"
    assert int(attr(pg, group, "data-samples")) == math["samples"] >= 2
    assert attr(pg, group, "data-moment") == "exemplars"
    assert int(attr(pg, group, "data-before-n")) == math["before"]["n"]
    assert int(attr(pg, group, "data-after-n")) == math["after"]["n"]
    # every successful student answer in math falls on one side of the moment
    assert math["before"]["n"] + math["after"]["n"] == len(scored(cluster)[("math", "student")])
    assert math["before"]["n"] > 0 and math["after"]["n"] > 0
    geo = "#chart-learning g[data-model=student][data-domain=geo]"
    assert attr(pg, geo, "data-moment") == "finetune"
    assert "student-ft1" in pg.inner_text("#table-jobs")


def test_latency_and_errors(cluster, page):
    pg, _ = page
    calls = collections.Counter(m for r in cluster.replies for m in r["lyceum"]["answered_by"])
    for model in REPLAY_MODELS:
        group = f"#chart-latency g[data-model={model}]"
        assert int(attr(pg, group, "data-count")) >= calls[model] > 0
        assert int(attr(pg, group, "data-p50")) > 0  # replay answers take 20 ms and more
        assert int(attr(pg, f"#chart-errors g[data-model={model}]", "data-calls")) >= calls[model]
    assert pg.locator("#chart-latency g[data-model=end-to-end]").count() == 1
    errors = cluster.monitor_api("errors")["totals"]["errors"]
    assert int(attr(pg, "#chart-errors", "data-errors")) == errors


def test_analytics_report(cluster, tmp_path):
    """The example consumer reads the same log and agrees with the monitor."""
    out = tmp_path / "report"
    run = subprocess.run(
        [sys.executable, os.path.join(SOURCE, "deploy", "analytics", "report.py"),
         "--brokers", os.environ["LYCEUM_KAFKA_BROKERS"], "--topic", cluster.topics["feedback"],
         "--out", str(out), "--bucket", "2", "--idle", "5"],
        capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    for png in ("supervisor_share.png", "cost_curve.png", "domain_accuracy.png"):
        assert (out / png).stat().st_size > 5000
    report = json.loads((out / "report.json").read_text())
    overview = cluster.monitor_api("overview")
    assert report["queries"] == overview["queries"] == len(cluster.replies)
    assert report["answer_calls"] == overview["answer_calls"]
    assert report["supervisor_calls"] == overview["supervisor_calls"]
    assert abs(report["cost_usd"] - overview["cost_usd"]) < 1e-9
    assert abs(report["supervisor_only_usd"] - overview["supervisor_only_usd"]) < 1e-9
