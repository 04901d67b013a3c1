/*
 * cli.h — helpers shared by the ECQF command-line tools: messages (errors carry the
 * ecqf_error name and message), human-readable sizes, option parsing, a progress bar that
 * only appears on a terminal, and atomic output files (temporary file + rename).
 */
#ifndef ECQF_TOOLS_CLI_H
#define ECQF_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ecqf.h"
#include "safetensors.h"

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Exit codes shared by the tools. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* Verbosity: 0 = quiet (-q), 1 = normal, 2 = verbose (-v). */
extern int cli_verbosity;

void cli_init(const char *argv0);      /* remembers the program name (basename of argv0) */
const char *cli_progname(void);

/* "PROG: error: ...", always printed, to stderr. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "PROG: error: CONTEXT: ECQF_ERR_NAME: message (byte offset N)". */
void cli_ecqf_error(const ecqf_error *e, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "PROG: error: ST_ERR_NAME: message" (the message names file and byte offset). */
void cli_st_error(const st_error *e);
/* "PROG: warning: ...", unless quiet. */
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "PROG: ...", to stderr, only with -v. */
void cli_verbose(const char *fmt, ...) CLI_PRINTF(1, 2);

/* "PROG (ECQF) 0.1.0, format 0.1" on stdout. */
void cli_print_version(void);

/* "812 B", "1.50 KiB", "12.3 MiB", "1.07 GiB". Returns buf. */
const char *cli_human_size(uint64_t bytes, char buf[32]);
/* "1,234,567". Returns buf. */
const char *cli_group_digits(uint64_t v, char buf[32]);

/* Monotonic seconds. */
double cli_now(void);

/* Whole decimal number in [min, max]; 0 on success, -1 (with an error printed naming opt). */
int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Finite decimal number; 0 on success, -1 (error printed). */
int cli_parse_double(const char *opt, const char *s, double min, double max, double *out);

/* A progress bar on stderr, drawn only when stderr is a terminal and not quiet. */
typedef struct cli_progress {
    int enabled;
    uint64_t total, done;
    double start, last_draw;
    char label[32];
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, uint64_t total);
void cli_progress_update(cli_progress *p, uint64_t done, const char *item);
void cli_progress_end(cli_progress *p); /* erases the bar */

/* An output file written under a temporary name in the destination's directory and moved
 * into place by cli_outfile_commit, so that the final name never holds a partial file. */
typedef struct cli_outfile {
    char *path, *tmp_path;
    FILE *fp;
    int force;
} cli_outfile;
/* Fails (message printed, returns -1) if path exists and force is 0. */
int cli_outfile_open(cli_outfile *o, const char *path, int force);
int cli_outfile_write(cli_outfile *o, const void *buf, size_t n); /* 0 or -1 (printed) */
int cli_outfile_commit(cli_outfile *o);                            /* 0 or -1 (printed) */
void cli_outfile_abort(cli_outfile *o);                            /* removes the temp file */

/* 1 if path exists (any kind of file). */
int cli_path_exists(const char *path);

/* The stored value bytes of an unquantized (scheme NONE) tensor, bit for bit: the RAW data
 * part, or the ZSTD frame decompressed. *out is malloc'ed (numel * dtype size bytes). The
 * blob checksum is not checked here (ecqf_reader_verify_tensor does that). */
int cli_none_bytes(const ecqf_tensor_info *ti, uint8_t **out, size_t *size, ecqf_error *err);

/* Print a NUL-terminated help text to stdout. */
void cli_print_help(const char *text);

#endif
