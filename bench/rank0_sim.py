#!/usr/bin/env python3
"""Rank 0 as the bottleneck of a distributed search: a discrete-event simulation.

W workers each evaluate a candidate in T seconds (lognormal, 30 % spread); every result
then queues at rank 0, which handles one at a time in C seconds (commit: observe + state +
journal; then the next submission), and only after that does the worker get its next
candidate (the asynchronous strategies; ga/nsga2 add their generation barrier on top).
Prints candidates per hour, the workers' busy share and rank 0's busy share.

    python3 bench/rank0_sim.py [C_ms ...]        # default: 8 and 45 (docs/scale.md)
"""
import heapq
import random
import sys


def simulate(workers, t_eval, c, results=20000, seed=1):
    rng = random.Random(seed)
    sigma = 0.3
    mu = -sigma * sigma / 2  # mean factor 1
    events = [(t_eval * rng.lognormvariate(mu, sigma), w) for w in range(workers)]
    heapq.heapify(events)
    rank0_free = 0.0
    busy_rank0 = 0.0
    busy_workers = 0.0
    done = 0
    now = 0.0
    while done < results:
        t_done, w = heapq.heappop(events)
        start = max(t_done, rank0_free)  # waits for rank 0
        rank0_free = start + c
        busy_rank0 += c
        dur = t_eval * rng.lognormvariate(mu, sigma)
        busy_workers += dur
        heapq.heappush(events, (rank0_free + dur, w))
        done += 1
        now = rank0_free
    return done / now * 3600, busy_workers / (workers * now), busy_rank0 / now


def main():
    costs = [float(x) / 1000 for x in sys.argv[1:]] or [0.008, 0.045]
    print(f"{'rank 0 ms':>9} {'workers':>7} {'T (s)':>6} {'cand/h':>9} {'ideal/h':>9} "
          f"{'workers busy':>12} {'rank 0 busy':>11}")
    for c in costs:
        for workers in (100, 1000):
            for t in (10, 60, 300):
                per_h, wb, rb = simulate(workers, t, c, results=max(20000, workers * 20))
                print(f"{c * 1000:9.0f} {workers:7d} {t:6.0f} {per_h:9.0f} "
                      f"{workers / t * 3600:9.0f} {wb:12.0%} {rb:11.0%}")


if __name__ == "__main__":
    main()
