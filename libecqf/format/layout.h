/* layout.h — internal structures shared by the reader, decoder, encoder and writer:
 * the on-disk field positions of spec sections 3 to 6 and the parsed reader state. */
#ifndef ECQF_LAYOUT_H
#define ECQF_LAYOUT_H

#include "../codec/codec.h"
#include "../common/internal.h"
#include "../io/fileio.h"

static const uint8_t ecqf_magic[8] = {0x89, 'E', 'C', 'Q', 'F', 0x0D, 0x0A, 0x0A};

enum {
    HDR_MAGIC = 0, HDR_MAJOR = 8, HDR_MINOR = 10, HDR_SIZE = 12, HDR_REQUIRED = 16,
    HDR_OPTIONAL = 24, HDR_FILE_SIZE = 32, HDR_DIR_OFFSET = 40, HDR_DIR_SIZE = 48,
    HDR_ALIGNMENT = 56, HDR_RESERVED = 60, HDR_CHECKSUM = 64
};
#define ECQF_PART_ALIGN 64u
#define ECQF_DIR_ALIGN 8u
#define ECQF_TENSOR_ENTRY_MIN (8u + 1u + 16u + 16u + 8u + 40u + 32u) /* with a 1-byte name */
#define ECQF_META_ENTRY_MIN (2u + 1u + 1u + 1u)                     /* BOOL with a 1-byte key */
#define ECQF_MIN_ALIGNMENT 64u
#define ECQF_MAX_ALIGNMENT 65536u

struct ecqf_reader {
    ecqf_allocator alloc;
    int has_alloc;
    ecqf_mapping map;            /* when opened from a file */
    const uint8_t *data;
    uint64_t size;
    ecqf_file_info file;
    uint32_t *tensor_entry;      /* directory-relative offset of each tensor entry */
    uint32_t *name_order;        /* tensor indices sorted by name, for lookup */
    uint32_t *meta_entry;        /* directory-relative offset of each metadata entry */
};

static inline const ecqf_allocator *ecqf_reader_allocator(const ecqf_reader *r) {
    return r->has_alloc ? &r->alloc : NULL;
}

/* Parse the tensor entry at `pos` of the directory (absolute file offset) into info,
 * validating everything that can be checked from the entry and the blob's parts.
 * `expected_blob_offset` is the [L-1] offset (UINT64_MAX: unchecked); blobs must end by
 * `blob_limit` (the directory offset); *entry_end receives the end of the entry. */
int ecqf_parse_tensor_entry(const uint8_t *file, uint64_t blob_limit, uint64_t pos,
                            uint64_t dir_end, uint64_t expected_blob_offset, int deep,
                            ecqf_tensor_info *info, uint64_t *entry_end, ecqf_error *err);

/* Derived per-tensor values shared by encoder and decoder. */
unsigned ecqf_code_width(int scheme, unsigned bits, unsigned alphabet, int dtype);
/* Expected params part size; UINT64_MAX on overflow. */
uint64_t ecqf_params_size(int scheme, uint64_t rows, uint64_t cols, unsigned group_size,
                          int param_dtype, unsigned ecsq_flags);
/* Fill a tiling from info. */
void ecqf_info_tiling(const ecqf_tensor_info *info, ecqf_tiling *t);
/* Validate RANS/PREFIX table bytes for the given Q and pack ([R-1]..[R-3], [P-1]..[P-4]). */
int ecqf_check_table(const ecqf_tensor_info *info, ecqf_error *err);

/* Tile-local element index of each code in symbol order; pack-2 padding gets UINT32_MAX.
 * pos holds g->symbols * pack entries. */
void ecqf_symbol_positions(const ecqf_tiling *t, const ecqf_tile_geom *g, uint32_t *pos);

#endif
