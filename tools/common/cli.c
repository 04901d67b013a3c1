/*
 * cli.c — shared helpers of the ECQF tools; see cli.h.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

int cli_verbosity = 1;
static char progname[64] = "ecqf";

void cli_init(const char *argv0) {
    const char *b;
    size_t n;
    if (!argv0 || !*argv0) return;
    b = strrchr(argv0, '/');
    b = b ? b + 1 : argv0;
    /* libtool wrappers run "lt-NAME" */
    if (!strncmp(b, "lt-", 3)) b += 3;
    n = strlen(b);
    if (n >= sizeof progname) n = sizeof progname - 1;
    memcpy(progname, b, n);
    progname[n] = '\0';
}

const char *cli_progname(void) { return progname; }

/* Write s to stderr with control characters escaped (names come from files: a tensor name
 * may hold a newline or an escape sequence). */
static void put_safe(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7F) fprintf(stderr, "\\x%02x", c);
        else fputc(c, stderr);
    }
}

static void vput_safe(const char *fmt, va_list ap) {
    char buf[8192];
    vsnprintf(buf, sizeof buf, fmt, ap);
    put_safe(buf);
}

static void vmsg(const char *kind, const char *fmt, va_list ap) {
    fflush(stdout);
    if (kind) fprintf(stderr, "%s: %s: ", progname, kind);
    else fprintf(stderr, "%s: ", progname);
    vput_safe(fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg("error", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...) {
    va_list ap;
    if (cli_verbosity < 1) return;
    va_start(ap, fmt);
    vmsg("warning", fmt, ap);
    va_end(ap);
}

void cli_verbose(const char *fmt, ...) {
    va_list ap;
    if (cli_verbosity < 2) return;
    va_start(ap, fmt);
    vmsg(NULL, fmt, ap);
    va_end(ap);
}

void cli_ecqf_error(const ecqf_error *e, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: error: ", progname);
    if (fmt) {
        va_start(ap, fmt);
        vput_safe(fmt, ap);
        va_end(ap);
        fputs(": ", stderr);
    }
    if (e) {
        fprintf(stderr, "%s: ", ecqf_status_name(e->code));
        put_safe(e->message[0] ? e->message : ecqf_status_description(e->code));
        if (e->offset != ECQF_NO_OFFSET) {
            char num[32];
            snprintf(num, sizeof num, "%llu", (unsigned long long)e->offset);
            if (!strstr(e->message, num)) fprintf(stderr, " (at byte %s)", num);
        }
    }
    fputc('\n', stderr);
}

void cli_st_error(const st_error *e) {
    fflush(stdout);
    fprintf(stderr, "%s: error: %s: ", progname, st_status_name(e->code));
    put_safe(e->message);
    fputc('\n', stderr);
}

void cli_print_version(void) {
    printf("%s (ECQF) %s, format %d.%d\n", progname, ecqf_version_string(),
           ECQF_FORMAT_VERSION_MAJOR, ECQF_FORMAT_VERSION_MINOR);
}

const char *cli_human_size(uint64_t bytes, char buf[32]) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    int u = 0;
    if (bytes < 1024) {
        snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    while (v >= 1024.0 && u < 6) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, 32, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

const char *cli_group_digits(uint64_t v, char buf[32]) {
    char t[32];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v), i, o = 0;
    for (i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = t[i];
    }
    buf[o] = '\0';
    return buf;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out) {
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') goto bad;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end) goto bad;
    if (v < min || v > max) {
        cli_error("%s %s: out of range (%llu to %llu)", opt, s, (unsigned long long)min,
                  (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
bad:
    cli_error("%s: '%s' is not a whole number", opt, s ? s : "");
    return -1;
}

int cli_parse_double(const char *opt, const char *s, double min, double max, double *out) {
    char *end;
    double v;
    if (!s || !*s || *s == ' ') goto bad;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) goto bad;
    if (v < min || v > max) {
        cli_error("%s %s: out of range (%g to %g)", opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
bad:
    cli_error("%s: '%s' is not a number", opt, s ? s : "");
    return -1;
}

/* ---- progress ------------------------------------------------------------------------ */

void cli_progress_start(cli_progress *p, const char *label, uint64_t total) {
    memset(p, 0, sizeof *p);
    p->enabled = cli_verbosity >= 1 && isatty(STDERR_FILENO);
    p->total = total;
    p->start = cli_now();
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
}

void cli_progress_update(cli_progress *p, uint64_t done, const char *item) {
    double now, frac, el;
    int filled, k;
    char bar[41];
    char eta[32] = "";
    if (!p->enabled) return;
    p->done = done;
    now = cli_now();
    if (done < p->total && now - p->last_draw < 0.1) return;
    p->last_draw = now;
    frac = p->total ? (double)done / (double)p->total : 1.0;
    if (frac > 1) frac = 1;
    filled = (int)(frac * 30.0 + 0.5);
    for (k = 0; k < 30; k++) bar[k] = k < filled ? '#' : '.';
    bar[30] = '\0';
    el = now - p->start;
    if (frac > 0.02 && frac < 1.0) snprintf(eta, sizeof eta, " ETA %.0fs", el / frac - el);
    fprintf(stderr, "\r%s [%s] %3.0f%%%s  %-40.40s", p->label, bar, frac * 100.0, eta,
            item ? item : "");
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (!p->enabled) return;
    fprintf(stderr, "\r%*s\r", 120, "");
    fflush(stderr);
    p->enabled = 0;
}

/* ---- atomic output --------------------------------------------------------------------- */

int cli_path_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int cli_outfile_open(cli_outfile *o, const char *path, int force) {
    const char *slash;
    size_t dlen, n;
    int fd;
    mode_t mask;
    memset(o, 0, sizeof *o);
    if (!force && cli_path_exists(path)) {
        cli_error("%s: output file exists (use --force to overwrite)", path);
        return -1;
    }
    o->path = xstrdup(path);
    slash = strrchr(path, '/');
    dlen = slash ? (size_t)(slash - path) + 1 : 0;
    n = strlen(path) + 32;
    o->tmp_path = malloc(n);
    if (!o->path || !o->tmp_path) {
        cli_error("%s: out of memory", path);
        free(o->path);
        free(o->tmp_path);
        return -1;
    }
    snprintf(o->tmp_path, n, "%.*s.%s.tmp-XXXXXX", (int)dlen, path, path + dlen);
    fd = mkstemp(o->tmp_path);
    if (fd < 0) {
        cli_error("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(o->path);
        free(o->tmp_path);
        o->path = o->tmp_path = NULL;
        return -1;
    }
    mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        cli_error("%s: %s", o->tmp_path, strerror(errno));
        close(fd);
        unlink(o->tmp_path);
        free(o->path);
        free(o->tmp_path);
        o->path = o->tmp_path = NULL;
        return -1;
    }
    setvbuf(o->fp, NULL, _IOFBF, 1 << 20);
    o->force = force;
    return 0;
}

int cli_outfile_write(cli_outfile *o, const void *buf, size_t n) {
    if (n && fwrite(buf, 1, n, o->fp) != n) {
        cli_error("%s: write failed: %s", o->tmp_path, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_outfile_commit(cli_outfile *o) {
    int fd = fileno(o->fp);
    if (fflush(o->fp) != 0 || fsync(fd) != 0) {
        cli_error("%s: write failed: %s", o->tmp_path, strerror(errno));
        cli_outfile_abort(o);
        return -1;
    }
    if (fclose(o->fp) != 0) {
        o->fp = NULL;
        cli_error("%s: write failed: %s", o->tmp_path, strerror(errno));
        cli_outfile_abort(o);
        return -1;
    }
    o->fp = NULL;
    if (!o->force) {
        /* link() refuses to replace: no window in which another file is overwritten */
        if (link(o->tmp_path, o->path) == 0) {
            unlink(o->tmp_path);
            goto done;
        }
        if (errno == EEXIST) {
            cli_error("%s: output file exists (use --force to overwrite)", o->path);
            cli_outfile_abort(o);
            return -1;
        }
        /* file systems without hard links: check, then rename */
        if (cli_path_exists(o->path)) {
            cli_error("%s: output file exists (use --force to overwrite)", o->path);
            cli_outfile_abort(o);
            return -1;
        }
    }
    if (rename(o->tmp_path, o->path) != 0) {
        cli_error("%s: cannot move %s into place: %s", o->path, o->tmp_path, strerror(errno));
        cli_outfile_abort(o);
        return -1;
    }
done:
    free(o->path);
    free(o->tmp_path);
    o->path = o->tmp_path = NULL;
    return 0;
}

void cli_outfile_abort(cli_outfile *o) {
    if (o->fp) fclose(o->fp);
    o->fp = NULL;
    if (o->tmp_path) unlink(o->tmp_path);
    free(o->path);
    free(o->tmp_path);
    o->path = o->tmp_path = NULL;
}

void cli_print_help(const char *text) { fputs(text, stdout); }

static int set_err(ecqf_error *err, int code, uint64_t offset, const char *msg) {
    if (err) {
        err->code = code;
        err->offset = offset;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

int cli_none_bytes(const ecqf_tensor_info *ti, uint8_t **out, size_t *size, ecqf_error *err) {
    uint64_t n;
    uint8_t *b;
    *out = NULL;
    *size = 0;
    if (ti->scheme != ECQF_SCHEME_NONE)
        return set_err(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tensor is quantized");
    if (__builtin_mul_overflow(ti->numel, (uint64_t)ecqf_dtype_size(ti->dtype), &n) || n > SIZE_MAX)
        return set_err(err, ECQF_ERR_LIMIT, ECQF_NO_OFFSET, "tensor too large for this host");
    b = malloc(n ? (size_t)n : 1);
    if (!b) return set_err(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
    if (n == 0) {
        /* nothing stored */
    } else if (ti->coding == ECQF_CODING_RAW) {
        if (!ti->part[ECQF_PART_DATA] || ti->part_size[ECQF_PART_DATA] != n) goto corrupt;
        memcpy(b, ti->part[ECQF_PART_DATA], (size_t)n);
    } else if (ti->coding == ECQF_CODING_ZSTD) {
        size_t got;
        if (!ti->part[ECQF_PART_DATA]) goto corrupt;
        got = ZSTD_decompress(b, (size_t)n, ti->part[ECQF_PART_DATA],
                              (size_t)ti->part_size[ECQF_PART_DATA]);
        if (ZSTD_isError(got) || got != n) goto corrupt;
    } else {
        goto corrupt;
    }
    *out = b;
    *size = (size_t)n;
    return ECQF_OK;
corrupt:
    free(b);
    return set_err(err, ECQF_ERR_CORRUPT_STREAM, ti->part_offset[ECQF_PART_DATA],
                   "the stored values of an unquantized tensor do not decode");
}
