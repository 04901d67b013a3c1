/*
 * host.m — macOS host program for the Metal backend (kernels/metal/ecqf_gemv.metal).
 *
 *   ecqf-metal [--kernels DIR] [--reps N] [--tensor NAME] FILE.ecqf
 *
 * For every RANS or PREFIX tensor of FILE (or the one named), it runs y = W x on the GPU and
 * compares y with the scalar CPU backend (the same portable body compiled as C: bit for bit)
 * and with a float64 product over the reference dequantization (relative error <= 1e-5).
 * Then it times the kernel (GPU start/end times of the command buffers) and prints GB/s of
 * bytes read.
 *
 * Zero copy: the reader maps FILE read-only. When a tensor's blob starts on a page boundary
 * (16 KiB on Apple silicon: write the file with ecqf_writer_options.alignment = 16384, e.g.
 * `ecqf-pack --align 16384`), the blob is wrapped with newBufferWithBytesNoCopy and the parts
 * are bound at their offsets in it: the GPU reads the file's pages directly. Otherwise the
 * parts are copied into shared buffers.
 *
 * The library is compiled at run time from the .metal source (its #include "..." lines are
 * inlined from DIR, default the source tree's kernels/) with safe math: mathMode =
 * MTLMathModeSafe (macOS 15) or fastMathEnabled = NO, because Apple's default is fast math
 * and the bit-exact comparison needs IEEE multiplies and adds. Two variants are built: decode
 * tables in threadgroup memory (ECQF_METAL_TG_TABLES=1, used when they fit) and in device
 * memory.
 *
 * Built only on macOS (configure's HAVE_METAL_HOST); see kernels/metal/README.md.
 */
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecqf.h"
#include "ecqf_kernels.h"
#include "metal/ecqf_gpu.h"

#ifndef ECQF_KERNELS_DIR
#define ECQF_KERNELS_DIR "kernels"
#endif

/* ---- source with its #include "..." lines inlined ----------------------------------------- */
static NSString *inline_includes(NSString *path, NSString *dir, NSMutableSet *seen, NSError **err) {
    NSString *text = [NSString stringWithContentsOfFile:path encoding:NSUTF8StringEncoding error:err];
    if (!text) return nil;
    NSMutableString *out = [NSMutableString string];
    for (NSString *line in [text componentsSeparatedByString:@"\n"]) {
        NSString *t = [line stringByTrimmingCharactersInSet:[NSCharacterSet whitespaceCharacterSet]];
        if ([t hasPrefix:@"#include \""]) {
            NSRange a = [t rangeOfString:@"\""];
            NSRange b = [t rangeOfString:@"\"" options:NSBackwardsSearch];
            NSString *rel = [t substringWithRange:NSMakeRange(a.location + 1, b.location - a.location - 1)];
            NSString *full = [dir stringByAppendingPathComponent:rel];
            if (![seen containsObject:full]) {
                [seen addObject:full];
                NSString *sub = inline_includes(full, dir, seen, err);
                if (!sub) return nil;
                [out appendFormat:@"// ---- %@\n%@\n", rel, sub];
            }
            continue;
        }
        [out appendFormat:@"%@\n", line];
    }
    return out;
}

static id<MTLComputePipelineState> make_pipeline(id<MTLDevice> dev, NSString *src, int tg_tables) {
    NSError *err = nil;
    MTLCompileOptions *opt = [[MTLCompileOptions alloc] init];
    if (@available(macOS 15.0, *)) {
        opt.mathMode = MTLMathModeSafe;
        opt.mathFloatingPointFunctions = MTLMathFloatingPointFunctionsPrecise;
    } else {
        opt.fastMathEnabled = NO;
    }
    opt.languageVersion = MTLLanguageVersion2_4;
    opt.preprocessorMacros = @{@"ECQF_METAL_TG_TABLES" : @(tg_tables)};
    id<MTLLibrary> lib = [dev newLibraryWithSource:src options:opt error:&err];
    if (!lib) {
        fprintf(stderr, "Metal compile (ECQF_METAL_TG_TABLES=%d): %s\n", tg_tables, err.localizedDescription.UTF8String);
        return nil;
    }
    id<MTLFunction> fn = [lib newFunctionWithName:@"ecqf_gemv"];
    id<MTLComputePipelineState> ps = [dev newComputePipelineStateWithFunction:fn error:&err];
    if (!ps) fprintf(stderr, "pipeline: %s\n", err.localizedDescription.UTF8String);
    return ps;
}

