#!/usr/bin/python3
"""Standard figures of a clBNM result (run by `clbnm report`, interface.md section 1).

INPUT is a file written by `clbnm simulate` (OUT.h5) or a folder written by
`clbnm optimize` (OUTDIR holding runs.h5; runs.h5 itself is accepted too). The figures
are PNG files with stable names, written to DIR (default: OUTDIR for an optimize
folder, OUT_report/ next to OUT.h5 for a simulate file):

  fc.png           simulated vs empirical FC: both matrices and their scatter with
                   Pearson r (simulation chosen by --sim, or the lowest cost)
  fcd.png          simulated vs empirical FCD: both matrices and the distributions of
                   their values with the Kolmogorov-Smirnov D
  cost.png         optimize only: best and median cost per generation of every run
  params.png       fitted parameters of every run's best particle (optimize), or the
                   parameters of the chosen simulation (simulate); regional parameters
                   per node
  bold_carpet.png  simulated BOLD of the chosen simulation, nodes x volumes, z-scored
                   per node, with the global signal above it
  gof_sweep.png    simulate sweep with /scores only: score vs the swept parameter (a line
                   for one parameter, a heat map for a grid of two)

A figure whose inputs are absent is skipped with a one-line note on stderr. Exit
status: 0 when at least one figure was written, 1 on bad input (missing file, not a
clBNM output, nothing to draw, missing Python modules), 2 on a usage error.
"""

import argparse
import os
import re
import sys

PROG = "clbnm report"
FIGURES = ("fc.png", "fcd.png", "cost.png", "params.png", "bold_carpet.png", "gof_sweep.png")
# Debian packages that provide the modules this script needs (tools/setup.sh installs them).
MODULE_PACKAGES = (("numpy", "python3-numpy"), ("h5py", "python3-h5py"),
                   ("matplotlib", "python3-matplotlib"))


class InputError(Exception):
    """Bad input: reported as one line and exit status 1."""


class Skip(Exception):
    """A figure whose inputs are absent: reported as a note, the others go on."""


def fail(msg, code=1):
    print("%s: error: %s" % (PROG, msg), file=sys.stderr)
    sys.exit(code)


def note(msg):
    print("%s: note: %s" % (PROG, msg), file=sys.stderr)


def import_modules():
    """numpy and h5py now; matplotlib (slow to import) is only looked for, and imported
    by import_pyplot once the input has been checked."""
    import importlib.util
    missing = []
    for mod, pkg in MODULE_PACKAGES:
        try:
            ok = importlib.util.find_spec(mod) is not None
            if ok and mod != "matplotlib":
                __import__(mod)
        except ImportError:
            ok = False
        if not ok:
            missing.append((mod, pkg))
    if missing:
        fail("the Python modules %s are not importable by %s; install them with "
             "`apt-get install %s` (or set CLBNM_PYTHON to a Python that has them)"
             % (", ".join(m for m, _ in missing), sys.executable,
                " ".join(p for _, p in missing)))
    global np, h5py
    import numpy as np
    import h5py


def import_pyplot():
    global plt
    if "MPLCONFIGDIR" not in os.environ and not os.access(os.path.expanduser("~"), os.W_OK):
        # matplotlib keeps its font cache there, and warns on every run without one.
        import atexit
        import shutil
        import tempfile
        d = tempfile.mkdtemp(prefix="clbnm-report-mpl-")
        atexit.register(shutil.rmtree, d, True)
        os.environ["MPLCONFIGDIR"] = d
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "font.size": 9,
                         "axes.titlesize": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "image.interpolation": "nearest"})


# ----- reading --------------------------------------------------------------------------

def text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace").rstrip("\0")
    if isinstance(v, np.ndarray):
        return text(v[()]) if v.shape == () else ", ".join(text(x) for x in v.ravel())
    if isinstance(v, np.generic):
        return text(v.item())
    return str(v)


def run_file_value(attrs, key):
    """A top-level number from the run file's YAML text (root attribute run_file)."""
    src = text(attrs.get("run_file", ""))
    m = re.search(r"^%s\s*:\s*([-+0-9.eE]+)" % re.escape(key), src, re.M)
    try:
        return float(m.group(1)) if m else None
    except ValueError:
        return None


def term_name(name):
    """'+fc_corr' and 'fc_corr' name the same score term."""
    return name.lstrip("+-")


def lower_to_matrix(vec, pairs, n, diag):
    m = np.full((n, n), np.nan)
    m[pairs[:, 0], pairs[:, 1]] = vec
    m[pairs[:, 1], pairs[:, 0]] = vec
    np.fill_diagonal(m, diag)
    return m


