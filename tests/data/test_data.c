/* Data readers: one test per format and per orientation rule, one per malformed case.
 * Every error test checks that the message names the file and the problem. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "clbnm/clbnm.h"

static char tmpdir[64];
static bnm_context *ctx;

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clbnm-data-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    bnm_context_destroy(ctx);
}

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* An independent .npy writer: header per the NumPy format document, padded so the data
 * starts on a 64-byte boundary. */
static const char *write_npy(const char *name, int major, const char *descr, bool fortran,
                             size_t rows, size_t cols, int ndim, const void *data,
                             size_t data_bytes)
{
    char dict[256];
    if (ndim == 1)
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (%zu,), }",
                 descr, fortran ? "True" : "False", rows);
    else
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (%zu, %zu), }",
                 descr, fortran ? "True" : "False", rows, cols);
    size_t prefix = major == 1 ? 10 : 12;
    size_t hlen = strlen(dict) + 1;
    while ((prefix + hlen) % 64)
        hlen++;
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    if (major == 1) {
        fputc((int)(hlen & 0xff), f);
        fputc((int)(hlen >> 8), f);
    } else {
        for (int b = 0; b < 4; b++)
            fputc((int)((hlen >> (8 * b)) & 0xff), f);
    }
    fputs(dict, f);
    for (size_t k = strlen(dict); k < hlen - 1; k++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, data_bytes, f);
    fclose(f);
    return p;
}

static void assert_error(bnm_status st, bnm_status expect, const char *file, const char *what)
{
    const char *msg = bnm_context_message(ctx);
    ck_assert_msg(st == expect, "status %s, expected %s (%s)", bnm_status_name(st),
                  bnm_status_name(expect), msg);
    ck_assert_msg(strstr(msg, file) != NULL, "message does not name the file: %s", msg);
    ck_assert_msg(strstr(msg, what) != NULL, "message lacks '%s': %s", what, msg);
}

static void assert_matrix(const bnm_matrix *m, size_t rows, size_t cols, const double *expect)
{
    ck_assert_uint_eq(m->rows, rows);
    ck_assert_uint_eq(m->cols, cols);
    for (size_t k = 0; k < rows * cols; k++)
        ck_assert_double_eq(m->data[k], expect[k]);
}

static const double m23[] = {1, 2, 3, 4.5, -5e-3, 6e2};

/* ---- text ---- */

START_TEST(text_whitespace_comma_tab_and_comments)
{
    const char *files[][2] = {
        {"a.txt", "1 2 3\n4.5  -5e-3   6e2\n"},
        {"b.csv", "# header comment\n1,2,3\n\n4.5,-5e-3,6e2\n"},
        {"c.tsv", "1\t2\t3\r\n4.5\t-5e-3\t6e2\r\n"},
        {"d.txt", "  1, 2 ,3\n4.5,-5e-3,6e2"},
    };
    for (size_t i = 0; i < 4; i++) {
        bnm_matrix m;
        const char *p = write_text(files[i][0], files[i][1]);
        ck_assert_msg(bnm_matrix_read(ctx, p, &m) == BNM_OK, "%s", bnm_context_message(ctx));
        assert_matrix(&m, 2, 3, m23);
        bnm_matrix_free(&m);
    }
}
END_TEST

START_TEST(text_ragged_rows)
{
    bnm_matrix m;
    const char *p = write_text("ragged.txt", "1 2 3\n4 5\n");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "ragged.txt:2", "row 2 has 2 values");
    ck_assert_ptr_null(m.data);
}
END_TEST

START_TEST(text_nan_and_words)
{
    bnm_matrix m;
    const char *p = write_text("nan.txt", "1 2\n3 nan\n");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "nan.txt:2:3", "non-finite");
    p = write_text("inf.csv", "1,inf\n3,4\n");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "inf.csv:1:3", "non-finite");
    p = write_text("word.txt", "1 2\n3 four\n");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "word.txt:2:3",
                 "'four' is not a number");
    p = write_text("empty.txt", "# only a comment\n\n");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "empty.txt", "no numbers");
}
END_TEST

