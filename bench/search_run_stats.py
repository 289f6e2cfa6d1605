#!/usr/bin/env python3
"""What a search run spent and how its cheap scores agreed with its longer ones.

    python3 bench/search_run_stats.py [--full-epochs N] RUN_DIR [RUN_DIR ...]

Reads RUN_DIR/journal.sqlite (Python's sqlite3 only) and prints, per run:
- evaluations by fidelity (a rung or stage, inherited, reused from the journal), the
  training epochs they took and the worker-seconds they cost; how many of the strategy's
  draws its screen turned away (genomes the cost model put outside a hard constraint,
  never proposed; `[search] screen`);
- the cost of the same candidates trained from scratch for the full epochs (N, or the most
  epochs a candidate of the run trained from scratch; each
  candidate's own seconds per epoch times the full epochs, plus one device evaluation):
  the ratio is how many more candidates per hour the schedule evaluates. An epoch of a
  rung with `rung_chip_fraction` f < 1 (the run's config.toml) draws f of the chips, so it
  counts as f of an epoch (epochs on all the chips, "chip-epochs") both in what the run
  spent and in the seconds per epoch its candidates would take from scratch;
- for the rung schedule, Kendall's tau between the device mIoU at each rung and at the
  last, over the candidates that reached the last rung (promoted ones only: a sample with
  a restricted range, so it understates what a random sample would show), and how often a
  rung's score equals the one before it (training keeps the weights of the best
  validation-loss epoch, so a rung whose epochs did not lower it scores the same);
- with weight inheritance, the val mIoU of inherited children beside that of from-scratch
  candidates (mean and sd), each child's score minus its parent's, and how many of the
  top 5, 10 and 20 by mIoU are inherited against their share of the run;
- the best candidates by fitness.
"""
import itertools
import json
import os
import sqlite3
import sys
import tomllib


def kendall_tau(a, b):
    c = d = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        s = (a[i] - a[j]) * (b[i] - b[j])
        c += s > 0
        d += s < 0
    n = len(a)
    return (c - d) / (n * (n - 1) / 2) if n > 1 else float("nan")


def chip_epochs_of(run):
    """m -> the candidate's epochs weighted by the share of chips each drew."""
    rungs, fractions = [], []
    path = os.path.join(run, "config.toml")
    if os.path.exists(path):
        with open(path, "rb") as f:
            ev = tomllib.load(f).get("evaluation", {})
        if ev.get("schedule") == "rungs":
            rungs = list(ev.get("rungs", []))
            fractions = list(ev.get("rung_chip_fraction", [1.0] * len(rungs)))

    def weigh(m):
        n = m.get("epochs", 0)
        if not rungs or "rung_miou" not in m or len(fractions) != len(rungs):
            return n  # inherited and two-stage candidates train on every chip
        total = 0.0
        for e in range(1, n + 1):
            k = next((i for i, r in enumerate(rungs) if e <= r), len(rungs) - 1)
            total += fractions[k]
        return total

    return weigh


def mean_sd(v):
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    sd = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
    return m, sd


def inherited_stats(trained):
    """Inherited children's scores beside from-scratch candidates' and their parents'."""
    ok = [(cid, m) for cid, _, s, m, _, _ in trained if s == "ok" and "miou" in m]
    by_id = {cid: m for cid, m in ok}
    inh = [(cid, m) for cid, m in ok if m.get("fidelity") == "inherited"]
    scratch = [m["miou"] for _, m in ok if m.get("fidelity") != "inherited"]
    if not inh or not scratch:
        return
    child = [m["miou"] for _, m in inh]
    diff = [m["miou"] - by_id[m["inherited_from"]]["miou"] for _, m in inh
            if m.get("inherited_from") in by_id]
    (cm, csd), (sm, ssd), (dm, dsd) = mean_sd(child), mean_sd(scratch), mean_sd(diff)
    print(f"  val mIoU: from scratch {sm:.4f} +- {ssd:.4f} over {len(scratch)}, "
          f"inherited {cm:.4f} +- {csd:.4f} over {len(child)}")
    if diff:
        print(f"    inherited child minus its parent: {dm:+.4f} +- {dsd:.4f} "
              f"({sum(d > 0 for d in diff)} of {len(diff)} above the parent)")
    ranked = sorted(ok, key=lambda r: -r[1]["miou"])
    share = len(inh) / len(ok)
    for k in (5, 10, 20):
        if k <= len(ranked):
            n = sum(1 for _, m in ranked[:k] if m.get("fidelity") == "inherited")
            print(f"    inherited among the top {k} by mIoU: {n} (at their share {share * k:.1f})")


