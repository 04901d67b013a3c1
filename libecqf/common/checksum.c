/* checksum.c — BLAKE2b-256 through libsodium's crypto_generichash. */
#include <sodium.h>

#include "internal.h"

int ecqf_blake2b_256(const void *data, size_t size, uint8_t out[32]) {
    if (!out || (!data && size)) return ECQF_ERR_INVALID_ARGUMENT;
    if (sodium_init() < 0) return ECQF_ERR_UNSUPPORTED;
    if (crypto_generichash(out, 32, (const unsigned char *)data, size, NULL, 0) != 0)
        return ECQF_ERR_INVALID_ARGUMENT;
    return ECQF_OK;
}

int ecqf_blake2b_256_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[32]) {
    crypto_generichash_state st;
    if (sodium_init() < 0) return ECQF_ERR_UNSUPPORTED;
    if (crypto_generichash_init(&st, NULL, 0, 32) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)a, na) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)b, nb) != 0 ||
        crypto_generichash_final(&st, out, 32) != 0)
        return ECQF_ERR_INVALID_ARGUMENT;
    return ECQF_OK;
}

_Static_assert(sizeof(ecqf_hash_state) >= sizeof(crypto_generichash_state), "hash state too small");

int ecqf_blake2b_init(ecqf_hash_state *st) {
    if (sodium_init() < 0) return ECQF_ERR_UNSUPPORTED;
    return crypto_generichash_init((crypto_generichash_state *)(void *)st, NULL, 0, 32) ? ECQF_ERR_UNSUPPORTED : ECQF_OK;
}
int ecqf_blake2b_update(ecqf_hash_state *st, const void *data, size_t size) {
    return crypto_generichash_update((crypto_generichash_state *)(void *)st, data, size) ? ECQF_ERR_UNSUPPORTED : ECQF_OK;
}
int ecqf_blake2b_final(ecqf_hash_state *st, uint8_t out[32]) {
    return crypto_generichash_final((crypto_generichash_state *)(void *)st, out, 32) ? ECQF_ERR_UNSUPPORTED : ECQF_OK;
}
