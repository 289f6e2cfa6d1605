#!/usr/bin/env python3
"""What a rung run would have spent under each promotion rule, replayed from its journal.

    python3 bench/asha_replay.py RUN_DIR [RUN_DIR ...]

Reads RUN_DIR/journal.sqlite and RUN_DIR/config.toml (the run's rungs and eta). Every
from-scratch candidate (not inherited, not reused from the journal) is decided again, in
commit order, at each rung against the scores the replay has seen at that rung, under the
rules of search/rungs.h:
  eager  promoted while fewer than (n + 1) / eta earlier scores are strictly better;
  asha   promoted while fewer than floor((n + 1) / eta) are.
It prints how many candidates reach each rung, the epochs they train (each rung's epochs
beyond the one before) and how many the replay promotes past where the run stopped (no
recorded score: counted as stopping there). The replay keeps the run's proposals, which a
run under another rule would not (its stopped candidates carry other scores into the
population), so it estimates the cost of a rule, not its result.
"""
import json
import math
import sqlite3
import sys
import tomllib


def replay(rows, rungs, eta, rule):
    seen = [[] for _ in rungs]
    reach = [0] * len(rungs)
    epochs = 0
    unrecorded = 0
    for f in rows:
        for k in range(len(rungs)):
            if k >= len(f):  # promoted by the replay beyond what the run trained
                unrecorded += 1
                break
            reach[k] += 1
            epochs += rungs[k] - (rungs[k - 1] if k else 0)
            better = sum(1 for p in seen[k] if p > f[k])
            q = (len(seen[k]) + 1) / eta
            seen[k].append(f[k])
            promoted = better < q if rule == "eager" else better < math.floor(q)
            if not promoted or k + 1 == len(rungs):
                break
    return reach, epochs, unrecorded


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: asha_replay.py RUN_DIR [RUN_DIR ...]")
    for run in argv:
        try:
            with open(f"{run}/config.toml", "rb") as fh:
                ev = tomllib.load(fh).get("evaluation", {})
            db = sqlite3.connect(f"file:{run}/journal.sqlite?mode=ro", uri=True)
            metrics = [json.loads(m) for (m,) in db.execute(
                "select metrics from evaluations where metrics is not null order by id")]
        except (OSError, sqlite3.Error, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
            sys.exit(f"asha_replay: {run}: {e}")
        if ev.get("schedule") != "rungs" or "rungs" not in ev:
            sys.exit(f"asha_replay: {run}: not a rung run (evaluation.schedule is "
                     f"{ev.get('schedule', 'two-stage')!r})")
        rungs, eta = ev["rungs"], float(ev.get("eta", 2))
        rows = [m["rung_fitness"] for m in metrics
                if "reused_from" not in m and isinstance(m.get("rung_fitness"), list)
                and m["rung_fitness"]]
        print(f"{run}: {len(rows)} from-scratch candidates, rungs {rungs} epochs, eta {eta:g}")
        for rule in ("eager", "asha"):
            reach, epochs, unrecorded = replay(rows, rungs, eta, rule)
            print(f"  {rule:<5}  reached " +
                  ", ".join(f"{r} at {e} ep" for r, e in zip(reach, rungs)) +
                  f"; {epochs} epochs, {epochs / max(1, len(rows)):.2f} a candidate; "
                  f"promoted past the run's record: {unrecorded}")


if __name__ == "__main__":
    main(sys.argv[1:])
