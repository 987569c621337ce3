/* Synthetic default data for `clbnm demo` (interface.md section 1): a brain-like node
 * layout shared by all subjects (one "atlas") and, per subject, a structural connectome
 * and tract lengths drawn from a distance-dependent rule. Everything is a pure function
 * of the seeds, so a demo data set can be regenerated and cited exactly.
 *
 * The rule, with the default constants (bnm_synth_*_init_defaults), in this order:
 *
 * 1. Layout (bnm_synth_layout_create). N nodes, N even; nodes 0..N/2-1 are the left
 *    hemisphere ("L_1".."L_{N/2}", x < 0), node i + N/2 ("R_{i+1}") is the mirror image
 *    (-x, y, z) of node i. Coordinates in mm, RAS-like axes (x left-right, y
 *    posterior-anterior, z inferior-superior), origin at the brain's centre. The brain is
 *    the ellipsoid with semi-axes a = 70, b = 87, c = 62 mm (roughly the extent of the
 *    MNI152 brain); each left node is placed in its cortical shell: direction uniform on
 *    the unit sphere, turned to the left (ux = -|sqrt(1 - uz^2) cos phi|, uy =
 *    sqrt(1 - uz^2) sin phi), radial fraction r uniform in [0.80, 0.95], position
 *    (a r ux, b r uy, c r uz). Points with |x| < 5 mm (the
 *    midline gap) are rejected. Nodes are spread by dart throwing: a candidate closer
 *    than d_min to an accepted node is rejected, with d_min = 0.7 sqrt(A / (N/2)) for A
 *    the area of half the ellipsoid's surface (Thomsen's approximation); after 500
 *    rejections in a row d_min shrinks by 10 %. Left nodes are then numbered from
 *    anterior to posterior (decreasing y), so L_1 is the most frontal node.
 *
 * 2. Connectome of one subject (bnm_synth_subject_create), for each pair i < j with
 *    Euclidean distance d_ij:
 *      base_ij = exp(-d_ij / lambda)                          lambda = 15 mm
 *      times inter = 0.5 when i and j lie in different hemispheres (callosal sparsity),
 *      plus homotopic = 0.1 when j = i + N/2 (homotopic boost),
 *      times exp(sigma z_ij - sigma^2 / 2), z_ij ~ N(0,1)    sigma = 0.4 (log-normal,
 *                                                             mean 1, per subject).
 *    The first factor is the exponential distance rule (EDR) of tract-tracing data
 *    (Ercsey-Ravasz et al. 2013, Neuron 80:184), with lambda in the 10-20 mm range used
 *    for human-sized brains. The N/2 homotopic pairs are always kept; of the others,
 *    the strongest are kept until max(round(density * N (N - 1) / 2), N/2) pairs are
 *    kept in all (density = 0.20; ties by pair index); the rest are set to 0. W is
 *    symmetric with a zero diagonal and is finally scaled so that the mean of all N^2
 *    entries is 0.01: the scaling cuBNM's examples use (SC / (100 mean(SC)),
 *    models.md 0.2.5), which the G bounds of models.md assume; the mean in-strength
 *    is then N / 100 (1 for 100 nodes).
 *
 * 3. Tract lengths of one subject: L_ij = k_ij d_ij (mm) for every pair (also where
 *    W_ij = 0), with a curvature factor k_ij uniform in [1.10, 1.25] within a hemisphere
 *    and in [1.25, 1.40] between hemispheres (callosal fibres arc over the ventricles);
 *    symmetric, zero diagonal.
 *
 * Random numbers: Philox4x32-10 (Random123) with key = the seed (layout seed or
 * subject seed, low 32 bits first) and counter = (a, b, stream, 0x534e5448 "SNTH").
 * A uniform from words hi:lo is (k + 1/2) / 2^53 for k the top 53 bits of hi:lo; a
 * normal is Box-Muller sqrt(-2 ln u1) cos(2 pi u2) with u1 from words 0:1 and u2 from
 * words 2:3. Stream 1, layout: block (attempt, 0) gives the direction (uz = 2 u - 1
 * from words 0:1, azimuth 2 pi u from words 2:3), block (attempt, 1) the radial
 * fraction (words 0:1), for attempt = 0, 1, ... in order. Stream 2, weight noise:
 * z_ij is the normal of block (i, j), i < j. Stream 3, curvature: the uniform of
 * words 0:1 of block (i, j), i < j. The same seeds give bit-identical output on one
 * platform; libm's exp, log, cos and sqrt may differ in the last bit across
 * platforms.
 *
 * All matrices are symmetric, so they are valid in either orientation (bnm_sc_prepare
 * with BNM_SC_UNSPECIFIED accepts them). */
