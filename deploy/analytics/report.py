#!/usr/bin/env python3
"""An example offline consumer of Lyceum's event log: reads the feedback
topic as a Kafka consumer group and writes a report with plots.

    python deploy/analytics/report.py --brokers 127.0.0.1:9392 --out report/

writes to --out:
    supervisor_share.png   share of answer calls and of judgements that went
                           to the supervisor, per time bucket
    cost_curve.png         cumulative USD spent against supervisor-only
    domain_accuracy.png    heatmap of the mean score per domain and model
    report.json            the figures behind the plots

Definitions are the monitor's (services/monitor/README.md): one
FeedbackEvent per answer call (human scores excluded); a query is the calls
sharing a trace_id; its supervisor-only cost is the supervisor's own answer
cost when it answered, else the supervisor's prices on the winning answer's
tokens. Events are deduplicated by event_id (the log is at least once).

Consumer group: without --group each run joins a fresh group and reads the
whole topic; with --group NAME it resumes where that group last committed
and commits when the report is written (reports of what is new since).
It stops when it has read to the end of every partition, or after --idle
seconds without a record.
"""

import argparse
import collections
import json
import math
import os
import sys
import time
import uuid

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from confluent_kafka import Consumer, KafkaError  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lyceum_events import Schemas  # noqa: E402


JOIN_TIMEOUT_S = 60


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--brokers", default=os.environ.get("LYCEUM_KAFKA_BROKERS", "127.0.0.1:9392"))
    p.add_argument("--topic", default="lyceum.feedback", help="the feedback topic")
    p.add_argument("--group", help="consumer group to resume (default: a fresh one)")
    p.add_argument("--out", default="lyceum-report", help="directory for the PNGs and JSON")
    p.add_argument("--bucket", type=float, default=60, help="seconds per time bucket")
    p.add_argument("--supervisor", action="append",
                   help="supervisor model name (repeatable; default: models seen with the "
                        "supervisor flag)")
    p.add_argument("--sup-price-in", type=float, default=10.0,
                   help="supervisor USD per million prompt tokens (default 10)")
    p.add_argument("--sup-price-out", type=float, default=30.0,
                   help="supervisor USD per million completion tokens (default 30)")
    p.add_argument("--idle", type=float, default=10, help="stop after this many idle seconds")
    return p.parse_args(argv)


def read_events(args, schemas):
    """Every distinct FeedbackEvent of the topic (as protobuf messages)."""
    group = args.group or f"lyceum-report-{uuid.uuid4().hex[:12]}"
    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    events, seen, ended, assigned = [], set(), set(), set()

    def on_assign(c, partitions):
        assigned.update((p.topic, p.partition) for p in partitions)

    consumer.subscribe([args.topic], on_assign=on_assign)
    started = last = time.monotonic()
    try:
        while True:
            msg = consumer.poll(0.5)
            now = time.monotonic()
            # idle time counts once the group gave us partitions (joining takes seconds)
            if not assigned and now - started > JOIN_TIMEOUT_S:
                raise SystemExit(f"report: no partitions of {args.topic} after "
                                 f"{JOIN_TIMEOUT_S} s; is Kafka at {args.brokers}?")
            if msg is None:
                if assigned and now - last >= args.idle:
                    break
                continue
            last = time.monotonic()
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    ended.add((msg.topic(), msg.partition()))
                    if assigned and ended >= assigned:
                        break
                    continue
                print(f"report: kafka: {msg.error()}", file=sys.stderr)
                continue
            ended.discard((msg.topic(), msg.partition()))
            try:
                kind, _, event = schemas.decode(msg.value())
            except Exception as err:  # not ours, or another schema version: skip it
                print(f"report: skipped {msg.topic()}/{msg.partition()}@{msg.offset()}: {err}",
                      file=sys.stderr)
                continue
            if kind == "FEEDBACK_EVENT" and event.event_id not in seen:
                seen.add(event.event_id)
                events.append(event)
        if args.group:
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return events


