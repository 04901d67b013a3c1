/* alloc.c — every allocation of the library goes through here, so a caller's allocator
 * (and the tests' counting allocator) sees all of them. */
#include <stdlib.h>

#include "internal.h"

void *ecqf_alloc(const ecqf_allocator *a, size_t size) {
    if (size == 0) size = 1;
    if (a && a->alloc) return a->alloc(a->opaque, size);
    return malloc(size);
}

void *ecqf_calloc(const ecqf_allocator *a, size_t count, size_t size) {
    size_t total;
    void *p;
    if (__builtin_mul_overflow(count, size, &total)) return NULL;
    p = ecqf_alloc(a, total);
    if (p) memset(p, 0, total ? total : 1);
    return p;
}

void ecqf_free(const ecqf_allocator *a, void *p) {
    if (!p) return;
    if (a && a->free) a->free(a->opaque, p);
    else free(p);
}
