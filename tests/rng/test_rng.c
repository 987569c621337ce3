/* Engine RNG (engine/rng/RNG.md): Philox known answers, the bit mapping against an
 * independent long-double reference, statistics of the normals, addressing, and the
 * OpenCL implementation against the host one (PoCL, double and float). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/clbnm.h"
#include "rng.h"

/* Published known-answer vectors for philox4x32-10 (Random123 kat_vectors; the same
 * values are produced by Random123's philox4x32_R(10, ...)): counter, key, result. */
static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
     0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
     0x94fdcceb, 0x5001e420, 0x24126ea1},
};

START_TEST(philox_known_answers)
{
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        bnm_rng_philox4x32_10(&kat[v][0], &kat[v][4], out);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(out[i] == kat[v][6 + i], "vector %d word %d: %08x != %08x", v, i,
                          out[i], kat[v][6 + i]);
    }
}
END_TEST

START_TEST(block_uses_documented_counter_and_key)
{
    /* RNG.md 2: C = (node, noise id, step lo, step bits 32-47 | stream << 16), K = seed. */
    uint64_t seed = UINT64_C(0x0123456789abcdef);
    uint64_t step = UINT64_C(0x00007654deadbeef);
    uint32_t a[4], b[4];
    bnm_rng_block(seed, 77u, 5u, step, 9u, a);
    const uint32_t ctr[4] = {5u, 77u, 0xdeadbeefu, 0x7654u | (9u << 16)};
    const uint32_t key[2] = {0x89abcdefu, 0x01234567u};
    bnm_rng_philox4x32_10(ctr, key, b);
    ck_assert_mem_eq(a, b, sizeof a);
    /* Documented aliasing above 48 bits of step (the run validator rejects such runs). */
    ck_assert_double_eq(bnm_rng_normal(seed, 1, 2, step + BNM_RNG_STEP_LIMIT, 3),
                        bnm_rng_normal(seed, 1, 2, step, 3));
}
END_TEST

START_TEST(unit_values_are_open_and_exact)
{
    ck_assert_double_eq(bnm_rng_unit(0, 0), ldexp(1.0, -53));
    ck_assert_double_eq(bnm_rng_unit(0xffffffffu, 0xffffffffu), 1.0 - ldexp(1.0, -53));
    ck_assert_double_eq(bnm_rng_unit(0x80000000u, 0), 0.5 + ldexp(1.0, -53));
    /* The low 12 bits of the second word are not used. */
    ck_assert_double_eq(bnm_rng_unit(0x12345678u, 0x9abcdfffu),
                        bnm_rng_unit(0x12345678u, 0x9abcd000u));
    ck_assert_double_ne(bnm_rng_unit(0x12345678u, 0x9abcd000u),
                        bnm_rng_unit(0x12345678u, 0x9abce000u));
}
END_TEST

/* Independent reference: the Box-Muller formula in long double straight from the block,
 * without the log1p / reduced-cos evaluation tricks. Both are accurate to a few double
 * ulp relative to max(1, |z|) (the radius is at most 8.57), so 1e-14 is a 20x margin. */
START_TEST(normal_matches_formula)
{
    const long double two_pi = 6.283185307179586476925286766559L;
    double worst = 0;
    for (uint32_t i = 0; i < 200000; i++) {
        uint32_t r[4];
        uint64_t seed = 12345u + (i % 3);
        uint32_t node = i % 101, stream = (i / 101) % 5;
        uint64_t step = i / 505 + (UINT64_C(1) << 33);
        bnm_rng_block(seed, 4u, node, step, stream, r);
        long double u1 = bnm_rng_unit(r[0], r[1]), u2 = bnm_rng_unit(r[2], r[3]);
        long double ref = sqrtl(-2.0L * logl(u1)) * cosl(two_pi * u2);
        double z = bnm_rng_normal(seed, 4u, node, step, stream);
        double err = fabs(z - (double)ref) / fmax(1.0, fabs((double)ref));
        if (err > worst)
            worst = err;
        ck_assert_msg(err <= 1e-14, "draw %u: %.17g vs %.17Lg", i, z, ref);
        ck_assert_double_eq(bnm_rng_uniform(seed, 4u, node, step, stream), (double)u1);
    }
    printf("normal vs long-double formula: worst scaled error %.3g\n", worst);
}
END_TEST

