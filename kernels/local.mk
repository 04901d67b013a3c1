# rules for kernels/ (owner: kernels). GPU backends (kernels/cuda, metal, opencl) add their own
# blocks below; they include kernels/common/ecqf_kernel_body.h, the portable kernel body.

# CPU kernels: plans, thread pool, the portable body as C (scalar backend), AVX2 and AVX-512
# backends selected at run time (target attributes, so no special compiler flags).
noinst_LTLIBRARIES += kernels/libecqf-kernels.la
kernels_libecqf_kernels_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels -I$(top_srcdir)/libecqf/codec
kernels_libecqf_kernels_la_CFLAGS = $(AM_CFLAGS) -pthread
kernels_libecqf_kernels_la_SOURCES = \
	kernels/ecqf_kernels.h kernels/common/ecqf_kernel_body.h kernels/cpu/kern.h \
	kernels/cpu/plan.c kernels/cpu/scalar.c kernels/cpu/simd.c \
	kernels/cpu/simd_avx2.c kernels/cpu/simd_avx512.c
kernels_libecqf_kernels_la_LIBADD = -lpthread -lm

# Side-by-side benchmark (prints a table and JSON; see kernels/RESULTS.md). htscodecs, when
# its shared library is installed, is loaded at run time (dlopen), so it is no build dependency.
noinst_PROGRAMS += kernels/ecqf-bench
kernels_ecqf_bench_SOURCES = kernels/bench/ecqf_bench.c tools/common/safetensors.c tools/common/safetensors.h
kernels_ecqf_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels -I$(top_srcdir)/libecqf/codec -I$(top_srcdir)/tools/common
kernels_ecqf_bench_CFLAGS = $(AM_CFLAGS) -pthread $(ZSTD_CFLAGS)
kernels_ecqf_bench_LDADD = kernels/libecqf-kernels.la libecqf/libecqf-core.la $(ZSTD_LIBS) $(SODIUM_LIBS) -lpthread -ldl -lm
EXTRA_DIST += kernels/RESULTS.md
