/*
 * gemv_cases.c — see gemv_cases.h.
 */
#include "gemv_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t gemv_rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

double gemv_unif(uint64_t *s) { return (double)(gemv_rnd(s) >> 11) * (1.0 / 9007199254740992.0); }

double gemv_gauss(uint64_t *s) {
    double u = gemv_unif(s) + 1e-300, v = gemv_unif(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void gemv_make_weights(float *w, uint64_t rows, uint64_t cols, uint64_t *s) {
    for (uint64_t r = 0; r < rows; r++) {
        double scale = 0.02 * (0.5 + gemv_unif(s));
        for (uint64_t c = 0; c < cols; c++) {
            double v = gemv_gauss(s) * scale;
            if (gemv_rnd(s) % 150 == 0) v *= 7.0;
            w[r * cols + c] = (float)v;
        }
    }
}

int gemv_build_desc(gemv_built *b, const gemv_case *tc, const float *w, const char *name) {
    ecqf_tensor_desc *d = &b->d;
    const uint64_t rows = tc->rows, cols = tc->cols, n = rows * cols;
    memset(b, 0, sizeof *b);
    d->struct_size = sizeof *d;
    d->name = name;
    d->ndim = 2;
    d->dims[0] = rows;
    d->dims[1] = cols;
    d->scheme = tc->scheme;
    d->coding = tc->coding;
    d->dtype = ECQF_DTYPE_F32;
    d->precision = tc->precision;
    d->max_length = tc->max_length;
    d->lanes = tc->lanes;
    d->pack = tc->pack;
    d->stripe_rows = tc->stripe;
    d->tile_rows = tc->trows;
    d->tile_cols = tc->tcols;
    if (tc->scheme == ECQF_SCHEME_AFFINE || tc->scheme == ECQF_SCHEME_SYMMETRIC) {
        size_t ps = ecqf_dtype_size(tc->pdtype), G = (size_t)(cols / tc->group);
        uint8_t *codes = malloc(n + 1), *params = malloc(2 * rows * G * ps + 1);
        b->buf[0] = codes;
        b->buf[1] = params;
        if (!codes || !params) return ECQF_ERR_NOMEM;
        d->bits = tc->bits;
        d->group_size = tc->group;
        d->param_dtype = tc->pdtype;
        d->codes = codes;
        d->params = params;
        if (tc->bits > 4) d->pack = 1;
        if (tc->scheme == ECQF_SCHEME_AFFINE) {
            d->params_size = 2 * rows * G * ps;
            return ecqf_quantize_affine(w, rows, cols, tc->bits, tc->group, tc->pdtype, codes, params,
                                        params + rows * G * ps);
        }
        d->params_size = rows * G * ps;
        return ecqf_quantize_symmetric(w, rows, cols, tc->bits, tc->group, tc->pdtype, codes, params);
    } else {
        unsigned nsteps = tc->per_row ? (unsigned)rows : 1, Q = 0, z = 0, flags = 0;
        int32_t *ints = malloc(n * sizeof *ints + 4);
        float *steps = malloc(nsteps * sizeof *steps + 4);
        int rc;
        b->buf[0] = ints;
        b->buf[1] = steps;
        if (!ints || !steps) return ECQF_ERR_NOMEM;
        for (unsigned r = 0; r < nsteps; r++) {
            double ss = 0;
            uint64_t r0 = tc->per_row ? r : 0, r1 = tc->per_row ? r + 1 : rows;
            for (uint64_t rr = r0; rr < r1; rr++)
                for (uint64_t c = 0; c < cols; c++) ss += (double)w[rr * cols + c] * w[rr * cols + c];
            steps[r] = (float)(sqrt(ss / (double)((r1 - r0) * cols)) * tc->step_scale + 1e-9);
        }
        rc = ecqf_quantize_ecsq(w, rows, cols, steps, (int)tc->per_row, ints);
        if (!rc) rc = ecqf_ecsq_choose_alphabet(ints, n, tc->max_alphabet, &Q, &z, &flags);
        d->alphabet = Q;
        d->zero_code = z;
        d->ecsq_flags = flags | (tc->per_row ? ECQF_ECSQ_PER_ROW : 0);
        if (d->pack == 2 && Q > 16) d->pack = 1;
        d->ints = ints;
        d->params = steps;
        d->params_size = nsteps * sizeof *steps;
        return rc;
    }
}

void gemv_built_free(gemv_built *b) {
    free(b->buf[0]);
    free(b->buf[1]);
    b->buf[0] = b->buf[1] = NULL;
}

ecqf_reader *gemv_write_and_open(const gemv_built *b, size_t n, const char *path, char *msg,
                                 size_t msg_size) {
    ecqf_writer *w = NULL;
    ecqf_reader *r = NULL;
    ecqf_writer_options o;
    ecqf_error e;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.flags = ECQF_WRITE_OVERWRITE;
    if (ecqf_writer_create(&w, path, &o, &e)) {
        snprintf(msg, msg_size, "writer: %s", e.message);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (ecqf_writer_add_tensor(w, &b[i].d, &e)) {
            snprintf(msg, msg_size, "add %s: %s", b[i].d.name, e.message);
            ecqf_writer_abort(w);
            return NULL;
        }
    if (ecqf_writer_finish(w, &e) || ecqf_reader_open_file(&r, path, NULL, &e)) {
        snprintf(msg, msg_size, "write/open %s: %s", path, e.message);
        return NULL;
    }
    return r;
}
