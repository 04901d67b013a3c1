/*
 * metal_emu.h — a CPU emulation of Metal threadgroups and simdgroups, for running .metal
 * sources on Linux (through metal_compat.h, C++17).
 *
 * Every thread of a threadgroup is a fiber (ucontext) on the calling OS thread. Fibers run
 * until they reach a collective operation (a simd_* function or threadgroup_barrier) or the
 * end of the kernel; the scheduler then completes the collective for the simdgroup (or the
 * threadgroup) once every thread that has not returned is waiting on it, and resumes them.
 * So the 32 lanes of a simdgroup run in lockstep at every collective, exactly as the SIMT
 * model promises, and the results are deterministic (no OS threads, no races).
 *
 * Divergence is an error, not undefined behaviour: if lanes of a simdgroup wait on different
 * collectives, or some wait on a barrier that others never reach, the emulator reports the
 * kinds and stops (emu_error() becomes non-NULL and the run returns false).
 *
 * Threadgroups run one after another. simd_width is 32 (Apple GPUs).
 */
#ifndef ECQF_METAL_EMU_H
#define ECQF_METAL_EMU_H

#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

namespace ecqf_emu {

enum op_kind : int {
    OP_NONE = 0,
    OP_BALLOT,
    OP_PREFIX_EXCL_SUM_U32,
    OP_SUM_U32,
    OP_SHUFFLE_XOR_32,
    OP_BROADCAST_32,
    OP_BARRIER,
};

inline const char *op_name(int op) {
    static const char *const n[] = {"none", "simd_ballot", "simd_prefix_exclusive_sum", "simd_sum",
                                    "simd_shuffle_xor", "simd_broadcast", "threadgroup_barrier"};
    return op >= 0 && op <= OP_BARRIER ? n[op] : "?";
}

enum fiber_state : int { READY = 0, BLOCKED = 1, DONE = 2 };

struct fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    int state = READY;
    int op = OP_NONE;
    uint64_t in = 0, out = 0;
    uint32_t arg = 0;
};

static constexpr unsigned SIMD_WIDTH = 32;

struct group {
    unsigned nthreads = 0;
    std::vector<fiber> f;
    ucontext_t sched;
    unsigned cur = 0;
    std::function<void(unsigned tid)> body;
    char error[256] = {0};
};

inline group *&current() {
    static group *g = nullptr;
    return g;
}

inline const char *&last_error() {
    static const char *e = nullptr;
    return e;
}

/* Called by the simd functions of metal_compat.h from inside a fiber. */
inline uint64_t collective(int op, uint64_t v, uint32_t arg) {
    group *G = current();
    if (!G) { /* outside an emulated dispatch: a lone thread */
        if (op == OP_BALLOT) return v ? 1u : 0u;
        if (op == OP_PREFIX_EXCL_SUM_U32) return 0;
        return v;
    }
    fiber &me = G->f[G->cur];
    me.op = op;
    me.in = v;
    me.arg = arg;
    me.state = BLOCKED;
    swapcontext(&me.ctx, &G->sched);
    return me.out;
}

inline void trampoline() {
    group *G = current();
    unsigned tid = G->cur;
    G->body(tid);
    G->f[tid].state = DONE;
    swapcontext(&G->f[tid].ctx, &G->sched);
}