def triangle_side(n_values):
    """W with W(W-1)/2 == n_values, or None."""
    w = int(round((1 + np.sqrt(1 + 8 * n_values)) / 2))
    return w if w * (w - 1) // 2 == n_values and w >= 2 else None


def tril_pairs(n):
    i, j = np.tril_indices(n, -1)
    return np.stack([i, j], axis=1)


def ks_d(a, b):
    """Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b| (analysis.md 8.1)."""
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / a.size
    fb = np.searchsorted(b, x, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def pearson(a, b):
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan"), int(ok.sum())
    return float(np.corrcoef(a[ok], b[ok])[0, 1]), int(ok.sum())


class SimView:
    """A simulate-layout group: the root of a simulate file or /runs/k/best_sim."""

    def __init__(self, group, attrs, label, fallback_subjects=None, single=False):
        self.single = single  # best_sim of a run: its one simulation needs no number
        self.g = group
        self.attrs = attrs  # root attributes (run_file, model)
        self.label = label
        self.fallback_subjects = fallback_subjects

    def has(self, name):
        return name in self.g and isinstance(self.g[name], h5py.Dataset)

    def n_sims(self):
        for name in ("bold", "fc", "fcd", "sims/seed", "scores/cost"):
            if self.has(name):
                return self.g[name].shape[0] if self.g[name].ndim else 1
        if "params" in self.g:
            for d in self.g["params"].values():
                return d.shape[0] if d.ndim else 1
        return 0

    def n_nodes(self):
        if self.has("bold"):
            return self.g["bold"].shape[2]
        if self.has("fc_pairs") and self.g["fc_pairs"].shape[0]:
            return int(np.max(self.g["fc_pairs"][()])) + 1
        if self.has("fc"):
            return triangle_side(self.g["fc"].shape[1])
        return None

    def fc_pairs(self):
        n = self.n_nodes()
        if self.has("fc_pairs"):
            return np.asarray(self.g["fc_pairs"][()], dtype=np.int64).reshape(-1, 2)
        return tril_pairs(n)

    def scores(self, name):
        """[n_sims] values of scores/NAME (term names with or without their sign)."""
        if "scores" not in self.g:
            return None
        for key, d in self.g["scores"].items():
            if term_name(key) == term_name(name):
                return np.asarray(d[()], dtype=float).ravel()
        return None

    def title(self, sim, why):
        subj = self.subject(sim)
        s = self.label if self.single else "%s, simulation %d (%s)" % (self.label, sim, why)
        return s + (", subject %s" % subj if subj and "subject" not in s else "")

    def best_sim(self):
        cost = self.scores("cost")
        if cost is not None and np.isfinite(cost).any():
            return int(np.nanargmin(cost)), "lowest cost"
        return 0, "first simulation"

    def subject(self, sim):
        if self.has("sims/subject"):
            return text(self.g["sims/subject"][sim])
        subs = self.subject_ids()
        if self.has("sims/subject_index") and subs:
            k = int(self.g["sims/subject_index"][sim])
            if 0 <= k < len(subs):
                return subs[k]
        return subs[0] if len(subs) == 1 else None

    def subjects_group(self):
        if "subjects" in self.g:
            return self.g["subjects"]
        return self.fallback_subjects

    def subject_ids(self):
        s = self.subjects_group()
        return list(s.keys()) if s is not None else []

    def subject_data(self, sim, name):
        sid = self.subject(sim)
        s = self.subjects_group()
        if sid is None or s is None or sid not in s or name not in s[sid]:
            return None
        return np.asarray(s[sid][name][()], dtype=float)

    def row(self, name, sim):
        return np.asarray(self.g[name][sim], dtype=float)

    def sim_params(self, sim):
        out = {}
        if "params" in self.g:
            for name, d in self.g["params"].items():
                out[name] = (np.asarray(d[()], dtype=float).reshape(-1) if d.ndim == 0
                              else np.asarray(d[sim], dtype=float))
        return out

    def bold_remove_vols(self):
        tr, rm = run_file_value(self.attrs, "tr"), run_file_value(self.attrs, "bold_remove")
        if tr and rm is not None and tr > 0:
            return int(rm / tr)
        return 0


def open_input(path):
    """Returns (kind, h5 file, folder): kind is 'simulate' or 'optimize'."""
    if not os.path.exists(path):
        raise InputError("'%s' does not exist" % path)
    folder = None
    if os.path.isdir(path):
        folder = path
        path = os.path.join(path, "runs.h5")
        if not os.path.isfile(path):
            raise InputError("'%s' is a folder without runs.h5: not a clbnm optimize output "
                             "folder (give the folder `clbnm optimize -o` wrote, or a "
                             "`clbnm simulate` .h5 file)" % folder)
    if not h5py.is_hdf5(path):
        raise InputError("'%s' is not an HDF5 file: give a `clbnm simulate` .h5 file or a "
                         "`clbnm optimize` output folder" % path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise InputError("cannot open '%s': %s" % (path, e))
    if "runs" in f and isinstance(f["runs"], h5py.Group):
        return "optimize", f, folder or os.path.dirname(os.path.abspath(path))
    sim_names = ("bold", "fc", "fcd", "params", "scores", "states_mean")
    if "clbnm_version" in f.attrs or any(n in f for n in sim_names):
        if not any(n in f for n in sim_names):
            f.close()
            raise InputError("'%s' is a clBNM file but holds no results (no /bold, /fc, "
                             "/fcd, /params or /scores)" % path)
        return "simulate", f, None
    f.close()
    raise InputError("'%s' is not a clBNM output: it has no clbnm_version attribute and "
                     "none of /runs, /bold, /fc, /fcd, /params, /scores" % path)


def sorted_runs(f):
    def key(k):
        return (0, int(k)) if k.isdigit() else (1, k)
    return [(k, f["runs"][k]) for k in sorted(f["runs"].keys(), key=key)
            if isinstance(f["runs"][k], h5py.Group)]


def run_label(k, g):
    parts = []
    for a in ("subject", "seed"):
        if a in g.attrs:
            parts.append("%s %s" % (a, text(g.attrs[a])))
    return "run %s" % k + (" (%s)" % ", ".join(parts) if parts else "")


def run_best_cost(g):
    if "best" in g and "cost" in g["best"]:
        return float(np.ravel(g["best"]["cost"][()])[0])
    if "history" in g and "cost" in g["history"]:
        c = np.asarray(g["history"]["cost"][()], dtype=float)
        if np.isfinite(c).any():
            return float(np.nanmin(c))
    return float("inf")


def run_best_params(g):
    """{name: value array} of a run's best particle."""
    if "best" in g and "params" in g["best"]:
        return {n: np.ravel(np.asarray(d[()], dtype=float))
                for n, d in g["best"]["params"].items()}
    if "best_sim" in g and "params" in g["best_sim"]:
        return {n: np.ravel(np.asarray(d[()] if d.ndim == 0 else d[0], dtype=float))
                for n, d in g["best_sim"]["params"].items()}
    h = g.get("history")
    if h is not None and "params" in h and "cost" in h:
        c = np.asarray(h["cost"][()], dtype=float)
        if np.isfinite(c).any():
            i = int(np.nanargmin(c))
            return {n: np.ravel(np.asarray(d[i], dtype=float)) for n, d in h["params"].items()}
    return {}


# ----- figures --------------------------------------------------------------------------

def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.savefig(path, facecolor="white")
    plt.close(fig)
    return path


def integer_ticks(ax, x=True, y=True):
    from matplotlib.ticker import MaxNLocator
    if x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if y:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def colorbar(fig, im, ax, label):
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label(label)


def fig_fc(view, sim, why, out_dir):
    n = view.n_nodes()
    if view.has("fc"):
        sim_fc = view.row("fc", sim)
        pairs = view.fc_pairs()
        source = "/fc"
    elif view.has("bold"):
        bold = view.row("bold", sim)[view.bold_remove_vols():]
        pairs = view.fc_pairs()
        c = np.corrcoef(bold.T)
        sim_fc = c[pairs[:, 0], pairs[:, 1]]
        source = "from /bold"
    else:
        raise Skip("no /fc or /bold")
    if n is None:
        raise Skip("cannot tell the number of nodes")
    emp = view.subject_data(sim, "emp_fc")
    if emp is not None:
        if emp.ndim == 2 and emp.shape == (n, n):
            emp_fc = emp[pairs[:, 0], pairs[:, 1]]
        elif emp.size == pairs.shape[0]:
            emp_fc = emp.ravel()
        else:
            note("fc.png: empirical FC of shape %s does not match %d pairs; drawn without it"
                 % (emp.shape, pairs.shape[0]))
            emp = None
    title = view.title(sim, why)
    if emp is None:
        fig, ax = plt.subplots(1, 1, figsize=(5.2, 4.4), constrained_layout=True)
        im = ax.imshow(lower_to_matrix(sim_fc, pairs, n, 1.0), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title("simulated FC (%s); no empirical FC" % source)
        integer_ticks(ax)
        ax.set_xlabel("node")
        ax.set_ylabel("node")
        colorbar(fig, im, ax, "Pearson r")
        fig.suptitle(title)
        print("fc.png: simulation %d, no empirical FC" % sim)
        return save(fig, out_dir, "fc.png")
    r, n_ok = pearson(sim_fc, emp_fc)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), constrained_layout=True)
    for ax, v, t in ((axes[0], sim_fc, "simulated FC"), (axes[1], emp_fc, "empirical FC")):
        im = ax.imshow(lower_to_matrix(v, pairs, n, 1.0), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(t)
        integer_ticks(ax)
        ax.set_xlabel("node")
        ax.set_ylabel("node")
        colorbar(fig, im, ax, "Pearson r")
    ax = axes[2]
    ax.scatter(emp_fc, sim_fc, s=6, alpha=0.5, color="tab:blue", edgecolors="none")
    lo = np.nanmin(np.concatenate([emp_fc, sim_fc]))
    hi = np.nanmax(np.concatenate([emp_fc, sim_fc]))
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--", label="identity")
    ok = np.isfinite(emp_fc) & np.isfinite(sim_fc)
    if ok.sum() >= 3:
        slope, icpt = np.polyfit(emp_fc[ok], sim_fc[ok], 1)
        xs = np.array([lo, hi])
        ax.plot(xs, slope * xs + icpt, color="tab:red", lw=1.2, label="least squares")
    ax.set_xlabel("empirical FC")
    ax.set_ylabel("simulated FC")
    ax.set_title("FC pairs: r = %.3f (n = %d)" % (r, n_ok))
    ax.legend(loc="upper left", frameon=False)
    ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle(title)
    print("fc.png: simulation %d, Pearson r = %.6f over %d pairs" % (sim, r, n_ok))
    return save(fig, out_dir, "fc.png")


def fig_fcd(view, sim, why, out_dir):
    if not view.has("fcd"):
        raise Skip("no /fcd")
    sim_fcd = view.row("fcd", sim)
    emp = view.subject_data(sim, "emp_fcd")
    if emp is not None and emp.ndim == 2 and emp.shape[0] == emp.shape[1]:
        emp_fcd = emp[np.tril_indices(emp.shape[0], -1)]
    elif emp is not None:
        emp_fcd = emp.ravel()
    else:
        emp_fcd = None
    panels = [("simulated FCD", sim_fcd)]
    if emp_fcd is not None and triangle_side(emp_fcd.size):
        panels.append(("empirical FCD", emp_fcd))
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.7 * (len(panels) + 1), 4.4),
                             constrained_layout=True)
    for ax, (t, v) in zip(axes, panels):
        w = triangle_side(v.size)
        if w is None:
            ax.text(0.5, 0.5, "%d values: not a triangle" % v.size, ha="center")
            continue
        im = ax.imshow(lower_to_matrix(v, tril_pairs(w), w, 1.0), cmap="viridis",
                       vmin=-1, vmax=1)
        ax.set_title("%s (%d windows)" % (t, w))
        integer_ticks(ax)
        ax.set_xlabel("window")
        ax.set_ylabel("window")
        colorbar(fig, im, ax, "FC correlation between windows")
    ax = axes[-1]
    s_ok = sim_fcd[np.isfinite(sim_fcd)]
    bins = np.linspace(-1, 1, 61)
    ax.hist(s_ok, bins=bins, density=True, histtype="stepfilled", alpha=0.45,
            color="tab:blue", label="simulated (%d)" % s_ok.size)
    title = "FCD distribution"
    if emp_fcd is not None:
        e_ok = emp_fcd[np.isfinite(emp_fcd)]
        ax.hist(e_ok, bins=bins, density=True, histtype="step", lw=1.6, color="k",
                label="empirical (%d)" % e_ok.size)
        if s_ok.size and e_ok.size:
            d = ks_d(s_ok, e_ok)
            title = "FCD distributions: KS D = %.3f" % d
            print("fcd.png: simulation %d, KS D = %.6f (%d vs %d values)"
                  % (sim, d, s_ok.size, e_ok.size))
    else:
        title += " (no empirical FCD)"
        print("fcd.png: simulation %d, no empirical FCD" % sim)
    if s_ok.size < sim_fcd.size:
        title += "\n%d non-finite simulated values left out" % (sim_fcd.size - s_ok.size)
    ax.set_title(title)
    ax.set_xlabel("FCD value")
    ax.set_ylabel("density")
    ax.legend(loc="upper left", frameon=False)
    fig.suptitle(view.title(sim, why))
    return save(fig, out_dir, "fcd.png")


