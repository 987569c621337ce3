#!/usr/bin/python3
"""Prints, for each PNG given: path, ink (fraction of pixels more than 10% away from
white), distinct 8-bit RGB colours, pixel standard deviation, chroma (fraction of
pixels whose channels differ by more than 0.15, i.e. not grey). Used by test_report."""
import sys

import matplotlib.image as mpimg
import numpy as np

for p in sys.argv[1:]:
    a = mpimg.imread(p)[..., :3]
    ink = float((np.abs(1.0 - a).max(axis=2) > 0.1).mean())
    q = np.round(a * 255).astype(np.int64)
    colours = np.unique(q[..., 0] * 65536 + q[..., 1] * 256 + q[..., 2]).size
    chroma = float(((a.max(axis=2) - a.min(axis=2)) > 0.15).mean())
    print("%s %.4f %d %.4f %.5f" % (p, ink, colours, float(a.std()), chroma))
