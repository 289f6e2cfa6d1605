#!/usr/bin/env python3
"""Per-seed mIoU of networks trained with several seeds, their mean +- sd, and each network's
paired difference from a baseline trained with the same seeds.

Reads the JSON that `dalnas eval --json` writes (its "miou"). Each network is NAME=PATTERN,
where PATTERN holds {seed} and {split}, or NAME=RUN/best/metrics.json (a search's retrained
winner: its "over_seeds", device_val / device_test, which must hold the same seeds). A
network whose seeds lie in several folders takes PATTERN|PATTERN...: the first that names an
existing file is read, seed by seed. The first network is the baseline:

  python3 bench/seed_table.py --seeds 1,2,3 \
      ref=bench/results/split3/ref-s{seed}-{split}-myriadx.json \
      r64=bench/results/pruned-reference/s3-r64-s{seed}-{split}-myriadx.json

prints, for each split (--splits, default val,test), one row per network and one paired row
per network after the first.
"""

import argparse
import json
import os
import sys

from search_run_stats import mean_sd  # the same sample mean and sd as the journal's figures


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        sys.exit(f"seed_table: {path}: cannot read ({e.strerror})")
    except json.JSONDecodeError as e:
        sys.exit(f"seed_table: {path}: not JSON ({e.msg}, line {e.lineno})")


def number(value, path, field):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        sys.exit(f"seed_table: {path}: {field} is not a number")
    return float(value)


def first_existing(patterns, seed, split):
    paths = [p.format(seed=seed, split=split) for p in patterns.split("|")]
    return next((p for p in paths if os.path.exists(p)), paths[0])


def miou(path):
    d = load(path)
    if not isinstance(d, dict) or "miou" not in d:
        sys.exit(f"seed_table: {path}: not the JSON of `dalnas eval --json` (no \"miou\")")
    return number(d["miou"], path, "\"miou\"")


def over_seeds(path, split, seeds):
    """The retrained winner's figures in a search's best/metrics.json, seed by seed."""
    d = load(path)
    o = d.get("over_seeds") if isinstance(d, dict) else None
    if not isinstance(o, dict):
        sys.exit(f"seed_table: {path}: no \"over_seeds\" (retrain with --final-seeds)")
    field = f"device_{split}"
    if o.get("seeds") != seeds:
        sys.exit(f"seed_table: {path}: over_seeds.seeds is {o.get('seeds')}, not {seeds}")
    figures = o.get(field)
    values = figures.get("miou") if isinstance(figures, dict) else None
    if not isinstance(values, list) or len(values) != len(seeds):
        sys.exit(f"seed_table: {path}: over_seeds.{field}.miou does not hold {len(seeds)} values")
    return [number(v, path, f"over_seeds.{field}.miou") for v in values]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--seeds", required=True, help="comma-separated training seeds, e.g. 1,2,3")
    ap.add_argument("--splits", default="val,test", help="comma-separated splits (val,test)")
    ap.add_argument("networks", nargs="+", help="NAME=PATTERN with {seed} and {split}")
    a = ap.parse_args()
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        sys.exit(f"seed_table: --seeds: '{a.seeds}' is not a comma-separated list of integers")
    nets = []
    for spec in a.networks:
        name, sep, pattern = spec.partition("=")
        if not sep or not name or ("{seed}" not in pattern and not pattern.endswith(".json")):
            sys.exit(f"seed_table: '{spec}': expected NAME=PATTERN with {{seed}} in PATTERN, "
                     "or NAME=a search's best/metrics.json")
        nets.append((name, pattern))
    width = max(len(n) for n, _ in nets) + len(" - ") + len(nets[0][0])
    splits = a.splits.split(",")
    base_name = nets[0][0]
    table = {split: {n: [miou(first_existing(p, s, split)) for s in seeds] if "{seed}" in p
                     else over_seeds(p, split, seeds) for n, p in nets} for split in splits}
    for split in splits:  # every file read before the first line is printed
        print(f"device mIoU, {split}, seeds {a.seeds}")
        values = table[split]
        for n, _ in nets:
            v = values[n]
            m, sd = mean_sd(v)
            print(f"  {n:<{width}}  " + " ".join(f"{x:.4f}" for x in v) + f"  = {m:.4f} +- {sd:.4f}")
        base = values[base_name]
        for n, _ in nets[1:]:
            d = [x - b for x, b in zip(values[n], base)]
            above = sum(1 for x in d if x > 0)
            label = f"{n} - {base_name}"
            print(f"  {label:<{width}}  " + " ".join(f"{x:+.4f}" for x in d) +
                  f"  = {mean_sd(d)[0]:+.4f}, {above} of {len(d)} above")
        print()


if __name__ == "__main__":
    main()