/* 10^6 increments, one per (node, step) of one stream: sample moments against N(0,1)
 * with 5 standard errors. SE(mean) = 1/sqrt(n); SE(var) ~ sqrt(2/n) (Var(z^2) = 2);
 * SE of the mean of z^4 is sqrt((105 - 9)/n) (E z^8 = 105); lag-1 correlation in
 * step and across streams has SE 1/sqrt(n); P(|z| > 2) = 0.0455003 with binomial SE. */
START_TEST(normal_moments)
{
    const int nodes = 1000, steps = 1000;
    const double n = (double)nodes * steps;
    double s1 = 0, s2 = 0, s4 = 0, lag = 0, cross = 0, tail = 0, zmax = 0;
    for (int node = 0; node < nodes; node++) {
        double prev = bnm_rng_normal(42, 0, (uint32_t)node, 0, bnm_rng_stream_noise(0));
        for (int step = 1; step <= steps; step++) {
            double z = bnm_rng_normal(42, 0, (uint32_t)node, (uint64_t)step,
                                      bnm_rng_stream_noise(0));
            double y = bnm_rng_normal(42, 0, (uint32_t)node, (uint64_t)step,
                                      bnm_rng_stream_noise(1));
            s1 += z;
            s2 += z * z;
            s4 += z * z * z * z;
            lag += z * prev;
            cross += z * y;
            tail += fabs(z) > 2.0;
            zmax = fmax(zmax, fabs(z));
            prev = z;
        }
    }
    double mean = s1 / n, var = s2 / n - mean * mean, m4 = s4 / n;
    double p2 = 0.04550026389635842, se_tail = sqrt(p2 * (1 - p2) / n);
    printf("n=%.0f mean=%.5f var=%.5f m4=%.4f lag1=%.5f cross=%.5f P(|z|>2)=%.5f max=%.3f\n",
           n, mean, var, m4, lag / n, cross / n, tail / n, zmax);
    ck_assert_msg(fabs(mean) < 5 / sqrt(n), "mean %g", mean);
    ck_assert_msg(fabs(var - 1) < 5 * sqrt(2 / n), "variance %g", var);
    ck_assert_msg(fabs(m4 - 3) < 5 * sqrt(96 / n), "fourth moment %g", m4);
    ck_assert_msg(fabs(lag / n) < 5 / sqrt(n), "lag-1 correlation %g", lag / n);
    ck_assert_msg(fabs(cross / n) < 5 / sqrt(n), "cross-stream correlation %g", cross / n);
    ck_assert_msg(fabs(tail / n - p2) < 5 * se_tail, "P(|z|>2) = %g", tail / n);
    ck_assert(zmax <= 8.58);
}
END_TEST

/* Uniforms: mean 1/2 (SE sqrt(1/12/n)), variance 1/12 (SE sqrt(Var((u-1/2)^2)/n) with
 * Var((u-1/2)^2) = 1/80 - 1/144), and 10 equal bins, each count within 5 binomial SEs. */
START_TEST(uniform_moments)
{
    const int n = 1000000;
    double s1 = 0, s2 = 0;
    long bins[10] = {0};
    for (int i = 0; i < n; i++) {
        double u = bnm_rng_uniform(7, 3, (uint32_t)(i % 500), (uint64_t)(i / 500),
                                   bnm_rng_stream_init(2));
        ck_assert(u > 0 && u < 1);
        s1 += u;
        s2 += (u - 0.5) * (u - 0.5);
        bins[(int)(u * 10)]++;
    }
    double mean = s1 / n, var = s2 / n;
    ck_assert_msg(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / n), "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0 / 12) < 5 * sqrt((1.0 / 80 - 1.0 / 144) / n), "var %g", var);
    double se_bin = sqrt(n * 0.1 * 0.9);
    for (int b = 0; b < 10; b++)
        ck_assert_msg(fabs((double)bins[b] - n * 0.1) < 5 * se_bin, "bin %d: %ld", b, bins[b]);
}
END_TEST

