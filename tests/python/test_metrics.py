"""GET /metrics of every Lyceum service parses as Prometheus text exposition
(with the Prometheus Python client's own parser) and carries the families
an operator needs: request counts, latency histograms, queue depths, work in
flight, errors and per-model counters; GET /healthz answers on each.

The cluster is started the way a user starts one, with `lyceum up` and a
cluster file on unique ports and topics; LiveCluster is shared with
test_dashboard.py."""

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

QUESTIONS = [
    ("geo", "What is the capital of France?", "Paris"),
    ("geo", "What is the capital of Italy?", "Rome"),
    ("geo", "What is the capital of Spain?", "Madrid"),
    ("math", "What is 6 times 7?", "42"),
    ("math", "What is 9 plus 10?", "19"),
    ("math", "What is 12 squared?", "144"),
    ("history", "In which year did the Berlin Wall fall?", "1989"),
    ("history", "Who was the first emperor of Rome?", "Augustus"),
]
# Ports below Linux's ephemeral range (32768-60999), so no outgoing
# connection holds one by chance: the router at BASE_PORT, then the bus,
# evaluator, monitor and trainer; the workers at BASE_PORT + 1020 + n.
BASE_PORT = 24000 + (os.getpid() % 300) * 20
# name, role, price in, price out, accuracy of its recorded answers
MODELS = [("supervisor", "supervisor", 10, 30, 1.0), ("teacher", "teacher", 1, 2, 0.8),
          ("student", "student", 0.1, 0.2, 0.5)]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


