/* Writers for synthetic data sets: clBNM text, TVB connectivity folders and .npy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "synth_internal.h"

static bnm_status ensure_dir(bnm_context *ctx, const char *dir)
{
    if (mkdir(dir, 0777) == 0)
        return BNM_OK;
    int err = errno;
    struct stat sb;
    if (err == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        return BNM_OK;
    return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot create the folder: %s", dir,
                    err == EEXIST ? "a file of that name exists" : strerror(err));
}

static FILE *open_out(bnm_context *ctx, const char *path, bnm_status *st)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        *st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    return f;
}

/* Closes f and reports any write error that happened on it (a full disk shows up only
 * here, through ferror or fclose). */
static bnm_status close_out(bnm_context *ctx, const char *path, FILE *f)
{
    bool bad = ferror(f) != 0;
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        err = errno;
    }
    if (bad)
        return bnm_fail(ctx, BNM_ERR_IO, "%s: write failed: %s", path, strerror(err));
    return BNM_OK;
}

static bnm_status check_matrix(bnm_context *ctx, const char *path, const bnm_matrix *m)
{
    if (!m || m->rows == 0 || m->cols == 0 || !m->data)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: nothing to write (empty matrix)", path);
    return BNM_OK;
}

static void print_matrix(FILE *f, const bnm_matrix *m)
{
    for (size_t r = 0; r < m->rows; r++)
        for (size_t c = 0; c < m->cols; c++)
            fprintf(f, "%.17g%c", m->data[r * m->cols + c], c + 1 == m->cols ? '\n' : ' ');
}

bnm_status bnm_synth_write_matrix_text(bnm_context *ctx, const char *path, const bnm_matrix *m)
{
    bnm_status st = check_matrix(ctx, path, m);
    if (st != BNM_OK)
        return st;
    FILE *f = open_out(ctx, path, &st);
    if (!f)
        return st;
    print_matrix(f, m);
    return close_out(ctx, path, f);
}

bnm_status bnm_synth_write_npy(bnm_context *ctx, const char *path, const bnm_matrix *m)
{
    bnm_status st = check_matrix(ctx, path, m);
    if (st != BNM_OK)
        return st;
    /* Format 1.0: magic, version, 2-byte header length, then the dictionary padded
     * with spaces and ended by '\n' so that the data start on a 64-byte boundary. */
    char dict[160];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }",
                       m->rows, m->cols);
    size_t hlen = (size_t)len + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                              (unsigned char)(hlen >> 8)};
    FILE *f = open_out(ctx, path, &st);
    if (!f)
        return st;
    fwrite(head, 1, sizeof head, f);
    fputs(dict, f);
    for (size_t k = (size_t)len + 1; k < hlen; k++)
        fputc(' ', f);
    fputc('\n', f);
    /* Bytes spelled out little-endian, so the file is the same on any host. */
    for (size_t k = 0; k < m->rows * m->cols; k++) {
        uint64_t bits;
        unsigned char le[8];
        memcpy(&bits, &m->data[k], sizeof bits);
        for (int b = 0; b < 8; b++)
            le[b] = (unsigned char)(bits >> (8 * b));
        fwrite(le, 1, sizeof le, f);
    }
    return close_out(ctx, path, f);
}

static bnm_status check_pair(bnm_context *ctx, const char *dir, const bnm_synth_layout *layout,
                             const bnm_synth_subject *s)
{
    if (!layout || !s || layout->n == 0 || layout->n != s->n || !layout->labels ||
        !layout->centres.data || !s->sc.data || !s->lengths.data)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: the layout and subject are empty or of different sizes", dir);
    return BNM_OK;
}

static void join(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

bnm_status bnm_synth_write_text(bnm_context *ctx, const char *dir,
                                const bnm_synth_layout *layout, const bnm_synth_subject *s)
{
    bnm_status st = check_pair(ctx, dir, layout, s);
    if (st == BNM_OK)
        st = ensure_dir(ctx, dir);
    if (st != BNM_OK)
        return st;
    char path[4200];
    join(path, sizeof path, dir, "sc.txt");
    if ((st = bnm_synth_write_matrix_text(ctx, path, &s->sc)))
        return st;
    join(path, sizeof path, dir, "lengths.txt");
    if ((st = bnm_synth_write_matrix_text(ctx, path, &s->lengths)))
        return st;

    join(path, sizeof path, dir, "centres.txt");
    FILE *f = open_out(ctx, path, &st);
    if (!f)
        return st;
    fputs("# x y z (mm), one row per region in the order of labels.txt\n", f);
    print_matrix(f, &layout->centres);
    if ((st = close_out(ctx, path, f)))
        return st;

    join(path, sizeof path, dir, "labels.txt");
    if (!(f = open_out(ctx, path, &st)))
        return st;
    for (size_t i = 0; i < layout->n; i++)
        fprintf(f, "%s\n", layout->labels[i]);
    return close_out(ctx, path, f);
}

bnm_status bnm_synth_write_tvb(bnm_context *ctx, const char *dir, const bnm_synth_layout *layout,
                               const bnm_synth_subject *s)
{
    bnm_status st = check_pair(ctx, dir, layout, s);
    if (st == BNM_OK)
        st = ensure_dir(ctx, dir);
    if (st != BNM_OK)
        return st;
    char path[4200];
    join(path, sizeof path, dir, "weights.txt");
    if ((st = bnm_synth_write_matrix_text(ctx, path, &s->sc)))
        return st;
    join(path, sizeof path, dir, "tract_lengths.txt");
    if ((st = bnm_synth_write_matrix_text(ctx, path, &s->lengths)))
        return st;
    join(path, sizeof path, dir, "centres.txt");
    FILE *f = open_out(ctx, path, &st);
    if (!f)
        return st;
    for (size_t i = 0; i < layout->n; i++) {
        const double *c = &layout->centres.data[3 * i];
        fprintf(f, "%s %.17g %.17g %.17g\n", layout->labels[i], c[0], c[1], c[2]);
    }
    return close_out(ctx, path, f);
}