START_TEST(same_address_same_value)
{
    double a = bnm_rng_normal(99, 1, 2, 3, 4);
    for (int i = 0; i < 1000; i++)
        (void)bnm_rng_normal(99, 1, 2, (uint64_t)i, 4); /* no hidden state */
    ck_assert_double_eq(bnm_rng_normal(99, 1, 2, 3, 4), a);
    ck_assert_double_eq(bnm_rng_uniform(99, 1, 2, 3, 4), bnm_rng_uniform(99, 1, 2, 3, 4));
}
END_TEST

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

START_TEST(every_input_changes_the_value)
{
    const uint64_t seed = 2024, step = 100;
    const uint32_t id = 3, node = 17, stream = 2;
    double base = bnm_rng_normal(seed, id, node, step, stream);
    double other[] = {
        bnm_rng_normal(seed + 1, id, node, step, stream),
        bnm_rng_normal(seed ^ (UINT64_C(1) << 63), id, node, step, stream),
        bnm_rng_normal(seed, id + 1, node, step, stream),
        bnm_rng_normal(seed, id, node + 1, step, stream),
        bnm_rng_normal(seed, id, node, step + 1, stream),
        bnm_rng_normal(seed, id, node, step + (UINT64_C(1) << 32), stream),
        bnm_rng_normal(seed, id, node, step + (UINT64_C(1) << 47), stream),
        bnm_rng_normal(seed, id, node, step, stream + 1),
        bnm_rng_normal(seed, id, node, step, stream + (1u << 15)),
        /* noise_id and node must not be interchangeable */
        bnm_rng_normal(seed, node, id, step, stream),
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        ck_assert_msg(other[i] != base, "variation %zu gave the same value", i);
    /* Over many neighbouring addresses no two values coincide (52-bit units: a repeat
     * among 10^5 draws has probability ~1e-6 for an honest mapping). */
    enum { N = 100000 };
    double *v = malloc(N * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int i = 0; i < N; i++)
        v[i] = bnm_rng_uniform(seed, (uint32_t)(i & 1), (uint32_t)(i >> 1) % 50,
                               (uint64_t)(i / 100), (uint32_t)((i >> 1) % 50 == 0));
    qsort(v, N, sizeof *v, cmp_double);
    for (int i = 1; i < N; i++)
        ck_assert_msg(v[i] != v[i - 1], "repeated value %.17g", v[i]);
    free(v);
}
END_TEST

START_TEST(streams_are_distinct)
{
    for (int k = 0; k < 64; k++)
        for (int s = 0; s < 64; s++)
            ck_assert_uint_ne(bnm_rng_stream_noise(k), bnm_rng_stream_init(s));
    ck_assert_uint_ne(bnm_rng_stream_noise(0), bnm_rng_stream_noise(1));
    ck_assert_uint_ne(bnm_rng_stream_init(0), bnm_rng_stream_init(1));
    ck_assert_uint_lt(bnm_rng_stream_init(BNM_RNG_SLOT_LIMIT - 1), BNM_RNG_STREAM_LIMIT);
    ck_assert_uint_lt(bnm_rng_stream_noise(BNM_RNG_SLOT_LIMIT - 1), BNM_RNG_STREAM_LIMIT);
}
END_TEST

/* ---- Device ------------------------------------------------------------------------ */

static const char kernels_cl[] =
    "__kernel void fill(__global nmm_real *out, __global nmm_real *uni, ulong seed,\n"
    "                   uint noise_id, uint n_node, uint n_step, uint n_stream, ulong step0,\n"
    "                   uint reverse)\n"
    "{\n"
    "    uint total = n_node * n_step * n_stream;\n"
    "    for (uint i = get_global_id(0); i < total; i += get_global_size(0)) {\n"
    "        uint j = reverse ? total - 1u - i : i;\n"
    "        uint node = j % n_node, rest = j / n_node;\n"
    "        uint step = rest % n_step, stream = rest / n_step;\n"
    "        out[j] = nmm_rng_normal(seed, noise_id, node, step0 + step, stream);\n"
    "        uni[j] = nmm_rng_uniform(seed, noise_id, node, step0 + step, stream);\n"
    "    }\n"
    "}\n"
    "__kernel void raw(__global const uint *ctr, __global const uint *key, __global uint *out)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    vstore4(nmm_rng_philox4x32_10(vload4(i, ctr), vload2(i, key)), i, out);\n"
    "}\n"
    "__kernel void streams(__global uint *out)\n"
    "{\n"
    "    uint i = (uint)get_global_id(0);\n"
    "    out[2 * i] = NMM_RNG_STREAM_NOISE(i);\n"
    "    out[2 * i + 1] = NMM_RNG_STREAM_INIT(i);\n"
    "}\n";

enum { N_NODE = 37, N_STEP = 50, N_STREAM = 6, N_DRAW = N_NODE * N_STEP * N_STREAM };
static const uint64_t DEV_SEED = UINT64_C(0xfedcba9876543210);
static const uint32_t DEV_ID = 11;
/* Crosses the 32-bit boundary of the step counter. */
static const uint64_t DEV_STEP0 = (UINT64_C(1) << 32) - 20;

typedef struct dev_run {
    bnm_context *ctx;
    bnm_cl *cl;
    cl_program prog;
    cl_kernel fill, raw, streams;
    cl_mem out, uni;
} dev_run;

static void dev_close(dev_run *d)
{
    if (d->out)
        clReleaseMemObject(d->out);
    if (d->uni)
        clReleaseMemObject(d->uni);
    if (d->fill)
        clReleaseKernel(d->fill);
    if (d->raw)
        clReleaseKernel(d->raw);
    if (d->streams)
        clReleaseKernel(d->streams);
    if (d->prog)
        clReleaseProgram(d->prog);
    bnm_cl_destroy(d->cl);
    bnm_context_destroy(d->ctx);
}

/* Returns false (test skipped) when the device lacks fp64 and double was asked. */
static bool dev_open(dev_run *d, bool dbl)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(bnm_context_create(&d->ctx), BNM_OK);
    bnm_status st = bnm_cl_create_selected(d->ctx, NULL, &d->cl);
    ck_assert_msg(st == BNM_OK, "%s", bnm_context_message(d->ctx));
    if (dbl && !bnm_cl_device(d->cl)->fp64) {
        printf("device has no fp64: double check skipped\n");
        return false;
    }
    const char *head = dbl ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
                             "typedef double nmm_real;\n"
                           : "typedef float nmm_real;\n";
    size_t len = strlen(head) + strlen(bnm_rng_cl_source) + strlen(kernels_cl) + 1;
    char *src = malloc(len);
    ck_assert_ptr_nonnull(src);
    snprintf(src, len, "%s%s%s", head, bnm_rng_cl_source, kernels_cl);
    char *log = NULL;
    st = bnm_program_build(d->ctx, d->cl, NULL, src, NULL, &d->prog, &log);
    free(src);
    ck_assert_msg(st == BNM_OK, "%s\n%s", bnm_context_message(d->ctx), log ? log : "");
    free(log);
    cl_int err;
    d->fill = clCreateKernel(d->prog, "fill", &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    d->raw = clCreateKernel(d->prog, "raw", &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    d->streams = clCreateKernel(d->prog, "streams", &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    size_t real = dbl ? sizeof(double) : sizeof(float);
    d->out = clCreateBuffer(bnm_cl_context(d->cl), CL_MEM_READ_WRITE, N_DRAW * real, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    d->uni = clCreateBuffer(bnm_cl_context(d->cl), CL_MEM_READ_WRITE, N_DRAW * real, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    return true;
}

/* Runs `fill` with the given global size and order; returns the draws as doubles. */
static void dev_fill(dev_run *d, bool dbl, size_t global, cl_uint reverse, double *z,
                     double *u)
{
    cl_uint n_node = N_NODE, n_step = N_STEP, n_stream = N_STREAM;
    cl_ulong seed = DEV_SEED, step0 = DEV_STEP0;
    cl_uint id = DEV_ID;
    cl_int err = 0;
    err |= clSetKernelArg(d->fill, 0, sizeof(cl_mem), &d->out);
    err |= clSetKernelArg(d->fill, 1, sizeof(cl_mem), &d->uni);
    err |= clSetKernelArg(d->fill, 2, sizeof seed, &seed);
    err |= clSetKernelArg(d->fill, 3, sizeof id, &id);
    err |= clSetKernelArg(d->fill, 4, sizeof n_node, &n_node);
    err |= clSetKernelArg(d->fill, 5, sizeof n_step, &n_step);
    err |= clSetKernelArg(d->fill, 6, sizeof n_stream, &n_stream);
    err |= clSetKernelArg(d->fill, 7, sizeof step0, &step0);
    err |= clSetKernelArg(d->fill, 8, sizeof reverse, &reverse);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue q = bnm_cl_queue(d->cl);
    ck_assert_int_eq(clEnqueueNDRangeKernel(q, d->fill, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    size_t real = dbl ? sizeof(double) : sizeof(float);
    void *buf = malloc(2 * N_DRAW * real);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(clEnqueueReadBuffer(q, d->out, CL_TRUE, 0, N_DRAW * real, buf, 0, NULL,
                                         NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(q, d->uni, CL_TRUE, 0, N_DRAW * real,
                                         (char *)buf + N_DRAW * real, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < N_DRAW; i++) {
        z[i] = dbl ? ((double *)buf)[i] : ((float *)buf)[i];
        u[i] = dbl ? ((double *)buf)[N_DRAW + i] : ((float *)buf)[N_DRAW + i];
    }
    free(buf);
}

static void dev_check_raw(dev_run *d)
{
    /* The three published vectors plus 61 counters of the layout: device Philox written
     * from the paper must equal Random123 word for word. */
    enum { N = 64 };
    cl_uint ctr[4 * N], key[2 * N], out[4 * N];
    for (int i = 0; i < N; i++) {
        for (int w = 0; w < 4; w++)
            ctr[4 * i + w] = i < 3 ? kat[i][w] : (cl_uint)(i * 0x9E3779B1u + w * 0x85EBCA77u);
        for (int w = 0; w < 2; w++)
            key[2 * i + w] = i < 3 ? kat[i][4 + w] : (cl_uint)(i * 0xC2B2AE3Du ^ (w + 1u));
    }
    cl_int err;
    cl_context c = bnm_cl_context(d->cl);
    cl_mem bc = clCreateBuffer(c, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof ctr, ctr, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_mem bk = clCreateBuffer(c, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof key, key, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_mem bo = clCreateBuffer(c, CL_MEM_WRITE_ONLY, sizeof out, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    err = clSetKernelArg(d->raw, 0, sizeof bc, &bc);
    err |= clSetKernelArg(d->raw, 1, sizeof bk, &bk);
    err |= clSetKernelArg(d->raw, 2, sizeof bo, &bo);
    ck_assert_int_eq(err, CL_SUCCESS);
    size_t global = N;
    cl_command_queue q = bnm_cl_queue(d->cl);
    ck_assert_int_eq(clEnqueueNDRangeKernel(q, d->raw, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(q, bo, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    clReleaseMemObject(bc);
    clReleaseMemObject(bk);
    clReleaseMemObject(bo);
    for (int i = 0; i < N; i++) {
        uint32_t ref[4];
        bnm_rng_philox4x32_10(&ctr[4 * i], &key[2 * i], ref);
        for (int w = 0; w < 4; w++) {
            ck_assert_msg(out[4 * i + w] == ref[w], "block %d word %d: device %08x host %08x", i,
                          w, out[4 * i + w], ref[w]);
            if (i < 3)
                ck_assert_uint_eq(out[4 * i + w], kat[i][6 + w]);
        }
    }

    cl_uint sv[2 * 8];
    bo = clCreateBuffer(c, CL_MEM_WRITE_ONLY, sizeof sv, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(d->streams, 0, sizeof bo, &bo), CL_SUCCESS);
    global = 8;
    ck_assert_int_eq(clEnqueueNDRangeKernel(q, d->streams, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(q, bo, CL_TRUE, 0, sizeof sv, sv, 0, NULL, NULL),
                     CL_SUCCESS);
    clReleaseMemObject(bo);
    for (int i = 0; i < 8; i++) {
        ck_assert_uint_eq(sv[2 * i], bnm_rng_stream_noise(i));
        ck_assert_uint_eq(sv[2 * i + 1], bnm_rng_stream_init(i));
    }
}

/* Device draws against host draws for every address, then the same draws again under
 * other global sizes and the reversed order, which must be bitwise identical: a draw
 * depends on its address only. tol(z) = abs_tol + rel_tol |z| (RNG.md 6). */
static void dev_compare(bool dbl, double abs_tol, double rel_tol)
{
    dev_run d;
    if (!dev_open(&d, dbl)) {
        dev_close(&d);
        return;
    }
    dev_check_raw(&d);
    double *z = malloc(N_DRAW * sizeof *z), *u = malloc(N_DRAW * sizeof *u);
    double *z2 = malloc(N_DRAW * sizeof *z2), *u2 = malloc(N_DRAW * sizeof *u2);
    ck_assert(z && u && z2 && u2);
    dev_fill(&d, dbl, N_DRAW, 0, z, u);
    double worst = 0, worst_u = 0;
    int on_log1p = 0;
    for (int j = 0; j < N_DRAW; j++) {
        uint32_t node = (uint32_t)(j % N_NODE), rest = (uint32_t)(j / N_NODE);
        uint64_t step = DEV_STEP0 + rest % N_STEP;
        uint32_t stream = rest / N_STEP;
        double h = bnm_rng_normal(DEV_SEED, DEV_ID, node, step, stream);
        double hu = bnm_rng_uniform(DEV_SEED, DEV_ID, node, step, stream);
        double tol = abs_tol + rel_tol * fabs(h);
        double e = fabs(z[j] - h);
        ck_assert_msg(e <= tol, "draw %d (node %u step %llu stream %u): device %.17g host %.17g",
                      j, node, (unsigned long long)step, stream, z[j], h);
        worst = fmax(worst, e / tol);
        /* Uniform: exact in double; float is the double rounded once or twice (sum of
         * rounded halves): 2^-23 relative covers it. */
        double eu = fabs(u[j] - hu);
        ck_assert_msg(dbl ? eu == 0 : eu <= ldexp(hu, -23), "uniform %d: %.17g vs %.17g", j,
                      u[j], hu);
        worst_u = fmax(worst_u, eu);
        on_log1p += hu >= 0.5;
    }
    printf("%s: %d draws, worst error / tolerance %.3g, worst uniform error %.3g, "
           "%d on the log1p branch\n",
           dbl ? "double" : "float", N_DRAW, worst, worst_u, on_log1p);
    ck_assert(on_log1p > N_DRAW / 4 && on_log1p < 3 * N_DRAW / 4);

    const size_t sizes[] = {1, 7, 256, N_DRAW + 13};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (cl_uint rev = 0; rev < 2; rev++) {
            dev_fill(&d, dbl, sizes[s], rev, z2, u2);
            ck_assert_msg(memcmp(z, z2, N_DRAW * sizeof *z) == 0 &&
                              memcmp(u, u2, N_DRAW * sizeof *u) == 0,
                          "draws changed with global size %zu, reverse %u", sizes[s], rev);
        }
    }
    free(z);
    free(u);
    free(z2);
    free(u2);
    dev_close(&d);
}

START_TEST(device_double_matches_host)
{
    /* RNG.md 6: exact units, few-ulp functions: ~1e-15 scaled; 1e-12 allows for any
     * conforming OpenCL libm while a wrong bit anywhere in the mapping gives O(1). */
    dev_compare(true, 1e-12, 1e-12);
}
END_TEST

START_TEST(device_float_matches_host)
{
    /* RNG.md 6: bound 2.1e-6 + 5e-7 |z| from float rounding of the units and the
     * 4-ulp float functions; allow 4e-6 + 2e-6 |z|. */
    dev_compare(false, 4e-6, 2e-6);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *host = tcase_create("host");
    tcase_set_timeout(host, 300);
    tcase_add_test(host, philox_known_answers);
    tcase_add_test(host, block_uses_documented_counter_and_key);
    tcase_add_test(host, unit_values_are_open_and_exact);
    tcase_add_test(host, normal_matches_formula);
    tcase_add_test(host, normal_moments);
    tcase_add_test(host, uniform_moments);
    tcase_add_test(host, same_address_same_value);
    tcase_add_test(host, every_input_changes_the_value);
    tcase_add_test(host, streams_are_distinct);
    suite_add_tcase(s, host);
    TCase *dev = tcase_create("device");
    tcase_set_timeout(dev, 600);
    tcase_add_test(dev, device_double_matches_host);
    tcase_add_test(dev, device_float_matches_host);
    suite_add_tcase(s, dev);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rng_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
