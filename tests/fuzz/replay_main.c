/* Replays files through the fuzz target without libFuzzer: every regular file of each
 * directory argument (and each file argument), one buffer of exactly its size per call,
 * so a sanitizer build catches reads past the end. Missing directories are skipped. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_corpus: cannot open %s\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* malloc(0) may return NULL; keep one byte but pass size 0. */
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "fuzz_corpus: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int files = 0, errors = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            printf("fuzz_corpus: %s absent, skipped\n", argv[a]);
            continue;
        }
        if (S_ISREG(st.st_mode)) {
            errors += replay_file(argv[a]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "fuzz_corpus: cannot read directory %s\n", argv[a]);
            errors++;
            continue;
        }
        /* Sorted, so a failure is reproducible and the log order stable. */
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                char **nn = realloc(names, cap * sizeof *nn);
                if (!nn)
                    abort();
                names = nn;
            }
            size_t len = strlen(argv[a]) + strlen(de->d_name) + 2;
            names[n] = malloc(len);
            if (!names[n])
                abort();
            snprintf(names[n], len, "%s/%s", argv[a], de->d_name);
            n++;
        }
        closedir(d);
        if (n)
            qsort(names, n, sizeof *names, name_cmp);
        for (size_t i = 0; i < n; i++) {
            if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
                printf("%s\n", names[i]);
                fflush(stdout); /* the last name printed is the culprit of a crash */
                errors += replay_file(names[i]) != 0;
                files++;
            }
            free(names[i]);
        }
        free(names);
    }
    printf("fuzz_corpus: %d files replayed, %d unreadable\n", files, errors);
    return errors || files == 0 ? 1 : 0;
}
