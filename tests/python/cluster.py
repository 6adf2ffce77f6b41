"""A small Lyceum cluster for Python tests: the built router, evaluator and
replay/memory workers on unique loopback ports, against the Redis and Kafka
named by LYCEUM_REDIS_URL and LYCEUM_KAFKA_BROKERS."""

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid

DATA = [
    {"prompt": "What is the capital of France?", "domain": "geo",
     "answers": {"supervisor": {"correct": True, "text": "Paris."},
                 "teacher": {"correct": True, "text": "Paris"},
                 "student": {"correct": False, "text": "Lyon"}}},
    {"prompt": "What is 6 times 7?", "domain": "math",
     "answers": {"supervisor": {"correct": True, "text": "42"},
                 "teacher": {"correct": True, "text": "42"},
                 "student": {"correct": True, "text": "42"}}},
]

MODELS = [("supervisor", "supervisor", 10, 30), ("teacher", "teacher", 1, 2),
          ("student", "student", 0.1, 0.2)]


class Cluster:
    def __init__(self, build_dir):
        self.build = build_dir
        self.dir = tempfile.mkdtemp(prefix="lyceum-py-")
        self.base = 20000 + (os.getpid() % 2000) * 5 + 1
        self.url = f"http://127.0.0.1:{self.base + 4}"
        self.procs = []

    def _config(self):
        with open(os.path.join(self.dir, "data.jsonl"), "w") as f:
            for row in DATA:
                f.write(json.dumps(row) + "\n")
        b = self.base
        models = "".join(
            f"  - name: {name}\n    backend: replay\n    role: {role}\n"
            f"    price_in: {pin}\n    price_out: {pout}\n    timeout_ms: 5000\n"
            f"    replay: {{files: [\"{self.dir}/data.jsonl\"], format: jsonl, unknown: simulate}}\n"
            for name, role, pin, pout in MODELS)
        models += "  - name: memory\n    backend: memory\n    role: student\n"
        text = (
            f"redis: {{url: \"{os.environ['LYCEUM_REDIS_URL']}\", prefix: \"py-{uuid.uuid4().hex[:10]}\"}}\n"
            f"kafka: {{brokers: \"{os.environ['LYCEUM_KAFKA_BROKERS']}\", spool_dir: \"{self.dir}/spool\"}}\n"
            f"bus:\n  clients: tcp://127.0.0.1:{b}\n  workers: tcp://127.0.0.1:{b + 1}\n"
            f"  tasks: tcp://127.0.0.1:{b + 2}\n  evaluator: tcp://127.0.0.1:{b + 3}\n"
            f"router:\n  http: {{listen: \"127.0.0.1:{b + 4}\", threads: 4}}\n"
            f"  clients_bind: tcp://127.0.0.1:{b}\n  workers_bind: tcp://127.0.0.1:{b + 1}\n"
            f"  tasks_bind: tcp://127.0.0.1:{b + 2}\n  eval_mode: reference\n  learning_sample: 0\n  auth: open\n"
            f"evaluator:\n  bind: tcp://127.0.0.1:{b + 3}\n  mode: reference\n"
            f"models:\n{models}")
        path = os.path.join(self.dir, "cluster.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def _spawn(self, binary, *args, log):
        out = open(os.path.join(self.dir, log + ".log"), "ab")
        self.procs.append(subprocess.Popen([os.path.join(self.build, binary), *args],
                                           stdout=out, stderr=out))

    def start(self):
        config = self._config()
        self._spawn("services/router/lyceum-router", "-c", config, log="router")
        self._spawn("services/evaluator/lyceum-evaluator", "-c", config, log="evaluator")
        for name in [m[0] for m in MODELS] + ["memory"]:
            self._spawn("services/worker/lyceum-worker", "-c", config, "--model", name, log=name)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=2) as r:
                    ids = {m["id"] for m in json.load(r)["data"]}
                if {"supervisor", "teacher", "student", "memory"} <= ids:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"cluster did not come up; logs in {self.dir}")

    def stop(self):
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