def fig_carpet(view, sim, why, out_dir):
    if not view.has("bold"):
        raise Skip("no /bold")
    bold = view.row("bold", sim)  # [n_vols, n_nodes]
    if bold.ndim != 2 or bold.shape[0] < 2:
        raise Skip("/bold has fewer than 2 volumes")
    n_vol = bold.shape[0]
    rm = view.bold_remove_vols()
    rm = rm if 0 < rm < n_vol - 1 else 0
    # Statistics over the kept volumes only: the initial transient that bold_remove
    # drops would otherwise set the scale and flatten everything after it.
    mu = np.nanmean(bold[rm:], axis=0)
    sd = np.nanstd(bold[rm:], axis=0)
    sd[~(sd > 0)] = np.nan
    z = ((bold - mu) / sd).T  # nodes x volumes
    tr = run_file_value(view.attrs, "tr")
    if tr and tr > 0:
        extent, xlabel, scale = [0, n_vol * tr, z.shape[0] - 0.5, -0.5], "time (s)", tr
    else:
        extent, xlabel, scale = [0, n_vol, z.shape[0] - 0.5, -0.5], "volume", 1.0
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, constrained_layout=True,
                                   gridspec_kw={"height_ratios": [1, 4]})
    t = (np.arange(n_vol) + 0.5) * scale
    gm = np.nanmean(z, axis=0)
    ax0.plot(t, gm, color="k", lw=0.8)
    kept = gm[rm:][np.isfinite(gm[rm:])]
    if kept.size and np.ptp(kept) > 0:
        pad = 0.1 * np.ptp(kept)
        ax0.set_ylim(kept.min() - pad, kept.max() + pad)
    ax0.set_ylabel("global\nmean (z)")
    im = ax1.imshow(z, aspect="auto", cmap="gray", vmin=-2.5, vmax=2.5, extent=extent)
    ax1.set_xlabel(xlabel)
    ax1.set_ylabel("node")
    integer_ticks(ax1, x=False)
    colorbar(fig, im, ax1, "BOLD (z-scored per node%s)" % (", kept volumes" if rm else ""))
    if rm:
        for ax in (ax0, ax1):
            ax.axvspan(0, rm * scale, color="tab:orange", alpha=0.25, lw=0)
        ax0.text(rm * scale, ax0.get_ylim()[1], " bold_remove", va="top", fontsize=8,
                 color="tab:orange")
    fig.suptitle("simulated BOLD, " + view.title(sim, why))
    print("bold_carpet.png: simulation %d, %d nodes x %d volumes" % (sim, z.shape[0], n_vol))
    return save(fig, out_dir, "bold_carpet.png")