/* A buffer over bytes [p, p+n) of the mapping: zero-copy when page-aligned, else a copy. */
typedef struct {
    id<MTLBuffer> buf;
    NSUInteger off;
} binding;

static binding bind_part(id<MTLDevice> dev, const ecqf_tensor_info *in, int part, id<MTLBuffer> blob, int *copied) {
    binding b = {nil, 0};
    if (!in->part[part] || in->part_size[part] == 0) {
        static const uint32_t zero[4] = {0, 0, 0, 0};
        b.buf = [dev newBufferWithBytes:zero length:sizeof zero options:MTLResourceStorageModeShared];
        return b;
    }
    if (blob) {
        b.buf = blob;
        b.off = (NSUInteger)(in->part[part] - in->blob);
        return b;
    }
    b.buf = [dev newBufferWithBytes:in->part[part] length:in->part_size[part] options:MTLResourceStorageModeShared];
    (*copied)++;
    return b;
}

int main(int argc, char **argv) {
    @autoreleasepool {
        const char *kdir = ECQF_KERNELS_DIR, *only = NULL, *path = NULL;
        int reps = 20;
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "--kernels") && i + 1 < argc) kdir = argv[++i];
            else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
            else if (!strcmp(argv[i], "--tensor") && i + 1 < argc) only = argv[++i];
            else path = argv[i];
        }
        if (!path) {
            fprintf(stderr, "usage: %s [--kernels DIR] [--reps N] [--tensor NAME] FILE.ecqf\n", argv[0]);
            return 2;
        }
        id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
        if (!dev) {
            fprintf(stderr, "no Metal device\n");
            return 77;
        }
        NSString *dir = [NSString stringWithUTF8String:kdir];
        NSError *err = nil;
        NSString *src = inline_includes([dir stringByAppendingPathComponent:@"metal/ecqf_gemv.metal"], dir,
                                        [NSMutableSet set], &err);
        if (!src) {
            fprintf(stderr, "cannot read the Metal source under %s: %s\n", kdir, err.localizedDescription.UTF8String);
            return 1;
        }
        id<MTLComputePipelineState> ps_tg = make_pipeline(dev, src, 1), ps_dev = make_pipeline(dev, src, 0);
        if (!ps_tg || !ps_dev) return 1;
        /* the tuned kernel (AFFINE 4-bit g64 f16, pack 2, 32 lanes, one stripe of 4 or 8 rows per
         * full-width tile) */
        NSString *fsrc = inline_includes([dir stringByAppendingPathComponent:@"metal/ecqf_gemv_fast.metal"], dir,
                                         [NSMutableSet set], &err);
        id<MTLComputePipelineState> ps_fast = nil;
        if (fsrc) {
            MTLCompileOptions *fo = [[MTLCompileOptions alloc] init];
            if (@available(macOS 15.0, *)) fo.mathMode = MTLMathModeSafe;
            else fo.fastMathEnabled = NO;
            fo.languageVersion = MTLLanguageVersion2_4;
            id<MTLLibrary> fl = [dev newLibraryWithSource:fsrc options:fo error:&err];
            id<MTLFunction> ff = fl ? [fl newFunctionWithName:@"ecqf_gemv_fast"] : nil;
            if (ff) ps_fast = [dev newComputePipelineStateWithFunction:ff error:&err];
            if (!ps_fast) fprintf(stderr, "tuned kernel not available: %s\n", err.localizedDescription.UTF8String);
        }
        if (ps_tg.threadExecutionWidth != 32) {
            fprintf(stderr, "simdgroup width %lu: the kernels need 32\n", (unsigned long)ps_tg.threadExecutionWidth);
            return 1;
        }
        id<MTLCommandQueue> q = [dev newCommandQueue];
        ecqf_reader *rd = NULL;
        ecqf_error e;
        if (ecqf_reader_open_file(&rd, path, NULL, &e)) {
            fprintf(stderr, "%s: %s\n", path, e.message);
            return 1;
        }
        const size_t page = (size_t)getpagesize();
        printf("device %s, page %zu, file %s\n", dev.name.UTF8String, page, path);
        int failures = 0, ran = 0;
        for (size_t ti = 0; ti < ecqf_reader_tensor_count(rd); ti++) {
            ecqf_tensor_info in;
            ecqf_gpu_tensor g;
            char msg[512];
            if (ecqf_reader_tensor_info(rd, ti, &in)) continue;
            if (only && (strlen(only) != in.name_length || memcmp(only, in.name, in.name_length))) continue;
            if (ecqf_gpu_tensor_init(&g, &in, 0, msg, sizeof msg)) {
                if (only) printf("%.*s: not run: %s\n", (int)in.name_length, in.name, msg);
                continue;
            }
            /* zero copy when the blob starts on a page */
            id<MTLBuffer> blob = nil;
            int copied = 0;
            if (((uintptr_t)in.blob % page) == 0) {
                NSUInteger len = (NSUInteger)((in.blob_size + page - 1) / page * page);
                blob = [dev newBufferWithBytesNoCopy:(void *)in.blob length:len options:MTLResourceStorageModeShared
                                         deallocator:nil];
            }
            binding bp = bind_part(dev, &in, ECQF_PART_PARAMS, blob, &copied);
            binding bi = bind_part(dev, &in, ECQF_PART_TILE_INDEX, blob, &copied);
            binding be = bind_part(dev, &in, ECQF_PART_ESCAPES, blob, &copied);
            binding bd = bind_part(dev, &in, ECQF_PART_DATA, blob, &copied);
            const size_t tbytes = g.table_words * 4;
            const int use_tg = tbytes + 16 <= dev.maxThreadgroupMemoryLength;
            id<MTLComputePipelineState> ps = use_tg ? ps_tg : ps_dev;
            id<MTLBuffer> tab = [dev newBufferWithBytes:g.tables length:tbytes options:MTLResourceStorageModeShared];
            id<MTLBuffer> x = [dev newBufferWithLength:in.cols * 4 + 16 options:MTLResourceStorageModeShared];
            id<MTLBuffer> y = [dev newBufferWithLength:in.rows * 4 + 16 options:MTLResourceStorageModeShared];
            id<MTLBuffer> scratch = [dev newBufferWithLength:g.part_floats * 4 + 16 options:MTLResourceStorageModePrivate];
            id<MTLBuffer> errb = [dev newBufferWithLength:16 options:MTLResourceStorageModeShared];
            id<MTLBuffer> args = [dev newBufferWithBytes:g.args length:sizeof g.args options:MTLResourceStorageModeShared];
            float *xs = (float *)x.contents;
            srand48(1);
            for (uint64_t c = 0; c < in.cols; c++) xs[c] = (float)(drand48() * 2 - 1);
            memset(errb.contents, 0, 16);

            void (^encode)(id<MTLCommandBuffer>) = ^(id<MTLCommandBuffer> cb) {
                id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
                [enc setComputePipelineState:ps];
                [enc setBuffer:bp.buf offset:bp.off atIndex:0];
                [enc setBuffer:bi.buf offset:bi.off atIndex:1];
                [enc setBuffer:be.buf offset:be.off atIndex:2];
                [enc setBuffer:bd.buf offset:bd.off atIndex:3];
                [enc setBuffer:tab offset:0 atIndex:4];
                [enc setBuffer:x offset:0 atIndex:5];
                [enc setBuffer:y offset:0 atIndex:6];
                [enc setBuffer:scratch offset:0 atIndex:7];
                [enc setBuffer:errb offset:0 atIndex:8];
                [enc setBuffer:args offset:0 atIndex:9];
                [enc setThreadgroupMemoryLength:(use_tg ? (tbytes + 15) / 16 * 16 : 16) atIndex:0];
                [enc dispatchThreadgroups:MTLSizeMake((NSUInteger)g.TR, 1, 1)
                    threadsPerThreadgroup:MTLSizeMake(g.lanes, 1, 1)];
                [enc endEncoding];
            };
            id<MTLCommandBuffer> cb = [q commandBuffer];
            encode(cb);
            [cb commit];
            [cb waitUntilCompleted];
            uint32_t ebits = *(uint32_t *)errb.contents;

            /* CPU: scalar backend (bit-exact) and float64 */
            float *yc = malloc(in.rows * 4 + 4), *wdq = malloc(in.numel * 4 + 4);
            ecqf_kernel_plan *plan = NULL;
            ecqf_kernel_options ko;
            memset(&ko, 0, sizeof ko);
            ko.struct_size = sizeof ko;
            ko.backend = ECQF_KERNEL_SCALAR;
            int rc = ecqf_kernel_plan_create(&in, &ko, &plan, &e);
            if (!rc) rc = ecqf_kernel_gemv(plan, NULL, xs, yc, &e);
            if (!rc) rc = ecqf_tensor_dequantize(rd, ti, ECQF_DTYPE_F32, wdq, in.numel * 4, &e);
            const float *yg = (const float *)y.contents;
            double nerr = 0, nref = 0;
            uint64_t differ = 0;
            for (uint64_t r = 0; r < in.rows && !rc; r++) {
                double s = 0;
                for (uint64_t c = 0; c < in.cols; c++) s += (double)wdq[r * in.cols + c] * xs[c];
                nerr += (yg[r] - s) * (yg[r] - s);
                nref += s * s;
                differ += memcmp(&yg[r], &yc[r], 4) != 0;
            }
            const double rel = nref > 0 ? sqrt(nerr / nref) : sqrt(nerr);
            const int ok = !rc && !ebits && rel <= 1e-5;
            failures += !ok;
            ran++;

            /* timing */
            double best = INFINITY;
            for (int i = 0; i < reps; i++) {
                id<MTLCommandBuffer> c2 = [q commandBuffer];
                encode(c2);
                [c2 commit];
                [c2 waitUntilCompleted];
                double t = c2.GPUEndTime - c2.GPUStartTime;
                if (t > 0 && t < best) best = t;
            }
            const double bytes = (double)(in.part_size[ECQF_PART_DATA] + in.part_size[ECQF_PART_PARAMS] +
                                          in.part_size[ECQF_PART_TILE_INDEX] + in.part_size[ECQF_PART_ESCAPES]);
            printf("%-40.*s %6llux%-6llu %-6s %s tables, %s: %s; rel err %.2e, %llu rows differ from the CPU "
                   "scalar backend; %.1f us, %.1f GB/s, %.3f G weights/s\n",
                   (int)in.name_length, in.name, (unsigned long long)in.rows, (unsigned long long)in.cols,
                   ecqf_coding_name(in.coding), use_tg ? "threadgroup" : "device",
                   blob ? "zero-copy" : (copied ? "copied" : "-"), ok ? "ok" : "FAIL", rel,
                   (unsigned long long)differ, best * 1e6, bytes / best / 1e9, (double)in.numel / best / 1e9);
            if (rc) printf("  CPU reference: %s\n", e.message);
            if (ebits) printf("  kernel error bits 0x%x\n", ebits);

            /* the tuned kernel, where the tensor fits it: same x, compared with float64 */
            uint32_t *ftab = NULL;
            size_t fwords = 0;
            if (ps_fast && !rc && in.scheme == ECQF_SCHEME_AFFINE && in.bits == 4 && in.group_size == 64 &&
                in.param_dtype == ECQF_DTYPE_F16 && in.lanes == 32 && in.pack == 2 &&
                (in.stripe_rows == 4 || in.stripe_rows == 8) && in.tile_rows == in.stripe_rows &&
                in.tile_cols == in.cols && in.rows % in.stripe_rows == 0 &&
                in.part_size[ECQF_PART_DATA] < 0xFFFF0000ull && ecqf_gpu_fast_table(&in, &ftab, &fwords) == 0) {
                uint32_t fa[8] = {0};
                fa[0] = (uint32_t)in.rows;
                fa[1] = (uint32_t)in.cols;
                fa[2] = in.stripe_rows;
                fa[3] = in.coding == ECQF_CODING_RANS ? 1u : 2u;
                fa[4] = in.coding == ECQF_CODING_RANS ? in.precision : in.max_length;
                fa[5] = (uint32_t)fwords;
                fa[6] = (uint32_t)in.tile_count;
                /* the stream window reads up to 192 bytes past a tile: pad the data part */
                NSUInteger dlen = (NSUInteger)in.part_size[ECQF_PART_DATA];
                id<MTLBuffer> fdata = [dev newBufferWithLength:dlen + 4096 options:MTLResourceStorageModeShared];
                memcpy(fdata.contents, in.part[ECQF_PART_DATA], dlen);
                memset((uint8_t *)fdata.contents + dlen, 0, 4096);
                id<MTLBuffer> ftb = [dev newBufferWithBytes:ftab length:fwords * 4 options:MTLResourceStorageModeShared];
                id<MTLBuffer> fab = [dev newBufferWithBytes:fa length:sizeof fa options:MTLResourceStorageModeShared];
                const NSUInteger ntg = MIN((NSUInteger)(in.tile_count + 3) / 4, (NSUInteger)1024);
                void (^fenc)(id<MTLCommandBuffer>) = ^(id<MTLCommandBuffer> c3) {
                    id<MTLComputeCommandEncoder> en = [c3 computeCommandEncoder];
                    [en setComputePipelineState:ps_fast];
                    [en setBuffer:fdata offset:0 atIndex:0];
                    [en setBuffer:bi.buf offset:bi.off atIndex:1];
                    [en setBuffer:bp.buf offset:bp.off atIndex:2];
                    [en setBuffer:ftb offset:0 atIndex:3];
                    [en setBuffer:x offset:0 atIndex:4];
                    [en setBuffer:y offset:0 atIndex:5];
                    [en setBuffer:fab offset:0 atIndex:6];
                    [en setThreadgroupMemoryLength:(fwords * 4 + 15) / 16 * 16 atIndex:0];
                    [en dispatchThreadgroups:MTLSizeMake(ntg, 1, 1) threadsPerThreadgroup:MTLSizeMake(128, 1, 1)];
                    [en endEncoding];
                };
                id<MTLCommandBuffer> c3 = [q commandBuffer];
                fenc(c3);
                [c3 commit];
                [c3 waitUntilCompleted];
                double fe = 0, fr = 0, fbest = INFINITY;
                for (uint64_t r = 0; r < in.rows; r++) {
                    double s = 0;
                    for (uint64_t c = 0; c < in.cols; c++) s += (double)wdq[r * in.cols + c] * xs[c];
                    fe += (yg[r] - s) * (yg[r] - s);
                    fr += s * s;
                }
                for (int i = 0; i < reps; i++) {
                    id<MTLCommandBuffer> c4 = [q commandBuffer];
                    fenc(c4);
                    [c4 commit];
                    [c4 waitUntilCompleted];
                    double t = c4.GPUEndTime - c4.GPUStartTime;
                    if (t > 0 && t < fbest) fbest = t;
                }
                const double frel = fr > 0 ? sqrt(fe / fr) : sqrt(fe);
                const int fok = frel <= 1e-5;
                failures += !fok;
                printf("  tuned kernel: %s; rel err %.2e; %.1f us, %.1f GB/s, %.3f G weights/s (portable: %.1f us)\n",
                       fok ? "ok" : "FAIL", frel, fbest * 1e6, bytes / fbest / 1e9, (double)in.numel / fbest / 1e9,
                       best * 1e6);
            }
            free(ftab);
            ecqf_kernel_plan_free(plan);
            free(yc);
            free(wdq);
            ecqf_gpu_tensor_free(&g);
        }
        ecqf_reader_close(rd);
        printf("%d tensors run, %d failed\n", ran, failures);
        return failures ? 1 : 0;
    }
}