START_TEST(missing_file_is_io_error)
{
    bnm_matrix m;
    assert_error(bnm_matrix_read(ctx, path_of("nope.txt"), &m), BNM_ERR_IO, "nope.txt",
                 "cannot open");
    assert_error(bnm_matrix_read(ctx, tmpdir, &m), BNM_ERR_IO, tmpdir, "directory");
}
END_TEST

/* ---- npy ---- */

START_TEST(npy_versions_types_and_orders)
{
    double c_order[6], f_order[6];
    float c32[6];
    for (int k = 0; k < 6; k++) {
        c_order[k] = m23[k];
        c32[k] = (float)m23[k];
    }
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            f_order[c * 2 + r] = m23[r * 3 + c];
    for (int major = 1; major <= 3; major++) {
        bnm_matrix m;
        char name[32];
        snprintf(name, sizeof name, "c%d.npy", major);
        const char *p = write_npy(name, major, "<f8", false, 2, 3, 2, c_order, sizeof c_order);
        ck_assert_msg(bnm_matrix_read(ctx, p, &m) == BNM_OK, "%s", bnm_context_message(ctx));
        assert_matrix(&m, 2, 3, m23);
        bnm_matrix_free(&m);

        snprintf(name, sizeof name, "f%d.npy", major);
        p = write_npy(name, major, "<f8", true, 2, 3, 2, f_order, sizeof f_order);
        ck_assert_msg(bnm_matrix_read(ctx, p, &m) == BNM_OK, "%s", bnm_context_message(ctx));
        assert_matrix(&m, 2, 3, m23);
        bnm_matrix_free(&m);
    }
    bnm_matrix m;
    const char *p = write_npy("f4.npy", 1, "<f4", false, 2, 3, 2, c32, sizeof c32);
    ck_assert_int_eq(bnm_matrix_read(ctx, p, &m), BNM_OK);
    double widened[6];
    for (int k = 0; k < 6; k++)
        widened[k] = (double)c32[k]; /* float32 values are exact in double */
    assert_matrix(&m, 2, 3, widened);
    bnm_matrix_free(&m);

    /* Big-endian float64, as numpy writes with dtype '>f8'. */
    unsigned char be[6 * 8];
    for (int k = 0; k < 6; k++) {
        uint64_t bits;
        memcpy(&bits, &m23[k], 8);
        for (int b = 0; b < 8; b++)
            be[k * 8 + b] = (unsigned char)(bits >> (56 - 8 * b));
    }
    p = write_npy("be.npy", 1, ">f8", false, 2, 3, 2, be, sizeof be);
    ck_assert_int_eq(bnm_matrix_read(ctx, p, &m), BNM_OK);
    assert_matrix(&m, 2, 3, m23);
    bnm_matrix_free(&m);

    p = write_npy("vec.npy", 1, "<f8", false, 6, 1, 1, c_order, sizeof c_order);
    ck_assert_int_eq(bnm_matrix_read(ctx, p, &m), BNM_OK);
    assert_matrix(&m, 6, 1, m23);
    bnm_matrix_free(&m);
}
END_TEST

START_TEST(npy_truncated)
{
    double d[6] = {0};
    bnm_matrix m;
    const char *p = write_npy("trunc.npy", 1, "<f8", false, 2, 3, 2, d, sizeof d - 8);
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "trunc.npy", "truncated");
    p = write_text("short.npy", "\x93NUMPY\x01");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "short.npy", "");
    p = write_text("notnpy.npy", "1 2 3\n");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "notnpy.npy", "bad magic");
}
END_TEST

START_TEST(npy_wrong_type_nan_and_shape)
{
    int64_t ints[6] = {1, 2, 3, 4, 5, 6};
    bnm_matrix m;
    const char *p = write_npy("int.npy", 1, "<i8", false, 2, 3, 2, ints, sizeof ints);
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "int.npy", "'<i8' is not supported");
    double d[6] = {1, 2, 3, NAN, 5, 6};
    p = write_npy("nan.npy", 1, "<f8", false, 2, 3, 2, d, sizeof d);
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "nan.npy", "row 2, column 1");
}
END_TEST