def param_panels(fig_title, entries, out_dir):
    """entries: [(label, {name: values})]: one panel per parameter, one series per entry."""
    names = []
    for _, p in entries:
        names += [n for n in p if n not in names]
    if not names:
        raise Skip("no parameters")
    scalars = [n for n in names if all(p.get(n, np.zeros(1)).size <= 1 for _, p in entries)]
    regional = [n for n in names if n not in scalars]
    single = len(entries) == 1
    # One run: its global values fit one table. Several runs: one panel per global
    # parameter (their scales differ), one bar per run.
    n_panels = (1 if scalars and single else len(scalars)) + len(regional)
    cols = min(n_panels, 3)
    rows = (n_panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.6 * rows),
                             constrained_layout=True, squeeze=False)
    axes = axes.ravel()
    colors = plt.cm.tab10(np.arange(len(entries)) % 10)
    k = 0
    if scalars and single:
        ax = axes[k]
        k += 1
        vals = [float(entries[0][1][n][0]) for n in scalars]
        ax.axis("off")
        tab = ax.table(cellText=[[n, "%.6g" % v] for n, v in zip(scalars, vals)],
                       colLabels=["parameter", "value"], loc="center", cellLoc="left")
        tab.scale(1, 1.4)
        ax.set_title("global parameters")
    elif scalars:
        for n in scalars:
            ax = axes[k]
            k += 1
            for j, (label, p) in enumerate(entries):
                if n in p:
                    ax.bar(j, float(p[n][0]), color=colors[j], label=label)
            ax.set_xticks(range(len(entries)))
            ax.set_xticklabels([lab.split(" (")[0].replace("run ", "")
                                for lab, _ in entries])
            ax.set_xlabel("run")
            ax.set_ylabel(n)
            ax.set_title(n)
            ax.grid(axis="y", alpha=0.3)
    for n in regional:
        ax = axes[k]
        k += 1
        for j, (label, p) in enumerate(entries):
            if n not in p:
                continue
            v = p[n]
            if v.size <= 1:
                ax.axhline(float(v[0]), color=colors[j], lw=1.2, ls="--", label=label)
            else:
                ax.step(np.arange(v.size), v, where="mid", color=colors[j], lw=1.2,
                        label=label)
                ax.plot(np.arange(v.size), v, ".", color=colors[j], ms=3)
        ax.set_title("%s per node" % n)
        integer_ticks(ax, y=False)
        ax.set_xlabel("node")
        ax.set_ylabel(n)
        ax.grid(alpha=0.3)
    for ax in axes[k:]:
        ax.axis("off")
    if len(entries) > 1 and k > 0:
        # Bars are numbered by run; the panel of the first regional parameter (else the
        # first panel) names the runs.
        ax = axes[len(axes[:k]) - len(regional)] if regional else axes[0]
        handles, labels = [], []
        for a in axes[:k]:
            for h, lab in zip(*a.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        if len(labels) <= 12:
            ax.legend(handles, labels, fontsize=7, frameon=False, loc="best")
    fig.suptitle(fig_title)
    return save(fig, out_dir, "params.png")


def fig_params_sim(view, sim, why, out_dir):
    p = view.sim_params(sim)
    if not p:
        raise Skip("no /params")
    p = {n: np.atleast_1d(v) for n, v in p.items()}
    print("params.png: simulation %d, %d parameters" % (sim, len(p)))
    return param_panels("parameters of %s, simulation %d (%s)" % (view.label, sim, why),
                        [("simulation %d" % sim, p)], out_dir)


def fig_params_runs(runs, out_dir):
    entries = [(run_label(k, g), run_best_params(g)) for k, g in runs]
    entries = [(lab, p) for lab, p in entries if p]
    if not entries:
        raise Skip("no run has best/params, best_sim/params or history/params")
    print("params.png: best particle of %d runs" % len(entries))
    return param_panels("fitted parameters (best particle of each run)", entries, out_dir)


def fig_cost(runs, out_dir):
    fig, ax = plt.subplots(1, 1, figsize=(8, 4.8), constrained_layout=True)
    colors = plt.cm.tab10(np.arange(len(runs)) % 10)
    drawn = 0
    for j, (k, g) in enumerate(runs):
        h = g.get("history")
        if h is None or "cost" not in h or "generation" not in h:
            continue
        cost = np.asarray(h["cost"][()], dtype=float).ravel()
        gen = np.asarray(h["generation"][()]).ravel()
        if cost.size == 0 or cost.size != gen.size:
            continue
        gens = np.unique(gen)
        best = np.array([np.nanmin(np.where(np.isfinite(c), c, np.inf))
                         for c in (cost[gen == x] for x in gens)])
        med = np.array([np.nanmedian(cost[gen == x]) for x in gens])
        label = run_label(k, g)
        ax.plot(gens, best, color=colors[j], lw=1.6, label=label + ": best")
        ax.plot(gens, med, color=colors[j], lw=1.0, ls="--", label=label + ": median")
        drawn += 1
    if not drawn:
        plt.close(fig)
        raise Skip("no run has history/cost and history/generation")
    ax.set_xlabel("generation")
    integer_ticks(ax, y=False)
    ax.set_ylabel("cost (lower is better)")
    ax.set_title("cost per generation: best (solid) and median (dashed) of each run")
    ax.grid(alpha=0.3)
    if drawn <= 8:
        ax.legend(frameon=False, fontsize=8, ncol=2 if drawn > 2 else 1)
    print("cost.png: %d runs" % drawn)
    return save(fig, out_dir, "cost.png")


def swept_values(d, rows=4096):
    """[n_sims] values of a params dataset, or None when a regional one varies across
    nodes (a sweep sets one value for all nodes). Read in blocks: [n_sims, n_nodes] of a
    large sweep need not fit in memory."""
    if d.ndim == 1:
        return np.asarray(d[()], dtype=float)
    if d.ndim != 2:
        return None
    out = []
    for first in range(0, d.shape[0], rows):
        blk = np.asarray(d[first:first + rows], dtype=float)
        if not np.allclose(blk, blk[:, :1], equal_nan=True):
            return None
        out.append(blk[:, 0])
    return np.concatenate(out) if out else None


def group_mean(inverse, n_groups, y):
    """Mean of the finite y per group (NaN for a group without any)."""
    ok = np.isfinite(y)
    sums = np.bincount(inverse[ok], weights=y[ok], minlength=n_groups)
    counts = np.bincount(inverse[ok], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def fig_gof_sweep(view, out_dir):
    n_sims = view.n_sims()
    score_name = "gof"
    score = view.scores("gof")
    if score is None:
        score, score_name = view.scores("cost"), "cost"
    if score is None:
        raise Skip("no /scores")
    if n_sims < 2:
        raise Skip("a single simulation is not a sweep")
    swept = []
    if "params" in view.g:
        for name, d in view.g["params"].items():
            v = swept_values(d)
            if v is not None and v.ndim == 1 and v.size == n_sims and np.unique(v[np.isfinite(v)]).size > 1:
                swept.append((name, v))
    if not swept:
        raise Skip("no parameter varies across the simulations")
    better = "higher" if score_name == "gof" else "lower"
    pick = np.nanargmax if score_name == "gof" else np.nanargmin
    title = "%s vs swept parameters (%d simulations; %s is better)" % (score_name, n_sims,
                                                                       better)
    if len(swept) == 1:
        name, x = swept[0]
        ux, inv = np.unique(x, return_inverse=True)
        lines = ux.size <= 200  # a grid; a random sample of many values is drawn as dots
        fig, ax = plt.subplots(1, 1, figsize=(7.5, 4.6), constrained_layout=True)
        terms = [("gof" if score_name == "gof" else score_name, score, "k", 2.0)]
        if "scores" in view.g:
            for j, key in enumerate(view.g["scores"].keys()):
                if term_name(key) not in ("gof", "cost", "fic_penalty"):
                    terms.append((key, view.scores(key), plt.cm.tab10(j % 10), 1.2))
        for label, y, c, lw in terms:
            if lines:
                ax.plot(ux, group_mean(inv, ux.size, y), "o-", color=c, lw=lw, ms=3,
                        label=label)
            if not lines or len(ux) < len(x):
                ax.scatter(x, y, color=c, s=6, alpha=0.3, edgecolors="none",
                           label=None if lines else label)
        ib = pick(score)
        ax.axvline(x[ib], color="tab:red", lw=0.8, ls=":")
        ax.set_xlabel(name)
        ax.set_ylabel("score")
        ax.legend(frameon=False)
        ax.grid(alpha=0.3)
        if lines and len(ux) < len(x):
            title += "\nlines: mean over the simulations at each value; dots: each one"
        ax.set_title(title + "\nbest: %s = %.4g (%s %.4f)" % (name, x[ib], score_name,
                                                                score[ib]))
        print("gof_sweep.png: %s vs %s, best %s = %.6g" % (score_name, name, name, x[ib]))
        return save(fig, out_dir, "gof_sweep.png")
    (n1, x1), (n2, x2) = swept[0], swept[1]
    u1, i1 = np.unique(x1, return_inverse=True)
    u2, i2 = np.unique(x2, return_inverse=True)
    ib = pick(score)
    cmap = "viridis" if score_name == "gof" else "viridis_r"
    fig, ax = plt.subplots(1, 1, figsize=(7.5, 5.6), constrained_layout=True)
    if len(swept) == 2 and u1.size * u2.size <= 4 * n_sims:
        grid = group_mean(i2 * u1.size + i1, u1.size * u2.size, score).reshape(u2.size,
                                                                               u1.size)
        edges = [np.concatenate([[u[0] - (u[1] - u[0]) / 2 if u.size > 1 else u[0] - 0.5],
                                 (u[1:] + u[:-1]) / 2,
                                 [u[-1] + (u[-1] - u[-2]) / 2 if u.size > 1 else u[0] + 0.5]])
                 for u in (u1, u2)]
        im = ax.pcolormesh(edges[0], edges[1], np.ma.masked_invalid(grid), cmap=cmap,
                           shading="flat")
        kind = "grid"
        if u1.size * u2.size < n_sims:
            title += "\neach cell: mean over its %.3g simulations (subjects, seeds)" % (
                n_sims / (u1.size * u2.size))
    else:
        im = ax.scatter(x1, x2, c=score, cmap=cmap, s=18, edgecolors="none")
        kind = "samples"
        if len(swept) > 2:
            title += "\nalso swept: %s" % ", ".join(n for n, _ in swept[2:])
    ax.plot(x1[ib], x2[ib], marker="*", color="tab:red", ms=14, mec="white",
            label="best: %s = %.4g, %s = %.4g" % (n1, x1[ib], n2, x2[ib]))
    ax.legend(loc="upper right", frameon=True, fontsize=8)
    ax.set_xlabel(n1)
    ax.set_ylabel(n2)
    colorbar(fig, im, ax, score_name)
    ax.set_title(title)
    print("gof_sweep.png: %s over %s x %s (%s), best at %s = %.6g, %s = %.6g"
          % (score_name, n1, n2, kind, n1, x1[ib], n2, x2[ib]))
    return save(fig, out_dir, "gof_sweep.png")


# ----- driver ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s OUT.h5|OUTDIR [-o DIR] [--sim I] [--run K]",
        description=__doc__.split("\n\n", 1)[1])
    ap.add_argument("input", metavar="OUT.h5|OUTDIR",
                    help="a clbnm simulate file or a clbnm optimize output folder")
    ap.add_argument("-o", "--output", metavar="DIR",
                    help="folder for the figures (created when missing)")
    ap.add_argument("--sim", type=int, metavar="I",
                    help="simulation drawn in fc/fcd/params/bold_carpet (simulate file; "
                         "default: the lowest /scores/cost, else 0)")
    ap.add_argument("--run", metavar="K",
                    help="optimize run whose best_sim is drawn in fc/fcd/bold_carpet "
                         "(default: the run with the lowest best cost)")
    return ap.parse_args(argv)


def draw(name, fn, *args):
    try:
        return fn(*args)
    except Skip as e:
        note("skipped %s: %s" % (name, e))
    except InputError:
        raise
    except Exception as e:  # a malformed dataset must not stop the other figures
        note("skipped %s: could not draw it (%s: %s)" % (name, type(e).__name__, e))
    plt.close("all")
    return None


def main(argv):
    args = parse_args(argv)
    import_modules()
    kind, f, folder = open_input(args.input)
    if args.output:
        out_dir = args.output
    elif kind == "optimize":
        out_dir = folder
    else:
        out_dir = os.path.splitext(os.path.abspath(args.input))[0] + "_report"
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise InputError("cannot create the output folder '%s': %s" % (out_dir, e))
    import_pyplot()
    written = []
    with f:
        if kind == "simulate":
            view = SimView(f, f.attrs, os.path.basename(args.input))
            n = view.n_sims()
            if args.sim is not None:
                if not 0 <= args.sim < n:
                    raise InputError("--sim %d is out of range: '%s' holds %d simulations"
                                     % (args.sim, args.input, n))
                sim, why = args.sim, "--sim"
            else:
                sim, why = view.best_sim()
            written.append(draw("fc.png", fig_fc, view, sim, why, out_dir))
            written.append(draw("fcd.png", fig_fcd, view, sim, why, out_dir))
            note("skipped cost.png: a simulate file has no optimisation history")
            written.append(draw("params.png", fig_params_sim, view, sim, why, out_dir))
            written.append(draw("bold_carpet.png", fig_carpet, view, sim, why, out_dir))
            written.append(draw("gof_sweep.png", fig_gof_sweep, view, out_dir))
        else:
            runs = sorted_runs(f)
            if not runs:
                raise InputError("'%s' holds no runs under /runs" % args.input)
            if args.run is not None:
                chosen = [r for r in runs if r[0] == args.run]
                if not chosen:
                    raise InputError("--run %s: '%s' holds runs %s" % (
                        args.run, args.input, ", ".join(k for k, _ in runs)))
                k, g = chosen[0]
                why = "--run"
            else:
                k, g = min(runs, key=lambda r: run_best_cost(r[1]))
                why = "lowest best cost"
            written.append(draw("cost.png", fig_cost, runs, out_dir))
            written.append(draw("params.png", fig_params_runs, runs, out_dir))
            if "best_sim" in g:
                view = SimView(g["best_sim"], f.attrs, "best particle of %s; %s"
                               % (run_label(k, g), why if why == "--run" else "the " + why),
                               f.get("subjects"), single=True)
                for name, fn in (("fc.png", fig_fc), ("fcd.png", fig_fcd),
                                 ("bold_carpet.png", fig_carpet)):
                    written.append(draw(name, fn, view, 0, "best particle", out_dir))
            else:
                note("skipped fc.png, fcd.png, bold_carpet.png: run %s has no best_sim" % k)
            print("drawn run: %s (%s)" % (k, why))
    written = [w for w in written if w]
    if not written:
        raise InputError("'%s' holds nothing to draw" % args.input)
    for w in written:
        print("wrote %s" % w)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted")
    except Exception as e:  # never a traceback for users: one line naming the problem
        fail("could not read '%s': %s: %s" % (sys.argv[-1], type(e).__name__, e))
