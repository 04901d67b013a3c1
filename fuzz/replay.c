/* replay.c — main() for the fuzz targets when they are not built with libFuzzer: runs
 * LLVMFuzzerTestOneInput over every file named on the command line or found in a named
 * directory (not recursive, in name order). With no arguments it replays the target's seed
 * corpus and saved reproducers: FUZZ_DIR/corpus/FUZZ_NAME and FUZZ_DIR/crashes/FUZZ_NAME,
 * and, when FUZZ_EXTRA_DIR is defined, FUZZ_EXTRA_DIR/valid and FUZZ_EXTRA_DIR/invalid (the
 * conformance vectors) if they exist.
 * `make check` runs it that way; a crash or a failed oracle aborts the test. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif
#ifndef FUZZ_DIR
#define FUZZ_DIR "fuzz"
#endif

static int run_file(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            uint8_t *nb;
            cap = cap ? 2 * cap : 65536;
            nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); fprintf(stderr, "replay: out of memory\n"); return 1; }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    /* An exact-size copy, so that ASan catches a read one past the input. */
    {
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact) { free(buf); return 1; }
        memcpy(exact, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    (*count)++;
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* missing_ok: a default directory that does not exist counts as empty. */
static int run_path(const char *path, int missing_ok, size_t *count) {
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (stat(path, &st) != 0) {
        if (missing_ok) return 0;
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) return run_file(path, count);
    d = opendir(path);
    if (!d) { fprintf(stderr, "replay: cannot read %s\n", path); return 1; }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ., .., .gitkeep */
        if (n == cap) {
            char **nn;
            cap = cap ? 2 * cap : 64;
            nn = realloc(names, cap * sizeof *names);
            if (!nn) { rc = 1; break; }
            names = nn;
        }
        names[n] = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!names[n]) { rc = 1; break; }
        sprintf(names[n], "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (!rc && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) rc = run_file(names[i], count);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    size_t count = 0;
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc && !rc; i++) {
            if (argv[i][0] == '-') continue; /* libFuzzer-style flags are ignored */
            rc = run_path(argv[i], 0, &count);
        }
    } else {
        const char *dir = getenv("FUZZ_DIR_OVERRIDE");
        char path[4096];
        if (!dir) dir = FUZZ_DIR;
        snprintf(path, sizeof path, "%s/corpus/%s", dir, FUZZ_NAME);
        rc = run_path(path, 0, &count);
        snprintf(path, sizeof path, "%s/crashes/%s", dir, FUZZ_NAME);
        if (!rc) rc = run_path(path, 1, &count);
#ifdef FUZZ_EXTRA_DIR
        /* the conformance vectors, for the targets that read whole files (when present) */
        snprintf(path, sizeof path, "%s/valid", FUZZ_EXTRA_DIR);
        if (!rc) rc = run_path(path, 1, &count);
        snprintf(path, sizeof path, "%s/invalid", FUZZ_EXTRA_DIR);
        if (!rc) rc = run_path(path, 1, &count);
#endif
    }
    printf("%s: replayed %zu inputs%s\n", FUZZ_NAME, count, rc ? " (error)" : "");
    return rc;
}