/* ---- HDF5 ---- */

static const char *write_h5(const char *name, const char *dset, const double *data, hsize_t rows,
                            hsize_t cols)
{
    const char *p = path_of(name);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t g = H5Gcreate2(f, "/sub", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {rows, cols};
    hid_t s = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, dset, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Gclose(g);
    H5Fclose(f);
    return p;
}

START_TEST(hdf5_dataset_path)
{
    const char *p = write_h5("data.h5", "/sub/sc", m23, 2, 3);
    char spec[300];
    snprintf(spec, sizeof spec, "%s:/sub/sc", p);
    bnm_matrix m;
    ck_assert_msg(bnm_matrix_read(ctx, spec, &m) == BNM_OK, "%s", bnm_context_message(ctx));
    assert_matrix(&m, 2, 3, m23);
    bnm_matrix_free(&m);

    snprintf(spec, sizeof spec, "%s:/sub/missing", p);
    assert_error(bnm_matrix_read(ctx, spec, &m), BNM_ERR_DATA, "data.h5", "no dataset '/sub/missing'");
    assert_error(bnm_matrix_read(ctx, p, &m), BNM_ERR_DATA, "data.h5", "needs the dataset");
    const char *fake = write_text("fake.h5", "not hdf5");
    snprintf(spec, sizeof spec, "%s:/x", fake);
    assert_error(bnm_matrix_read(ctx, spec, &m), BNM_ERR_IO, "fake.h5", "HDF5");
}
END_TEST

/* ---- TVB ---- */

static const char tvb_weights[] = "0 1 2\n1 0 3\n2 3 0\n";
static const char tvb_lengths[] = "0 10 20\n10 0 30\n20 30 0\n";
static const char tvb_centres[] = "lA 1 2 3\nlB 4 5 6\nrA -1 2 3\n";

static void check_tvb(const bnm_tvb_connectivity *c)
{
    ck_assert_uint_eq(c->n, 3);
    ck_assert_double_eq(c->weights.data[5], 3);
    ck_assert_double_eq(c->tract_lengths.data[2], 20);
    ck_assert_double_eq(c->centres.data[6], -1);
    ck_assert_str_eq(c->labels[2], "rA");
}

START_TEST(tvb_folder_and_zip)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/conn", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    write_text("conn/weights.txt", tvb_weights);
    write_text("conn/tract_lengths.txt", tvb_lengths);
    write_text("conn/centres.txt", tvb_centres);
    bnm_tvb_connectivity c;
    ck_assert_msg(bnm_tvb_read(ctx, dir, &c) == BNM_OK, "%s", bnm_context_message(ctx));
    check_tvb(&c);
    bnm_tvb_free(&c);

    /* TVB's own archives keep the files one folder down. */
    const char *zp = path_of("conn.zip");
    int err = 0;
    zip_t *z = zip_open(zp, ZIP_CREATE | ZIP_TRUNCATE, &err);
    ck_assert_ptr_nonnull(z);
    const char *names[] = {"conn76/weights.txt", "conn76/tract_lengths.txt", "conn76/centres.txt"};
    const char *texts[] = {tvb_weights, tvb_lengths, tvb_centres};
    for (int i = 0; i < 3; i++) {
        zip_source_t *src = zip_source_buffer(z, texts[i], strlen(texts[i]), 0);
        ck_assert_int_ge(zip_file_add(z, names[i], src, ZIP_FL_OVERWRITE), 0);
    }
    ck_assert_int_eq(zip_close(z), 0);
    ck_assert_msg(bnm_tvb_read(ctx, zp, &c) == BNM_OK, "%s", bnm_context_message(ctx));
    check_tvb(&c);
    bnm_tvb_free(&c);
    bnm_tvb_free(NULL);
}
END_TEST

