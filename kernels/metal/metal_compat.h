/*
 * metal_compat.h — compile Metal Shading Language sources with a non-Apple clang.
 *
 * A .metal file includes <metal_stdlib>; the folder kernels/metal/compat holds a metal_stdlib
 * that includes this header, so `clang -I kernels/metal/compat -x ... file.metal` works in
 * three modes:
 *
 *  - C++ (`clang -x c++ -std=c++17`): address spaces (device, constant, threadgroup, thread)
 *    vanish, `kernel` vanishes, attributes [[buffer(0)]] are ignored, and the simd and barrier
 *    functions are those of the CPU emulation (metal_emu.h): the 32 lanes of a simdgroup run as
 *    fibers in lockstep. tests/test_metal_emu.cc runs the kernels this way.
 *  - C++ for OpenCL (`clang -x clcpp -cl-std=clc++2021`, generic address space disabled): the
 *    address spaces become __global, __constant, __local and __private, so clang checks every
 *    pointer conversion between address spaces as strictly as Metal does (an unqualified
 *    pointer is then a private one, as a Metal `thread` pointer). Compile check only.
 *
 * Only what the ECQF kernels use is provided; extend it with what new kernels need.
 */
#ifndef ECQF_METAL_COMPAT_H
#define ECQF_METAL_COMPAT_H

#if defined(__OPENCL_CPP_VERSION__) || defined(__CL_CPP_VERSION_1_0__) || defined(__OPENCL_C_VERSION__)
/* ======================= C++ for OpenCL: address-space checking ======================= */
#define ECQF_METAL_COMPAT_CLCPP 1
#define ECQF_TG_ATTR(n)
#define device __global
#define constant __constant
#define threadgroup __local
#define thread __private
#define kernel __kernel
/* Metal's 3-argument atomics (device scope) are OpenCL's 4-argument ones */
#define atomic_fetch_or_explicit(obj, val, order) atomic_fetch_or_explicit((obj), (val), (order), memory_scope_device)
typedef ulong ecqf_metal_vote_t;
namespace metal {
enum class mem_flags { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };
inline void threadgroup_barrier(mem_flags f) {
    barrier(f == mem_flags::mem_device ? CLK_GLOBAL_MEM_FENCE : CLK_LOCAL_MEM_FENCE);
}
inline void simdgroup_barrier(mem_flags) { barrier(CLK_LOCAL_MEM_FENCE); }
/* simd_ballot returns the mask itself here: a conversion operator of a temporary would need
 * the generic address space, which this mode turns off */
struct simd_vote {
    typedef ulong vote_t;
};
/* declarations only: this mode is a compile check */
simd_vote::vote_t simd_ballot(bool p);
uint simd_prefix_exclusive_sum(uint v);
uint simd_sum(uint v);
float simd_shuffle_xor(float v, ushort mask);
uint simd_shuffle_xor(uint v, ushort mask);
float simd_shuffle(float v, ushort lane);
uint simd_shuffle(uint v, ushort lane);
template <typename T, typename U> T as_type(U u) { return __builtin_bit_cast(T, u); }
} // namespace metal
#pragma clang diagnostic ignored "-Wunknown-attributes"

#else
/* =========================== C++: the CPU emulation =================================== */
#define ECQF_METAL_COMPAT_EMU 1
#define ECQF_TG_ATTR(n)
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sys/types.h> /* uint, ushort, ulong as glibc spells them */

#include "metal_emu.h"

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
static_assert(sizeof(ulong) == 8, "Metal's ulong is 64 bits");

namespace metal {
enum class mem_flags { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };
inline void threadgroup_barrier(mem_flags) { ecqf_emu::collective(ecqf_emu::OP_BARRIER, 0, 0); }
/* simdgroup_barrier is a threadgroup barrier here: the emulated simdgroup is in lockstep
 * at every collective anyway */
inline void simdgroup_barrier(mem_flags) { ecqf_emu::collective(ecqf_emu::OP_BARRIER, 0, 0); }

struct simd_vote {
    typedef uint64_t vote_t;
    vote_t v;
    explicit operator vote_t() const { return v; }
};
inline simd_vote simd_ballot(bool p) { return simd_vote{ecqf_emu::collective(ecqf_emu::OP_BALLOT, p ? 1 : 0, 0)}; }
inline uint simd_prefix_exclusive_sum(uint v) {
    return (uint)ecqf_emu::collective(ecqf_emu::OP_PREFIX_EXCL_SUM_U32, v, 0);
}
inline uint simd_sum(uint v) { return (uint)ecqf_emu::collective(ecqf_emu::OP_SUM_U32, v, 0); }
inline uint simd_shuffle_xor(uint v, ushort mask) {
    return (uint)ecqf_emu::collective(ecqf_emu::OP_SHUFFLE_XOR_32, v, mask);
}
inline float simd_shuffle_xor(float v, ushort mask) {
    uint u, r;
    float f;
    std::memcpy(&u, &v, 4);
    r = (uint)ecqf_emu::collective(ecqf_emu::OP_SHUFFLE_XOR_32, u, mask);
    std::memcpy(&f, &r, 4);
    return f;
}
inline uint simd_broadcast(uint v, ushort lane) {
    return (uint)ecqf_emu::collective(ecqf_emu::OP_BROADCAST_32, v, lane);
}
/* simd_shuffle: every lane names its own source lane (the emulator's broadcast takes a per-lane
 * source, so it is the same collective) */
inline uint simd_shuffle(uint v, ushort lane) { return simd_broadcast(v, lane); }
inline float simd_shuffle(float v, ushort lane) {
    uint u, r;
    float f;
    std::memcpy(&u, &v, 4);
    r = simd_broadcast(u, lane);
    std::memcpy(&f, &r, 4);
    return f;
}
inline uint popcount(uint x) { return (uint)__builtin_popcount(x); }
template <typename T, typename U> T as_type(U u) {
    static_assert(sizeof(T) == sizeof(U), "as_type: sizes differ");
    T t;
    std::memcpy(&t, &u, sizeof t);
    return t;
}
inline float fma(float a, float b, float c) { return std::fma(a, b, c); } /* one rounding, in float */
typedef std::atomic<uint> atomic_uint;
using std::memory_order_relaxed;
using std::atomic_fetch_or_explicit;
} // namespace metal

/* the address spaces and the kernel qualifier vanish; [[attributes]] are ignored */
#define device
#define constant
#define threadgroup
#define thread
#define kernel
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wunknown-attributes"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wattributes"
#endif
#endif

#endif /* ECQF_METAL_COMPAT_H */
