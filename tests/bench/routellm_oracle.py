#!/usr/bin/env python3
"""Oracles for the learning benchmark: the best a router could do on the
RouteLLM MMLU recordings if it knew every subject's accuracies in advance,
charged by tokens as `lyceum bench learning` charges (prompt bytes / 4,
one completion token, RouteLLM's prices).

  python3 tests/bench/routellm_oracle.py [DATASET_DIR]

Prints, for 0.95 of GPT-4's accuracy, the cheapest cost ratio of
  subject:  whole subjects to Mixtral (threshold on the subject's gap)
  query:    a query to Mixtral when the subject's gap is at most what
            Mixtral saves on it divided by wrong_answer_usd
"""
import csv
import glob
import json
import os
import sys

GPT4, MIXTRAL = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
PRICE_GPT4, PRICE_MIXTRAL = 24.7, 0.24  # USD per million tokens


def cost(prompt_bytes, price):
    return ((prompt_bytes + 3) // 4 + 1) * price / 1e6


def load(root):
    with open(os.path.join(root, "contaminated_prompts.jsonl")) as f:
        dropped = {json.loads(line)["eval_prompt"] for line in f}
    rows = []
    for path in sorted(glob.glob(os.path.join(root, "mmlu_*.csv"))):
        subject = os.path.basename(path)[len("mmlu_"):-len(".csv")]
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if r["prompt"] not in dropped:
                    rows.append((subject, len(r["prompt"].encode()), r[MIXTRAL] == "True",
                                 r[GPT4] == "True"))
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "..", "..", "shared", "datasets", "routellm-mmlu")
    rows = load(root)
    totals = {}
    for subject, _, mixtral, gpt4 in rows:
        t = totals.setdefault(subject, [0, 0, 0])
        t[0] += 1
        t[1] += mixtral
        t[2] += gpt4
    gap = {s: (t[2] - t[1]) / t[0] for s, t in totals.items()}
    gpt4_right = sum(r[3] for r in rows)
    gpt4_cost = sum(cost(r[1], PRICE_GPT4) for r in rows)

    def ratios(to_mixtral):
        right = spent = 0
        for r in rows:
            if to_mixtral(r):
                right, spent = right + r[2], spent + cost(r[1], PRICE_MIXTRAL)
            else:
                right, spent = right + r[3], spent + cost(r[1], PRICE_GPT4)
        return right / gpt4_right, spent / gpt4_cost

    best = None
    for t in (x / 1000 for x in range(-100, 300)):
        acc, c = ratios(lambda r: gap[r[0]] <= t)
        if acc >= 0.95 and (best is None or c < best[1]):
            best = (t, c, acc)
    print(f"subject: gap <= {best[0]:.3f}: accuracy ratio {best[2]:.4f}, cost ratio {best[1]:.4f}")
    for usd in (0.015, 0.02, 0.025, 0.03):
        acc, c = ratios(lambda r: gap[r[0]] <= (cost(r[1], PRICE_GPT4) - cost(r[1], PRICE_MIXTRAL)) / usd)
        print(f"query: wrong_answer_usd {usd}: accuracy ratio {acc:.4f}, cost ratio {c:.4f}")


if __name__ == "__main__":
    main()
