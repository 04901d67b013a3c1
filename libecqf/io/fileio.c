/* fileio.c — mappings and crash-safe output. A destination file is never partially
 * written: data goes to a temporary file in the same directory (same filesystem), which is
 * fsynced and then renamed (or hard-linked, to refuse replacing a file that appeared
 * meanwhile) into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/internal.h"
#include "fileio.h"

int ecqf_map_file(const char *path, ecqf_mapping *m, ecqf_error *err) {
    struct stat st;
    int fd;
    memset(m, 0, sizeof *m);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "cannot open %s: %s", path,
                              strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "%s is not a regular file", path);
    }
    if (st.st_size > 0) {
        if ((uint64_t)st.st_size > SIZE_MAX) {
            close(fd);
            return ecqf_set_error(err, ECQF_ERR_LIMIT, ECQF_NO_OFFSET, "%s is too large to map", path);
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "cannot map %s: %s", path, strerror(e));
        }
        m->base = p;
        m->data = p;
        m->size = (uint64_t)st.st_size;
    }
    close(fd);
    return ECQF_OK;
}

void ecqf_unmap_file(ecqf_mapping *m) {
    if (m->base) munmap(m->base, (size_t)m->size);
    memset(m, 0, sizeof *m);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int ecqf_outfile_open(ecqf_outfile *f, const char *path, int overwrite, ecqf_error *err) {
    struct stat st;
    const char *slash;
    size_t dirlen, n;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!path || !*path)
        return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "empty output path");
    if (!overwrite && lstat(path, &st) == 0)
        return ecqf_set_error(err, ECQF_ERR_EXISTS, ECQF_NO_OFFSET,
                              "%s already exists (ask for overwriting to replace it)", path);
    slash = strrchr(path, '/');
    dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    n = strlen(path) + 16;
    f->tmp_path = malloc(n);
    f->final_path = dup_str(path);
    if (!f->tmp_path || !f->final_path) {
        ecqf_outfile_discard(f);
        return ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
    }
    memcpy(f->tmp_path, path, dirlen);
    snprintf(f->tmp_path + dirlen, n - dirlen, ".%s.tmp-XXXXXX", path + dirlen);
    f->fd = mkstemp(f->tmp_path);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp_path);
        f->tmp_path = NULL;
        ecqf_outfile_discard(f);
        return ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET,
                              "cannot create a temporary file beside %s: %s", path, strerror(e));
    }
    (void)fchmod(f->fd, 0644); /* mkstemp makes 0600; published model files are usually 0644 */
    f->overwrite = overwrite;
    return ECQF_OK;
}

int ecqf_outfile_write(ecqf_outfile *f, const void *data, size_t size, ecqf_error *err) {
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t w = write(f->fd, p, size > (1u << 30) ? (1u << 30) : size);
        if (w < 0) {
            if (errno == EINTR) continue;
            return ecqf_set_error(err, ECQF_ERR_IO, f->pos, "write to %s failed at byte %llu: %s",
                                  f->tmp_path, (unsigned long long)f->pos, strerror(errno));
        }
        if (w == 0)
            return ecqf_set_error(err, ECQF_ERR_IO, f->pos, "write to %s made no progress", f->tmp_path);
        p += w;
        size -= (size_t)w;
        f->pos += (uint64_t)w;
    }
    return ECQF_OK;
}

int ecqf_outfile_write_zeros(ecqf_outfile *f, uint64_t count, ecqf_error *err) {
    static const uint8_t zeros[4096];
    while (count > 0) {
        size_t n = count > sizeof zeros ? sizeof zeros : (size_t)count;
        int rc = ecqf_outfile_write(f, zeros, n, err);
        if (rc) return rc;
        count -= n;
    }
    return ECQF_OK;
}

int ecqf_outfile_pwrite(ecqf_outfile *f, const void *data, size_t size, uint64_t offset,
                        ecqf_error *err) {
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t w = pwrite(f->fd, p, size, (off_t)offset);
        if (w < 0) {
            if (errno == EINTR) continue;
            return ecqf_set_error(err, ECQF_ERR_IO, offset, "write to %s failed: %s", f->tmp_path,
                                  strerror(errno));
        }
        if (w == 0) return ecqf_set_error(err, ECQF_ERR_IO, offset, "write made no progress");
        p += w;
        size -= (size_t)w;
        offset += (uint64_t)w;
    }
    return ECQF_OK;
}

static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;
    if (!slash) dir = dup_str(".");
    else {
        size_t n = (size_t)(slash - path);
        dir = malloc(n + 2);
        if (dir) {
            memcpy(dir, path, n ? n : 1);
            dir[n ? n : 1] = 0;
        }
    }
    if (!dir) return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int ecqf_outfile_commit(ecqf_outfile *f, ecqf_error *err) {
    int rc = ECQF_OK;
    if (fsync(f->fd) != 0) {
        rc = ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "fsync of %s failed: %s", f->tmp_path,
                            strerror(errno));
        ecqf_outfile_discard(f);
        return rc;
    }
    if (close(f->fd) != 0) {
        f->fd = -1;
        rc = ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "close of %s failed: %s", f->tmp_path,
                            strerror(errno));
        ecqf_outfile_discard(f);
        return rc;
    }
    f->fd = -1;
    if (f->overwrite) {
        if (rename(f->tmp_path, f->final_path) != 0)
            rc = ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "cannot rename %s to %s: %s",
                                f->tmp_path, f->final_path, strerror(errno));
    } else {
        /* link() refuses to replace: a file that appeared since open is never clobbered. */
        if (link(f->tmp_path, f->final_path) != 0) {
            int e = errno;
            if (e == EEXIST)
                rc = ecqf_set_error(err, ECQF_ERR_EXISTS, ECQF_NO_OFFSET, "%s already exists",
                                    f->final_path);
            else if (e == EPERM || e == EOPNOTSUPP || e == EXDEV) {
                struct stat st;
                /* filesystems without hard links: check, then rename */
                if (lstat(f->final_path, &st) == 0)
                    rc = ecqf_set_error(err, ECQF_ERR_EXISTS, ECQF_NO_OFFSET, "%s already exists",
                                        f->final_path);
                else if (rename(f->tmp_path, f->final_path) != 0)
                    rc = ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "cannot rename %s to %s: %s",
                                        f->tmp_path, f->final_path, strerror(errno));
            } else
                rc = ecqf_set_error(err, ECQF_ERR_IO, ECQF_NO_OFFSET, "cannot move %s to %s: %s",
                                    f->tmp_path, f->final_path, strerror(e));
        }
        if (access(f->tmp_path, F_OK) == 0) unlink(f->tmp_path);
    }
    if (rc == ECQF_OK) sync_parent_dir(f->final_path);
    else if (f->tmp_path) unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    f->tmp_path = f->final_path = NULL;
    return rc;
}

void ecqf_outfile_discard(ecqf_outfile *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    f->tmp_path = f->final_path = NULL;
}