class LiveCluster:
    """`lyceum up` on a cluster file of its own: ports from `base`, topics and
    a Redis prefix unique to the run, replay models answering QUESTIONS."""

    def __init__(self, base):
        self.build = os.environ["LYCEUM_BUILD_DIR"]
        self.lyceum = os.path.join(self.build, "services/cli/lyceum")
        self.dir = tempfile.mkdtemp(prefix="lyceum-mon-")
        self.base = base
        self.url = f"http://127.0.0.1:{base}"
        self.evaluator = f"http://127.0.0.1:{base + 5}"
        self.monitor = f"http://127.0.0.1:{base + 6}"
        self.trainer = f"http://127.0.0.1:{base + 7}"
        run = uuid.uuid4().hex[:10]
        self.topics = {k: f"lyceum-test-{run}.{k}" for k in
                       ("feedback", "roles", "registry", "training")}
        self.env = dict(os.environ, LYCEUM_RUN_DIR=os.path.join(self.dir, "run"))
        self.replies = []

    def _data(self):
        path = os.path.join(self.dir, "data.jsonl")
        with open(path, "w") as f:
            for i, (domain, prompt, answer) in enumerate(QUESTIONS):
                answers = {}
                for k, (name, _, _, _, accuracy) in enumerate(MODELS):
                    right = (i * 7 + k * 3) % 10 < accuracy * 10
                    answers[name] = {"correct": right, "text": answer if right else "not sure"}
                f.write(json.dumps({"prompt": prompt, "domain": domain, "answers": answers}) + "\n")
        return path

    def _config(self, monitor_extra=""):
        b, data = self.base, self._data()
        models = "".join(
            f"  - name: {n}\n    backend: replay\n    role: {r}\n    price_in: {pi}\n"
            f"    price_out: {po}\n    timeout_ms: 5000\n"
            f"    replay: {{files: [\"{data}\"], format: jsonl, unknown: simulate, latency_ms: {20 * (k + 1)}}}\n"
            for k, (n, r, pi, po, _) in enumerate(MODELS))
        models += "  - name: memory\n    backend: memory\n    role: student\n"
        t = self.topics
        text = (
            f"redis: {{url: \"{os.environ['LYCEUM_REDIS_URL']}\", prefix: \"mon-{uuid.uuid4().hex[:10]}\"}}\n"
            f"kafka:\n  brokers: \"{os.environ['LYCEUM_KAFKA_BROKERS']}\"\n"
            f"  spool_dir: \"{self.dir}/spool\"\n"
            f"  topics: {{feedback: \"{t['feedback']}\", roles: \"{t['roles']}\", "
            f"registry: \"{t['registry']}\", training: \"{t['training']}\"}}\n"
            f"bus:\n  clients: tcp://127.0.0.1:{b + 1}\n  workers: tcp://127.0.0.1:{b + 2}\n"
            f"  tasks: tcp://127.0.0.1:{b + 3}\n  evaluator: tcp://127.0.0.1:{b + 4}\n"
            f"router:\n  http: {{listen: \"127.0.0.1:{b}\", threads: 4}}\n"
            f"  clients_bind: tcp://127.0.0.1:{b + 1}\n  workers_bind: tcp://127.0.0.1:{b + 2}\n"
            f"  tasks_bind: tcp://127.0.0.1:{b + 3}\n  eval_mode: reference\n  auth: open\n"
            f"evaluator:\n  bind: tcp://127.0.0.1:{b + 4}\n  mode: reference\n"
            f"  http_listen: 127.0.0.1:{b + 5}\n"
            f"monitor:\n  http_listen: 127.0.0.1:{b + 6}\n  bucket_s: 2\n  snapshot_ms: 200\n"
            f"{monitor_extra}"
            f"trainer:\n  http_listen: 127.0.0.1:{b + 7}\n  group: \"trainer-{uuid.uuid4().hex[:10]}\"\n"
            f"  data_dir: \"{self.dir}/trainer\"\n"
            f"demo:\n  servers: external\n"
            f"models:\n{models}")
        path = os.path.join(self.dir, "cluster.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def _topics(self):
        admin = AdminClient({"bootstrap.servers": os.environ["LYCEUM_KAFKA_BROKERS"]})
        futures = admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)
                                       for name in self.topics.values()])
        for future in futures.values():
            future.result(timeout=30)

    def run(self, *args, timeout=90):
        return subprocess.run([self.lyceum, *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def start(self, monitor_extra=""):
        self._topics()
        config = self._config(monitor_extra)
        up = self.run("up", "-c", config, "--timeout", "60")
        if up.returncode != 0:
            raise RuntimeError(f"lyceum up failed:\n{up.stdout}\n{up.stderr}")
        self.up_output = up.stdout
        return self

    def stop(self):
        self.run("down", timeout=60)

    def status(self):
        return self.run("status").stdout

    def worker_metrics_urls(self):
        """The workers' /metrics addresses, as `lyceum status` lists them."""
        return sorted(set(re.findall(r"metrics (http://127\.0\.0\.1:\d+/metrics)", self.status()))
                      - {self.evaluator + "/metrics", self.trainer + "/metrics"})

    def ask(self, question, domain):
        body = json.dumps({"model": "lyceum", "messages": [{"role": "user", "content": question}],
                           "metadata": {"domain": domain, "user": "ann"}}).encode()
        req = urllib.request.Request(self.url + "/v1/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            reply = json.load(r)
        self.replies.append(reply)
        return reply

    def traffic(self, rounds=2):
        """Every question `rounds` times (the repeats may take the familiar path)."""
        for _ in range(rounds):
            for domain, question, _ in QUESTIONS:
                self.ask(question, domain)

    def monitor_api(self, view):
        return json.loads(http_get(f"{self.monitor}/api/{view}")[1])

    def wait_monitor(self, queries, timeout=40):
        """Waits until the monitor has seen `queries` queries; returns its overview."""
        deadline, seen = time.time() + timeout, None
        while time.time() < deadline:
            seen = self.monitor_api("overview")
            if seen["queries"] >= queries:
                return seen
            time.sleep(0.3)
        raise AssertionError(f"the monitor saw {seen and seen['queries']} of {queries} queries")


def families(url):
    """{name: family} of a /metrics page, read with the Prometheus parser."""
    status, text = http_get(url)
    assert status == 200
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family, name=None, **labels):
    return [s for s in family.samples if (name is None or s.name == name)
            and all(s.labels.get(k) == v for k, v in labels.items())]


@pytest.fixture(scope="module")
def cluster():
    c = LiveCluster(BASE_PORT).start()
    c.traffic(rounds=2)
    c.wait_monitor(len(QUESTIONS) * 2)
    yield c
    c.stop()


def test_router_metrics(cluster):
    f = families(cluster.url + "/metrics")
    assert f["lyceum_router_http_requests"].type == "counter"
    ok = samples(f["lyceum_router_http_requests"], path="/v1/chat/completions", status="200")
    assert ok and ok[0].value == len(cluster.replies)
    assert sum(s.value for s in f["lyceum_router_queries"].samples) == len(cluster.replies)
    assert f["lyceum_router_query_seconds"].type == "histogram"
    count = samples(f["lyceum_router_query_seconds"], "lyceum_router_query_seconds_count")
    assert count[0].value == len(cluster.replies)
    calls = f["lyceum_router_model_calls"]
    assert {s.labels["model"] for s in calls.samples} >= {"supervisor", "teacher", "student"}
    assert f["lyceum_router_queries_in_flight"].type == "gauge"
    assert f["lyceum_router_cost_usd"].type == "counter"


def test_evaluator_metrics(cluster):
    f = families(cluster.evaluator + "/metrics")
    answered = samples(f["lyceum_evaluator_requests"], outcome="answered")
    assert answered and answered[0].value == len(cluster.replies)
    assert f["lyceum_evaluator_request_seconds"].type == "histogram"
    assert samples(f["lyceum_evaluator_request_seconds"],
                   "lyceum_evaluator_request_seconds_count")[0].value == len(cluster.replies)
    assert f["lyceum_evaluator_queue_depth"].type == "gauge"
    assert f["lyceum_evaluator_in_flight"].type == "gauge"
    assert "lyceum_evaluator_http_requests" in f


def test_every_worker_metrics(cluster):
    urls = cluster.worker_metrics_urls()
    assert len(urls) == len(MODELS) + 1, cluster.status()
    served = {}
    for url in urls:
        f = families(url)
        calls = f["lyceum_worker_calls"]
        assert calls.type == "counter"
        (model,) = {s.labels["model"] for s in calls.samples}
        served[model] = sum(s.value for s in calls.samples)
        assert f["lyceum_worker_call_seconds"].type == "histogram"
        assert samples(f["lyceum_worker_call_seconds"], "lyceum_worker_call_seconds_count",
                       model=model)
        for gauge in ("lyceum_worker_in_flight", "lyceum_worker_queue_depth",
                      "lyceum_worker_capacity"):
            assert f[gauge].type == "gauge"
            assert samples(f[gauge], model=model)
        assert f["lyceum_worker_cost_usd"].type == "counter"
        status, body = http_get(url.replace("/metrics", "/healthz"))
        assert status == 200 and json.loads(body)["model"] == model
    # novel queries go to every model: each replay model served every query
    for name, *_ in MODELS:
        assert served[name] >= len(QUESTIONS), served


def test_trainer_metrics_if_present(cluster):
    if not os.path.exists(os.path.join(cluster.build, "services/trainer/lyceum-trainer")):
        pytest.skip("lyceum-trainer is not built")
    f = families(cluster.trainer + "/metrics")
    assert any(name.startswith("lyceum_trainer_") for name in f), sorted(f)
    assert http_get(cluster.trainer + "/healthz")[0] == 200


def test_monitor_metrics(cluster):
    f = families(cluster.monitor + "/metrics")
    events = samples(f["lyceum_monitor_events"], topic=cluster.topics["feedback"],
                     type="FEEDBACK_EVENT")
    overview = cluster.monitor_api("overview")
    assert events and events[0].value == overview["by_type"]["feedback"]
    assert samples(f["lyceum_monitor_queries"])[0].value == overview["queries"]
    assert samples(f["lyceum_monitor_answer_calls"])[0].value == overview["answer_calls"]
    assert {s.labels["kind"] for s in f["lyceum_monitor_supervisor_share"].samples} == {
        "answer", "judge"}
    assert {s.labels["model"] for s in f["lyceum_monitor_model_calls"].samples} >= {
        "supervisor", "teacher", "student"}
    assert f["lyceum_monitor_render_seconds"].type == "histogram"
    assert f["lyceum_monitor_http_requests"].type == "counter"
    assert f["lyceum_monitor_http_request_seconds"].type == "histogram"


@pytest.mark.parametrize("service", ["url", "evaluator", "monitor"])
def test_healthz(cluster, service):
    status, body = http_get(getattr(cluster, service) + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_status_lists_metrics_addresses(cluster):
    out = cluster.status()
    assert f"dashboard {cluster.monitor}/" in out
    assert f"metrics {cluster.evaluator}/metrics" in out
    assert f"Dashboard at {cluster.monitor}/" in cluster.up_output
