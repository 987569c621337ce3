#!/usr/bin/python3
"""Writes small files shaped exactly like clBNM outputs (interface.md section 4), for
trying `clbnm report` and for its tests (tests/report/).

usage: make_example_outputs.py DIR

DIR receives:
  sim.h5      simulate file: a 1-D sweep of G (6 simulations, one subject with
              empirical FC/FCD), BOLD, FC, FCD, states_mean, scores
  grid.h5     simulate file: a 4 x 3 grid over G and w_p, no BOLD (bold_carpet.png is
              skipped), two subjects
  bare.h5     simulate file with params and FC only, no subjects (no empirical data)
  opt/        optimize folder: runs.h5 (3 runs with history, best, best_sim) and
              history_k.csv
  other.h5    an HDF5 file that is not a clBNM output
  notes.txt   a text file
  expected.txt  values the report must find, computed here independently of it:
              "<input> best <sim or run> fc_r <r> fcd_ks <D> n_pairs <n>"

The BOLD is synthetic: three modules driven by slow AR(1) signals whose amplitude
drifts (so the FCD has structure), a global signal whose weight grows with G, and noise.
"""

import os
import sys

import h5py
import numpy as np

N_NODES = 20
N_VOLS = 240
TR = 0.72
BOLD_REMOVE = 10.0  # s
WIN, STEP = 40, 8  # FCD window and step in volumes
RUN_FILE = """model: rww
duration: %g
dt: 0.1
bw_dt: 1.0
tr: %g
bold_remove: %g
seed: 0
""" % (N_VOLS * TR, TR, BOLD_REMOVE)
N_RM = int(BOLD_REMOVE / TR)
MODULE = np.repeat(np.arange(3), [7, 7, 6])
PAIRS = np.stack(np.tril_indices(N_NODES, -1), axis=1).astype(np.int32)


def synth_bold(g, rng):
    t = N_VOLS
    lat = np.zeros((t, 4))
    e = rng.standard_normal((t, 4))
    for k in range(1, t):
        lat[k] = 0.9 * lat[k - 1] + e[k]
    amp = 1.0 + 0.8 * np.sin(np.linspace(0, 3 * np.pi, t))[:, None] * np.array([1, -1, 1])
    x = lat[:, MODULE] * amp[:, MODULE] + 0.35 * g * lat[:, [3]]
    x += 0.9 * rng.standard_normal((t, N_NODES))
    return (x * 0.01 + 1.0).astype(np.float32)


def fc_vec(bold):
    c = np.corrcoef(bold[N_RM:].T.astype(float))
    return c[PAIRS[:, 0], PAIRS[:, 1]]


def fcd_vec(bold):
    b = bold[N_RM:].astype(float)
    starts = range(0, b.shape[0] - WIN + 1, STEP)
    w = np.array([np.corrcoef(b[s:s + WIN].T)[PAIRS[:, 0], PAIRS[:, 1]] for s in starts])
    return np.corrcoef(w)[np.tril_indices(w.shape[0], -1)]


def ks_brute(a, b):
    """KS D by direct evaluation of both ECDFs at every pooled value."""
    x = np.concatenate([a, b])
    fa = (a[None, :] <= x[:, None]).mean(axis=1)
    fb = (b[None, :] <= x[:, None]).mean(axis=1)
    return float(np.abs(fa - fb).max())


