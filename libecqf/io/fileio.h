/* fileio.h — the only place that talks to the operating system: read-only mappings and
 * crash-safe output files (temporary file beside the destination, then rename). */
#ifndef ECQF_FILEIO_H
#define ECQF_FILEIO_H

#include <stdint.h>
#include <stdio.h>

#include "ecqf.h"

typedef struct ecqf_mapping {
    const uint8_t *data;
    uint64_t size;
    void *base;      /* for munmap; NULL when size is 0 */
} ecqf_mapping;

int ecqf_map_file(const char *path, ecqf_mapping *m, ecqf_error *err);
void ecqf_unmap_file(ecqf_mapping *m);

typedef struct ecqf_outfile {
    int fd;
    char *tmp_path;      /* allocated */
    char *final_path;    /* allocated */
    uint64_t pos;
    int overwrite;
} ecqf_outfile;

/* Create "<dir>/.<base>.tmp-XXXXXX". ECQF_ERR_EXISTS if the destination exists and
 * overwrite is 0. */
int ecqf_outfile_open(ecqf_outfile *f, const char *path, int overwrite, ecqf_error *err);
int ecqf_outfile_write(ecqf_outfile *f, const void *data, size_t size, ecqf_error *err);
int ecqf_outfile_write_zeros(ecqf_outfile *f, uint64_t count, ecqf_error *err);
int ecqf_outfile_pwrite(ecqf_outfile *f, const void *data, size_t size, uint64_t offset,
                        ecqf_error *err);
/* fsync, close, and move into place (no-replace unless overwrite). Frees the paths. */
int ecqf_outfile_commit(ecqf_outfile *f, ecqf_error *err);
/* Close and unlink the temporary file. Frees the paths. Safe to call twice. */
void ecqf_outfile_discard(ecqf_outfile *f);

#endif
