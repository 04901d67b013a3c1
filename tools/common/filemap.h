/* filemap.h — read-only mapping of an input file, shared by the tools' readers (safetensors,
 * GGUF). Each reader turns the outcome into its own error code and message. */
#ifndef ECQF_TOOLS_FILEMAP_H
#define ECQF_TOOLS_FILEMAP_H

#include <stddef.h>
#include <stdint.h>

typedef enum filemap_status {
    FILEMAP_OK = 0,
    FILEMAP_NOT_FOUND,   /* open failed with ENOENT */
    FILEMAP_IO,          /* open, stat or mmap failed: see what and err_no */
    FILEMAP_NOT_REGULAR, /* a directory, device, FIFO ... */
    FILEMAP_TOO_SHORT,   /* fewer than min_size bytes: see file_size */
    FILEMAP_TOO_LARGE    /* does not fit size_t */
} filemap_status;

typedef struct filemap_failure {
    const char *what;    /* "open", "stat" or "map" (NOT_FOUND, IO) */
    int err_no;          /* errno of that call (NOT_FOUND, IO) */
    uint64_t file_size;  /* TOO_SHORT */
} filemap_failure;

/* Maps path read-only (MAP_PRIVATE) when it is a regular file of at least min_size bytes
 * (min_size >= 1, so a mapping is never empty). Unmap with filemap_close. */
filemap_status filemap_open(const char *path, uint64_t min_size, const void **map, size_t *size,
                            filemap_failure *why);
void filemap_close(const void *map, size_t size);

#endif