def pearson_manual(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def root_attrs(f):
    for k, v in (("clbnm_version", "0.1.0"), ("model", "rww"),
                 ("model_source", "model rww\n"), ("model_hash", "0" * 64),
                 ("device", "example"), ("precision", "float"), ("run_file", RUN_FILE),
                 ("created", "2026-01-01T00:00:00Z")):
        f.attrs[k] = v
    f.attrs["complete"] = np.int32(1)


def subject(f, sid, emp_bold, full_matrix=False):
    g = f.require_group("subjects/" + sid)
    rng = np.random.default_rng(len(sid))
    sc = rng.random((N_NODES, N_NODES))
    g["sc"] = (sc + sc.T) / 2
    efc = fc_vec(emp_bold)
    if full_matrix:
        m = np.corrcoef(emp_bold[N_RM:].T.astype(float))
        g["emp_fc"] = m
    else:
        g["emp_fc"] = efc
    g["emp_fcd"] = fcd_vec(emp_bold)
    return efc, fcd_vec(emp_bold)


def write_sim(f, params, subjects, emp, bold_on=True, scores_on=True, seed=0):
    """params: {name: [n_sims] or [n_sims, n]}; subjects: [n_sims] subject ids;
    emp: {sid: (emp_fc, emp_fcd)}. Returns (fc, fcd, cost) per simulation."""
    n = len(subjects)
    rng = np.random.default_rng(seed)
    ids = sorted(set(subjects))
    bolds = [synth_bold(float(np.ravel(params["G"][s])[0]), rng) for s in range(n)]
    fc = np.array([fc_vec(b) for b in bolds])
    fcd = np.array([fcd_vec(b) for b in bolds])
    if bold_on:
        f["bold"] = np.array(bolds, dtype=np.float32)
    f["fc"] = fc.astype(np.float32)
    f["fc_pairs"] = PAIRS
    f["fcd"] = fcd.astype(np.float32)
    f["states_mean/r_E"] = rng.random((n, N_NODES))
    for name, v in params.items():
        f["params/" + name] = np.asarray(v, dtype=float)
    f["sims/seed"] = np.arange(n, dtype=np.uint64)
    f["sims/subject"] = np.array([s.encode() for s in subjects], dtype="S16")
    f["sims/subject_index"] = np.array([ids.index(s) for s in subjects], dtype=np.int32)
    f["status/diverged"] = np.zeros(n, np.uint8)
    f["status/written"] = np.ones(n, np.uint8)
    f["fic/failed"] = np.zeros(n, np.uint8)
    f["fic/trials"] = np.zeros(n, np.int32)
    r = np.array([pearson_manual(fc[s], emp[subjects[s]][0]) for s in range(n)])
    d = np.array([ks_brute(fcd[s], emp[subjects[s]][1]) for s in range(n)])
    cost = -(r - d)
    if scores_on:
        f["scores/fc_corr"] = r
        f["scores/fcd_ks"] = -d
        f["scores/gof"] = r - d
        f["scores/cost"] = cost
        f["scores/fic_penalty"] = np.zeros(n)
    return r, d, cost


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(42)
    emp1 = synth_bold(1.0, rng)
    emp2 = synth_bold(2.0, rng)
    expected = []

    with h5py.File(os.path.join(out, "sim.h5"), "w") as f:
        root_attrs(f)
        emp = {"sub-01": subject(f, "sub-01", emp1)}
        g = np.linspace(0.0, 2.5, 6)
        params = {"G": g, "w_p": np.tile(1.4, (6, N_NODES)) + 0.02 * np.arange(N_NODES),
                  "J_N": np.full(6, 0.15)}
        r, d, cost = write_sim(f, params, ["sub-01"] * 6, emp, seed=1)
        b = int(np.argmin(cost))
        expected.append("sim.h5 best %d fc_r %.6f fcd_ks %.6f n_pairs %d"
                        % (b, r[b], d[b], PAIRS.shape[0]))

    with h5py.File(os.path.join(out, "grid.h5"), "w") as f:
        root_attrs(f)
        emp = {"sub-01": subject(f, "sub-01", emp1), "sub-02": subject(f, "sub-02", emp2)}
        gg, ww = np.meshgrid(np.linspace(0.5, 3.0, 4), np.linspace(1.0, 1.6, 3), indexing="ij")
        params = {"G": gg.ravel(), "w_p": np.repeat(ww.ravel()[:, None], N_NODES, axis=1)}
        subs = ["sub-01" if k % 2 == 0 else "sub-02" for k in range(12)]
        r, d, cost = write_sim(f, params, subs, emp, bold_on=False, seed=2)
        b = int(np.argmin(cost))
        expected.append("grid.h5 best %d fc_r %.6f fcd_ks %.6f n_pairs %d"
                        % (b, r[b], d[b], PAIRS.shape[0]))

    with h5py.File(os.path.join(out, "bare.h5"), "w") as f:
        root_attrs(f)
        f["params/G"] = np.array([1.0, 2.0])
        bolds = [synth_bold(1.0, rng), synth_bold(2.0, rng)]
        f["fc"] = np.array([fc_vec(x) for x in bolds], dtype=np.float32)
        f["fc_pairs"] = PAIRS

    opt = os.path.join(out, "opt")
    os.makedirs(opt, exist_ok=True)
    n_gen, pop = 15, 8
    groups = np.repeat(np.arange(4), 5)  # w_p has one free value per group of 5 nodes
    best_runs = []
    with h5py.File(os.path.join(opt, "runs.h5"), "w") as f:
        root_attrs(f)
        for k, (sid, seed) in enumerate([("sub-01", 1), ("sub-01", 2), ("sub-02", 1)]):
            run = f.create_group("runs/%d" % k)
            run.attrs.update({"subject": sid, "seed": seed, "method": "cmaes",
                              "popsize": pop, "generations": n_gen, "status": "done",
                              "stop_reason": "tolfun"})
            prng = np.random.default_rng(10 + k)
            gen = np.repeat(np.arange(n_gen), pop).astype(np.int32)
            spread = np.exp(-gen / 5.0)
            x = 0.5 + 0.4 * spread[:, None] * prng.standard_normal((gen.size, 5))
            x = np.clip(x, 0, 1)
            G = 0.001 + 10 * x[:, 0]
            wp_group = 3.0 * x[:, 1:5]
            cost = (1.2 + 0.8 * spread * prng.random(gen.size) - 0.03 * k
                    - 0.5 * (1 - np.exp(-gen / 4.0)))
            h = run.create_group("history")
            h["x"] = x
            h["params/G"] = G
            h["params/w_p"] = wp_group[:, groups]
            h["cost"] = cost
            h["scores/fc_corr"] = 0.5 - 0.5 * cost
            h["scores/fcd_ks"] = -0.3 * np.ones_like(cost)
            h["generation"] = gen
            i = int(np.argmin(cost))
            b = run.create_group("best")
            b["x"] = x[i]
            b["params/G"] = G[i]
            b["params/w_p"] = wp_group[i, groups]
            b["cost"] = cost[i]
            b["generation"] = gen[i]
            best_runs.append((cost[i], k))
            bs = run.create_group("best_sim")
            emp_b = emp1 if sid == "sub-01" else emp2
            emp = {sid: subject(bs, sid, emp_b, full_matrix=(k == 2))}
            r, d, _ = write_sim(bs, {"G": G[i:i + 1], "w_p": wp_group[i:i + 1, groups]},
                                [sid], emp, seed=20 + k)
            best_runs[-1] += (r[0], d[0])
            with open(os.path.join(opt, "history_%d.csv" % k), "w") as csv:
                csv.write("generation,cost,G," + ",".join("w_p_%d" % j for j in range(4)) + "\n")
                for j in range(gen.size):
                    csv.write("%d,%.9g,%.9g,%s\n" % (gen[j], cost[j], G[j],
                                                     ",".join("%.9g" % v for v in wp_group[j])))
    c, k, r, d = min(best_runs)
    expected.append("opt best %d fc_r %.6f fcd_ks %.6f n_pairs %d" % (k, r, d, PAIRS.shape[0]))

    with h5py.File(os.path.join(out, "other.h5"), "w") as f:
        f["data"] = np.arange(10.0)
        f.attrs["creator"] = "not clbnm"
    with open(os.path.join(out, "notes.txt"), "w") as t:
        t.write("not an HDF5 file\n")
    with open(os.path.join(out, "expected.txt"), "w") as t:
        t.write("\n".join(expected) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