def run_stats(run, full_epochs=0):
    db = sqlite3.connect(f"file:{run}/journal.sqlite?mode=ro", uri=True)
    rows = list(db.execute("select candidate_id, genome, status, metrics, fitness, feasible "
                           "from evaluations order by id"))
    trained = []
    by_fidelity = {}
    reused = 0
    for cid, genome, status, metrics, fitness, feasible in rows:
        m = json.loads(metrics) if metrics else {}
        if "reused_from" in m:
            reused += 1
            continue
        fid = m.get("fidelity", status)
        by_fidelity[fid] = by_fidelity.get(fid, 0) + 1
        trained.append((cid, genome, status, m, fitness, feasible))
    epochs = sum(m.get("epochs", 0) for _, _, _, m, _, _ in trained)
    weigh = chip_epochs_of(run)
    chip_epochs = sum(weigh(m) for _, _, _, m, _, _ in trained)
    spent = sum(m.get("train_s", 0) + m.get("eval_s", 0) for _, _, _, m, _, _ in trained)
    if not full_epochs:  # the most a candidate trained from scratch
        full_epochs = max((m.get("epochs", 0) for _, _, s, m, _, _ in trained if s == "ok"
                           and not m.get("fidelity", "").startswith("inherited")), default=0)
    scratch = 0.0
    for _, _, _, m, _, _ in trained:
        if m.get("epochs", 0) <= 0 or "train_s" not in m:
            continue
        # device evaluations in eval_s: one per rung reached, two for a promoted two-stage one
        evals = len(m.get("rung_miou", [])) or (2 if "fitness_low" in m else 1)
        scratch += m["train_s"] / weigh(m) * full_epochs + m.get("eval_s", 0) / evals
    state = db.execute("select state from strategy_state order by step desc limit 1").fetchone()
    screened = json.loads(state[0]).get("strategy", {}).get("screened", 0) if state else 0
    print(f"{run}")
    print(f"  evaluations {len(rows)} ({reused} reused from the journal): "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_fidelity.items())))
    if screened:
        print(f"  draws not proposed (the cost model put them outside a hard constraint): "
              f"{screened}")
    n_trained = sum(1 for r in trained if r[2] != "rejected")  # rejected: no epoch
    print(f"  training epochs {epochs} ({epochs / max(1, n_trained):.2f} a trained candidate), "
          f"worker-seconds {spent:.0f}")
    if chip_epochs != epochs:
        print(f"  chip-epochs (epochs weighted by the share of chips drawn) {chip_epochs:.1f} "
              f"({chip_epochs / max(1, n_trained):.2f} a trained candidate)")
    if spent > 0 and full_epochs:
        print(f"  the same candidates from scratch at {full_epochs} epochs: ~{scratch:.0f} "
              f"worker-seconds, {scratch / spent:.2f}x what the schedule spent")
    rung = [m for _, _, s, m, _, _ in trained if s == "ok" and "rung_miou" in m]
    if rung:
        levels = max(len(m["rung_miou"]) for m in rung)
        top = [m for m in rung if len(m["rung_miou"]) == levels]
        print(f"  rungs: {len(top)} candidates reached rung {levels}")
        for k in range(levels - 1):
            a = [m["rung_miou"][k] for m in top]
            b = [m["rung_miou"][-1] for m in top]
            print(f"    tau(rung {k + 1}, rung {levels}) = {kendall_tau(a, b):+.3f} over {len(top)}")
        for k in range(1, levels):
            reached = [m for m in rung if len(m["rung_miou"]) > k]
            same = sum(1 for m in reached if m["rung_miou"][k] == m["rung_miou"][k - 1])
            print(f"    score unchanged from rung {k} to {k + 1}: {same} of {len(reached)}")
    low = [m for _, _, s, m, _, _ in trained if s == "ok" and "fitness_low" in m
           and m.get("fidelity") == "full" and "miou_low" in m]
    if low:
        a = [m["miou_low"] for m in low]
        b = [m["miou"] for m in low]
        print(f"  two-stage: tau(low fidelity, full) = {kendall_tau(a, b):+.3f} over {len(low)}")
    inherited_stats(trained)
    ok = sorted((r for r in trained if r[2] == "ok" and r[5]), key=lambda r: -r[4])
    print("  best by fitness:")
    for cid, genome, _, m, fitness, _ in ok[:5]:
        print(f"    {cid:4d} fitness {fitness:.4f}  mIoU {m.get('miou', float('nan')):.4f}  "
              f"{m.get('latency_ms', float('nan')):6.2f} ms  {m.get('params', 0):7d} params  "
              f"{m.get('fidelity', '')}  {genome}")


def main():
    args = sys.argv[1:]
    full_epochs = 0
    if len(args) >= 2 and args[0] == "--full-epochs":
        if not args[1].isdigit() or int(args[1]) < 1:
            sys.exit(f"search_run_stats: --full-epochs: '{args[1]}' is not a positive integer")
        full_epochs = int(args[1])
        args = args[2:]
    if not args:
        sys.exit("usage: search_run_stats.py [--full-epochs N] RUN_DIR [RUN_DIR ...]")
    for run in args:
        try:
            run_stats(run, full_epochs)
        except sqlite3.Error as e:
            sys.exit(f"search_run_stats: {run}/journal.sqlite: {e}")


if __name__ == "__main__":
    main()