def figures(events, args):
    """The report's figures, from the events alone."""
    human = 4  # SCORE_SOURCE_HUMAN
    calls = [e for e in events if e.source != human]
    sups = set(args.supervisor or []) | {e.model for e in calls if e.supervisor}
    queries = collections.defaultdict(list)
    for e in calls:
        queries[e.trace_id or e.query_id].append(e)
    bucket = lambda at_us: math.floor(at_us / 1e6 / args.bucket) * args.bucket  # noqa: E731
    share = collections.defaultdict(lambda: [0, 0, 0, 0])  # calls, sup calls, judged, sup judged
    for e in calls:
        share[bucket(e.at_us)][0] += 1
        share[bucket(e.at_us)][1] += e.supervisor
    per_query = []
    for trace, evs in queries.items():
        first = min(e.at_us for e in evs)
        judge = min((e.judged_by for e in evs if e.judged_by), default="")
        share[bucket(first)][2] += judge != ""
        share[bucket(first)][3] += judge in sups
        cost = sum(e.cost_usd + e.judge_cost_usd for e in evs)
        sup = [e for e in evs if e.supervisor and not (e.HasField("error") and e.error.code)]
        if sup:
            sup_only = max(e.cost_usd for e in sup)
        else:
            won = [e for e in evs if e.winner and not (e.HasField("error") and e.error.code)]
            tin = won[-1].usage.prompt_tokens if won else max(e.usage.prompt_tokens for e in evs)
            tout = (won[-1].usage.completion_tokens if won
                    else max(e.usage.completion_tokens for e in evs))
            sup_only = (args.sup_price_in * tin + args.sup_price_out * tout) / 1e6
        per_query.append({"trace_id": trace, "t": first / 1e6, "cost_usd": cost,
                          "supervisor_only_usd": sup_only})
    per_query.sort(key=lambda q: (q["t"], q["trace_id"]))
    cells = collections.defaultdict(lambda: [0, 0.0])
    for e in calls:
        if not (e.HasField("error") and e.error.code):
            cells[(e.domain, e.model)][0] += 1
            cells[(e.domain, e.model)][1] += e.score
    return {
        "events": len(events), "answer_calls": len(calls), "queries": len(queries),
        "supervisor_calls": sum(e.supervisor for e in calls),
        "cost_usd": sum(q["cost_usd"] for q in per_query),
        "supervisor_only_usd": sum(q["supervisor_only_usd"] for q in per_query),
        "supervisors": sorted(sups),
        "series": [{"t": t, "answer_calls": v[0], "supervisor_calls": v[1],
                    "answer_share": v[1] / v[0] if v[0] else None,
                    "judged": v[2], "supervisor_judged": v[3],
                    "judge_share": v[3] / v[2] if v[2] else None}
                   for t, v in sorted(share.items())],
        "queries_detail": per_query,
        "accuracy": [{"domain": d, "model": m, "n": n, "mean": s / n}
                     for (d, m), (n, s) in sorted(cells.items())],
    }


def plot_share(fig, path):
    s = fig["series"]
    plt.figure(figsize=(8, 3.6))
    for key, label in (("answer_share", "answer calls"), ("judge_share", "judgements")):
        pts = [(p["t"], p[key]) for p in s if p[key] is not None]
        if pts:
            t0 = pts[0][0]
            plt.plot([(t - t0) / 60 for t, _ in pts], [100 * v for _, v in pts], marker="o",
                     label=label)
    plt.ylim(0, 100)
    plt.xlabel("minutes since the first bucket")
    plt.ylabel("% to the supervisor")
    plt.title("Supervisor usage")
    plt.legend()
    plt.tight_layout()
    plt.savefig(path, dpi=110)
    plt.close()


def plot_cost(fig, path):
    qs = fig["queries_detail"]
    cost = sup = 0.0
    xs, ys, zs = [], [], []
    for i, q in enumerate(qs):
        cost += q["cost_usd"]
        sup += q["supervisor_only_usd"]
        xs.append(i + 1)
        ys.append(cost)
        zs.append(sup)
    plt.figure(figsize=(8, 3.6))
    plt.plot(xs, ys, label="actual (answers + judging)")
    plt.plot(xs, zs, label="supervisor only")
    plt.xlabel("queries")
    plt.ylabel("cumulative USD")
    plt.title("Cost curve")
    plt.legend()
    plt.tight_layout()
    plt.savefig(path, dpi=110)
    plt.close()


def plot_accuracy(fig, path):
    cells = fig["accuracy"]
    domains = sorted({c["domain"] for c in cells})
    models = sorted({c["model"] for c in cells})
    if not cells:
        plt.figure(figsize=(5, 2))
        plt.text(0.5, 0.5, "no scored answers", ha="center", va="center")
        plt.axis("off")
        plt.savefig(path, dpi=110)
        plt.close()
        return
    grid = [[float("nan")] * len(models) for _ in domains]
    for c in cells:
        grid[domains.index(c["domain"])][models.index(c["model"])] = c["mean"]
    plt.figure(figsize=(1.6 + 1.3 * max(1, len(models)), 1.2 + 0.45 * max(1, len(domains))))
    plt.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    plt.xticks(range(len(models)), models, rotation=30, ha="right")
    plt.yticks(range(len(domains)), domains)
    for c in cells:
        plt.text(models.index(c["model"]), domains.index(c["domain"]),
                 f"{c['mean']:.2f}\nn={c['n']}", ha="center", va="center", fontsize=8)
    plt.colorbar(label="mean score")
    plt.title("Domain accuracy")
    plt.tight_layout()
    plt.savefig(path, dpi=110)
    plt.close()


def main(argv=None):
    args = parse_args(argv)
    schemas = Schemas()
    events = read_events(args, schemas)
    fig = figures(events, args)
    os.makedirs(args.out, exist_ok=True)
    plot_share(fig, os.path.join(args.out, "supervisor_share.png"))
    plot_cost(fig, os.path.join(args.out, "cost_curve.png"))
    plot_accuracy(fig, os.path.join(args.out, "domain_accuracy.png"))
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(fig, f, indent=1)
    saved = fig["supervisor_only_usd"] - fig["cost_usd"]
    print(f"{fig['queries']} queries, {fig['answer_calls']} answer calls "
          f"({fig['supervisor_calls']} to the supervisor); cost ${fig['cost_usd']:.4f} against "
          f"${fig['supervisor_only_usd']:.4f} supervisor-only (saved ${saved:.4f}); "
          f"report in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