START_TEST(tvb_missing_and_mismatched)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/partial", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    write_text("partial/weights.txt", tvb_weights);
    write_text("partial/centres.txt", tvb_centres);
    bnm_tvb_connectivity c;
    assert_error(bnm_tvb_read(ctx, dir, &c), BNM_ERR_DATA, "partial",
                 "tract_lengths.txt is missing");
    write_text("partial/tract_lengths.txt", "0 1\n1 0\n");
    assert_error(bnm_tvb_read(ctx, dir, &c), BNM_ERR_DATA, "partial", "sizes disagree");
    const char *notzip = write_text("bad.zip", "PK garbage");
    assert_error(bnm_tvb_read(ctx, notzip, &c), BNM_ERR_DATA, "bad.zip", "zip archive");
}
END_TEST

/* ---- orientation rules ---- */

START_TEST(sc_symmetric_needs_no_orientation)
{
    double d[] = {0, 1, 2, 1, 0, 3, 2, 3, 0};
    bnm_matrix m = {3, 3, malloc(sizeof d)};
    memcpy(m.data, d, sizeof d);
    ck_assert_int_eq(bnm_sc_prepare(ctx, "sym.txt", &m, BNM_SC_UNSPECIFIED), BNM_OK);
    assert_matrix(&m, 3, 3, d);
    bnm_matrix_free(&m);
}
END_TEST

START_TEST(sc_asymmetric_requires_orientation)
{
    double d[] = {0, 1, 5, 0};
    bnm_matrix m = {2, 2, malloc(sizeof d)};
    memcpy(m.data, d, sizeof d);
    assert_error(bnm_sc_prepare(ctx, "asym.txt", &m, BNM_SC_UNSPECIFIED), BNM_ERR_DATA,
                 "asym.txt", "sc_orientation: source_rows");
    ck_assert_int_eq(bnm_sc_prepare(ctx, "asym.txt", &m, BNM_SC_TARGET_ROWS), BNM_OK);
    assert_matrix(&m, 2, 2, d);
    /* source_rows: file[j][i] is j -> i, so W[i][j] = file[j][i], the transpose. */
    double t[] = {0, 5, 1, 0};
    ck_assert_int_eq(bnm_sc_prepare(ctx, "asym.txt", &m, BNM_SC_SOURCE_ROWS), BNM_OK);
    assert_matrix(&m, 2, 2, t);
    bnm_matrix_free(&m);
}
END_TEST

START_TEST(sc_rejects_bad_matrices)
{
    double neg[] = {0, -1, -1, 0};
    bnm_matrix m = {2, 2, neg};
    assert_error(bnm_sc_prepare(ctx, "neg.txt", &m, BNM_SC_UNSPECIFIED), BNM_ERR_DATA, "neg.txt",
                 "negative connectome value");
    double rect[] = {0, 1, 2, 3, 4, 5};
    bnm_matrix r = {2, 3, rect};
    assert_error(bnm_sc_prepare(ctx, "rect.txt", &r, BNM_SC_UNSPECIFIED), BNM_ERR_DATA,
                 "rect.txt", "must be square, but it is 2 x 3");
    double nan[] = {0, NAN, NAN, 0};
    bnm_matrix n = {2, 2, nan};
    assert_error(bnm_sc_prepare(ctx, "nan.txt", &n, BNM_SC_UNSPECIFIED), BNM_ERR_DATA, "nan.txt",
                 "non-finite");
    double len[] = {0, 1, 1, 0};
    bnm_matrix l = {2, 2, len};
    assert_error(bnm_lengths_prepare(ctx, "len.txt", &l, 3, BNM_SC_UNSPECIFIED), BNM_ERR_DATA,
                 "len.txt", "connectome has 3 nodes");
}
END_TEST

