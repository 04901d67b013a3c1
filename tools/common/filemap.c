/* filemap.c — see filemap.h. */
#include "filemap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static filemap_status io_failure(filemap_failure *why, const char *what, int err_no) {
    why->what = what;
    why->err_no = err_no;
    return FILEMAP_IO;
}

filemap_status filemap_open(const char *path, uint64_t min_size, const void **map, size_t *size,
                            filemap_failure *why) {
    struct stat st;
    void *p;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int e = errno;
        io_failure(why, "open", e);
        return e == ENOENT ? FILEMAP_NOT_FOUND : FILEMAP_IO;
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return io_failure(why, "stat", e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return FILEMAP_NOT_REGULAR;
    }
    if ((uint64_t)st.st_size < min_size) {
        close(fd);
        why->file_size = (uint64_t)st.st_size;
        return FILEMAP_TOO_SHORT;
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return FILEMAP_TOO_LARGE;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return io_failure(why, "map", errno);
    *map = p;
    *size = (size_t)st.st_size;
    return FILEMAP_OK;
}

void filemap_close(const void *map, size_t size) {
    if (map) munmap((void *)(uintptr_t)map, size);
}