/* Complete the collective the waiting lanes of simdgroup s agree on; false on divergence. */
inline bool resolve_simd(group &G, unsigned s, bool *did) {
    unsigned lo = s * SIMD_WIDTH, hi = lo + SIMD_WIDTH < G.nthreads ? lo + SIMD_WIDTH : G.nthreads;
    int op = OP_NONE;
    *did = false;
    for (unsigned t = lo; t < hi; t++) {
        if (G.f[t].state == DONE) continue;
        if (G.f[t].state != BLOCKED || G.f[t].op == OP_BARRIER) return true; /* not all here yet */
        if (op == OP_NONE) op = G.f[t].op;
        else if (op != G.f[t].op) {
            snprintf(G.error, sizeof G.error, "divergent simdgroup %u: lanes wait on %s and %s", s,
                     op_name(op), op_name(G.f[t].op));
            return false;
        }
    }
    if (op == OP_NONE) return true; /* every lane returned */
    uint64_t acc = 0;
    for (unsigned t = lo; t < hi; t++) {
        fiber &F = G.f[t];
        if (F.state == DONE) continue;
        unsigned lane = t - lo;
        switch (op) {
        case OP_BALLOT: {
            uint64_t m = 0;
            for (unsigned u = lo; u < hi; u++)
                if (G.f[u].state != DONE && G.f[u].in) m |= 1ull << (u - lo);
            F.out = m;
            break;
        }
        case OP_PREFIX_EXCL_SUM_U32:
            F.out = acc;
            acc = (uint32_t)(acc + F.in);
            break;
        case OP_SUM_U32: {
            uint32_t sum = 0;
            for (unsigned u = lo; u < hi; u++)
                if (G.f[u].state != DONE) sum += (uint32_t)G.f[u].in;
            F.out = sum;
            break;
        }
        case OP_SHUFFLE_XOR_32:
        case OP_BROADCAST_32: {
            unsigned src = op == OP_SHUFFLE_XOR_32 ? (lane ^ F.arg) : F.arg;
            if (src >= SIMD_WIDTH || lo + src >= hi || G.f[lo + src].state == DONE) {
                snprintf(G.error, sizeof G.error, "%s from an inactive lane %u (simdgroup %u, lane %u)",
                         op_name(op), src, s, lane);
                return false;
            }
            F.out = G.f[lo + src].in;
            break;
        }
        default: break;
        }
    }
    for (unsigned t = lo; t < hi; t++)
        if (G.f[t].state == BLOCKED) G.f[t].state = READY;
    *did = true;
    return true;
}

/* Run body(tid) for tid in [0, nthreads) as one threadgroup. */
inline bool run_group(unsigned nthreads, std::function<void(unsigned)> body, size_t stack_size = 256 * 1024) {
    group G;
    G.nthreads = nthreads;
    G.body = std::move(body);
    G.f.resize(nthreads);
    current() = &G;
    for (unsigned t = 0; t < nthreads; t++) {
        fiber &F = G.f[t];
        F.stack.resize(stack_size);
        getcontext(&F.ctx);
        F.ctx.uc_stack.ss_sp = F.stack.data();
        F.ctx.uc_stack.ss_size = F.stack.size();
        F.ctx.uc_link = nullptr;
        makecontext(&F.ctx, (void (*)())trampoline, 0);
    }
    bool ok = true;
    for (;;) {
        bool ran = false;
        for (unsigned t = 0; t < nthreads; t++) {
            if (G.f[t].state != READY) continue;
            G.cur = t;
            swapcontext(&G.sched, &G.f[t].ctx);
            ran = true;
        }
        bool all_done = true, any_barrier = false, resolved = false;
        for (unsigned t = 0; t < nthreads; t++) {
            if (G.f[t].state != DONE) all_done = false;
            if (G.f[t].state == BLOCKED && G.f[t].op == OP_BARRIER) any_barrier = true;
        }
        if (all_done) break;
        for (unsigned s = 0; s * SIMD_WIDTH < nthreads; s++) {
            bool did;
            if (!resolve_simd(G, s, &did)) {
                ok = false;
                break;
            }
            resolved |= did;
        }
        if (!ok) break;
        if (!resolved && any_barrier) {
            unsigned waiting = 0, done = 0;
            for (unsigned t = 0; t < nthreads; t++) {
                waiting += G.f[t].state == BLOCKED && G.f[t].op == OP_BARRIER;
                done += G.f[t].state == DONE;
            }
            if (waiting == nthreads) {
                for (unsigned t = 0; t < nthreads; t++) G.f[t].state = READY;
                resolved = true;
            } else if (waiting + done == nthreads) {
                snprintf(G.error, sizeof G.error, "threadgroup_barrier not reached by %u returned threads", done);
                ok = false;
                break;
            }
        }
        if (!resolved && !ran) {
            snprintf(G.error, sizeof G.error, "deadlock: threads wait on collectives that cannot complete");
            ok = false;
            break;
        }
    }
    current() = nullptr;
    if (!ok) {
        static char msg[256];
        snprintf(msg, sizeof msg, "%s", G.error);
        last_error() = msg;
    }
    return ok;
}

/* Dispatch ngroups threadgroups of tg_size threads; fn(group, thread_in_group). */
inline bool dispatch(unsigned ngroups, unsigned tg_size, const std::function<void(unsigned, unsigned)> &fn) {
    last_error() = nullptr;
    for (unsigned g = 0; g < ngroups; g++)
        if (!run_group(tg_size, [&](unsigned tid) { fn(g, tid); })) return false;
    return true;
}

} // namespace ecqf_emu

#endif