START_TEST(bold_layout_rules)
{
    /* 2 nodes x 3 volumes given as time x nodes: found from the node count. */
    double tn[] = {1, 4, 2, 6, 3, 5};
    bnm_matrix b = {3, 2, malloc(sizeof tn)};
    memcpy(b.data, tn, sizeof tn);
    ck_assert_int_eq(bnm_bold_prepare(ctx, "bold.npy", &b, 2, BNM_BOLD_UNSPECIFIED), BNM_OK);
    double nt[] = {1, 2, 3, 4, 6, 5};
    assert_matrix(&b, 2, 3, nt);
    /* Already nodes x time: unchanged. */
    ck_assert_int_eq(bnm_bold_prepare(ctx, "bold.npy", &b, 2, BNM_BOLD_UNSPECIFIED), BNM_OK);
    assert_matrix(&b, 2, 3, nt);
    assert_error(bnm_bold_prepare(ctx, "bold.npy", &b, 2, BNM_BOLD_TIME_BY_NODES), BNM_ERR_DATA,
                 "bold.npy", "does not fit bold_layout time_by_nodes");
    assert_error(bnm_bold_prepare(ctx, "bold.npy", &b, 5, BNM_BOLD_UNSPECIFIED), BNM_ERR_DATA,
                 "bold.npy", "one side must equal the number of nodes");
    bnm_matrix_free(&b);
}
END_TEST

START_TEST(bold_square_is_ambiguous)
{
    double sq[] = {1, 2, 3, 4};
    bnm_matrix b = {2, 2, malloc(sizeof sq)};
    memcpy(b.data, sq, sizeof sq);
    assert_error(bnm_bold_prepare(ctx, "sq.txt", &b, 2, BNM_BOLD_UNSPECIFIED), BNM_ERR_DATA,
                 "sq.txt", "bold_layout: nodes_by_time");
    ck_assert_int_eq(bnm_bold_prepare(ctx, "sq.txt", &b, 2, BNM_BOLD_TIME_BY_NODES), BNM_OK);
    double t[] = {1, 3, 2, 4};
    assert_matrix(&b, 2, 2, t);
    bnm_matrix_free(&b);
}
END_TEST

START_TEST(bold_zero_variance_node)
{
    double d[] = {1, 2, 3, 7, 7, 7};
    bnm_matrix b = {2, 3, d};
    assert_error(bnm_bold_prepare(ctx, "flat.txt", &b, 2, BNM_BOLD_NODES_BY_TIME), BNM_ERR_DATA,
                 "flat.txt", "node 2 has a constant BOLD series");
}
END_TEST

START_TEST(map_length_rules)
{
    double d[] = {1, 2, 3};
    bnm_matrix row = {1, 3, d};
    ck_assert_int_eq(bnm_map_prepare(ctx, "map.txt", &row, 3), BNM_OK);
    ck_assert_uint_eq(row.rows, 3);
    ck_assert_uint_eq(row.cols, 1);
    bnm_matrix col = {3, 1, d};
    assert_error(bnm_map_prepare(ctx, "map.txt", &col, 4), BNM_ERR_DATA, "map.txt",
                 "one value per node (4)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("readers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, text_whitespace_comma_tab_and_comments);
    tcase_add_test(tc, text_ragged_rows);
    tcase_add_test(tc, text_nan_and_words);
    tcase_add_test(tc, missing_file_is_io_error);
    tcase_add_test(tc, npy_versions_types_and_orders);
    tcase_add_test(tc, npy_truncated);
    tcase_add_test(tc, npy_wrong_type_nan_and_shape);
    tcase_add_test(tc, hdf5_dataset_path);
    tcase_add_test(tc, tvb_folder_and_zip);
    tcase_add_test(tc, tvb_missing_and_mismatched);
    suite_add_tcase(s, tc);
    TCase *or = tcase_create("orientation");
    tcase_add_checked_fixture(or, setup, teardown);
    tcase_add_test(or, sc_symmetric_needs_no_orientation);
    tcase_add_test(or, sc_asymmetric_requires_orientation);
    tcase_add_test(or, sc_rejects_bad_matrices);
    tcase_add_test(or, bold_layout_rules);
    tcase_add_test(or, bold_square_is_ambiguous);
    tcase_add_test(or, bold_zero_variance_node);
    tcase_add_test(or, map_length_rules);
    suite_add_tcase(s, or);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