#ifndef CLBNM_SYNTH_H
#define CLBNM_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"
#include "clbnm/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits on N (even). The upper one keeps memory modest: two N x N double matrices
 * and a sort of N (N - 1) / 2 pairs, about 100 MB at N = 2000. */
#define BNM_SYNTH_MIN_NODES 4
#define BNM_SYNTH_MAX_NODES 2000

typedef struct bnm_synth_layout_config {
    size_t n;               /* nodes, even, BNM_SYNTH_MIN_NODES..BNM_SYNTH_MAX_NODES: 100 */
    uint64_t seed;          /* layout ("atlas") seed: 1 */
    double semi_axes_mm[3]; /* whole-brain ellipsoid, x y z: 70 87 62 */
    double shell_inner;     /* radial fraction range of the cortical shell: 0.80 */
    double shell_outer;     /* 0.95 */
    double midline_gap_mm;  /* minimum |x|: 5 */
} bnm_synth_layout_config;

void bnm_synth_layout_config_init_defaults(bnm_synth_layout_config *cfg);

typedef struct bnm_synth_layout {
    size_t n;
    bnm_matrix centres; /* n x 3, mm; row i + n/2 = row i with x negated */
    char **labels;      /* n strings: "L_1".."L_{n/2}", "R_1".."R_{n/2}" */
} bnm_synth_layout;

/* Builds the layout of rule 1. The caller owns *out (bnm_synth_layout_free); on failure
 * *out is empty. BNM_ERR_INVALID_ARG for an odd or out-of-range n or bad geometry. */
bnm_status bnm_synth_layout_create(bnm_context *ctx, const bnm_synth_layout_config *cfg,
                                   bnm_synth_layout *out);
/* NULL and empty layouts are accepted. */
void bnm_synth_layout_free(bnm_synth_layout *layout);

typedef struct bnm_synth_sc_config {
    double lambda_mm;       /* EDR length constant: 15 */
    double inter_factor;    /* interhemispheric attenuation, (0, 1]: 0.5 */
    double homotopic_boost; /* added to homotopic pairs before noise, >= 0: 0.1 */
    double noise_sigma;     /* log-normal sigma, >= 0: 0.4 */
    double density;         /* fraction of pairs kept, (0, 1]: 0.20 */
    double mean_weight;     /* mean of all N^2 entries after scaling, > 0: 0.01 */
    double curv_intra[2];   /* curvature factor range within a hemisphere: 1.10 1.25 */
    double curv_inter[2];   /* between hemispheres: 1.25 1.40 */
} bnm_synth_sc_config;

void bnm_synth_sc_config_init_defaults(bnm_synth_sc_config *cfg);

typedef struct bnm_synth_subject {
    size_t n;
    bnm_matrix sc;      /* n x n, symmetric, zero diagonal, non-negative */
    bnm_matrix lengths; /* n x n, mm, symmetric, zero diagonal */
} bnm_synth_subject;

/* Draws one subject's connectome and tract lengths (rules 2 and 3) on layout. cfg may
 * be NULL for the defaults. The caller owns *out (bnm_synth_subject_free); on failure
 * *out is empty. */
bnm_status bnm_synth_subject_create(bnm_context *ctx, const bnm_synth_layout *layout,
                                    const bnm_synth_sc_config *cfg, uint64_t subject_seed,
                                    bnm_synth_subject *out);
/* NULL and empty subjects are accepted. */
void bnm_synth_subject_free(bnm_synth_subject *s);

/* --- Writers. Each fails with BNM_ERR_IO naming the file; a failed write may leave a
 * partial file behind. Folders are created when missing (one level). ---------------- */

/* A matrix as clBNM text: one row per line, values separated by one space, printed
 * with %.17g so bnm_matrix_read gives back the same doubles. */
bnm_status bnm_synth_write_matrix_text(bnm_context *ctx, const char *path,
                                       const bnm_matrix *m);
/* A matrix as NumPy .npy format 1.0, '<f8', C order, shape (rows, cols). Byte-exact
 * on any host. */
bnm_status bnm_synth_write_npy(bnm_context *ctx, const char *path, const bnm_matrix *m);
/* dir/sc.txt, dir/lengths.txt, dir/centres.txt (n x 3, mm, with a '#' header line) and
 * dir/labels.txt (one label a line), all in node order. */
bnm_status bnm_synth_write_text(bnm_context *ctx, const char *dir,
                                const bnm_synth_layout *layout, const bnm_synth_subject *s);
/* A TVB connectivity folder: dir/weights.txt, dir/tract_lengths.txt and
 * dir/centres.txt ("label x y z" rows), readable by bnm_tvb_read. */
bnm_status bnm_synth_write_tvb(bnm_context *ctx, const char *dir,
                               const bnm_synth_layout *layout, const bnm_synth_subject *s);

#ifdef __cplusplus
}
#endif
#endif
