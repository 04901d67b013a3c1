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
kernels_ecqf_bench_SOURCES = kernels/bench/ecqf_bench.c tools/common/safetensors.c tools/common/safetensors.h tools/common/text.c tools/common/text.h tools/common/filemap.c tools/common/filemap.h
kernels_ecqf_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels -I$(top_srcdir)/libecqf/codec -I$(top_srcdir)/tools/common
kernels_ecqf_bench_CFLAGS = $(AM_CFLAGS) -pthread $(ZSTD_CFLAGS)
kernels_ecqf_bench_LDADD = kernels/libecqf-kernels.la libecqf/libecqf-core.la $(ZSTD_LIBS) $(SODIUM_LIBS) -lpthread -ldl -lm
EXTRA_DIST += kernels/RESULTS.md kernels/README.md \
	kernels/results/bench-epyc-2026-11-27.txt kernels/results/bench-epyc-2026-11-27.json \
	kernels/results/bench-xeon-2026-11-27.txt kernels/results/bench-xeon-2026-11-27.json

# ==== GPU backends (owner: GPU kernels; kernels/metal, kernels/opencl, kernels/cuda) ==========
# Host helper shared by the GPU backends: argument block and decode tables of a tensor.
noinst_LTLIBRARIES += kernels/libecqf-gpu.la
kernels_libecqf_gpu_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels -I$(top_srcdir)/libecqf/codec
kernels_libecqf_gpu_la_SOURCES = kernels/metal/ecqf_gpu.c kernels/metal/ecqf_gpu.h kernels/metal/ecqf_gpu_common.h

# Correctness harness of the GPU tests: random tensors and stories260K, bit-exact against the
# scalar CPU backend and within 1e-5 of float64.
noinst_LTLIBRARIES += tests/libgpucheck.la
tests_libgpucheck_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels -I$(top_srcdir)/tools/common
tests_libgpucheck_la_SOURCES = tests/test_gpu_common.c tests/test_gpu_common.h tests/gemv_cases.c tests/gemv_cases.h tools/common/safetensors.c tools/common/text.c tools/common/filemap.c
GPU_TEST_LIBS = tests/libgpucheck.la kernels/libecqf-gpu.la kernels/libecqf-kernels.la libecqf/libecqf-core.la \
	$(SODIUM_LIBS) $(ZSTD_LIBS) -lpthread -lm
GPU_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels -I$(top_srcdir)/tests \
	-DECQF_TOP_SRCDIR='"$(abs_top_srcdir)"'

# OpenCL: the fused GEMV on PoCL (skips with 77 when no OpenCL platform is found).
if HAVE_OPENCL
check_PROGRAMS += tests/test_opencl
TESTS += tests/test_opencl
tests_test_opencl_SOURCES = tests/test_opencl.c kernels/opencl/ecqf_opencl.c kernels/opencl/ecqf_opencl.h
tests_test_opencl_CPPFLAGS = $(GPU_TEST_CPPFLAGS)
tests_test_opencl_LDADD = $(GPU_TEST_LIBS) -lOpenCL
endif
EXTRA_DIST += kernels/opencl/ecqf_gemv.cl

# Metal on Linux: every kernels/metal/*.metal compiled with clang in C++ and in C++ for OpenCL
# (address-space checking) mode (tests/test_metal.sh), and the kernels run on the CPU emulation
# of simdgroups (metal_emu.h) with threadgroup and with device decode tables.
GPU_METAL_SRCS = kernels/metal/ecqf_gemv.metal kernels/metal/ecqf_gemv_fast.metal
GPU_METAL_HDRS = kernels/metal/metal_compat.h kernels/metal/metal_emu.h kernels/metal/compat/metal_stdlib \
	kernels/metal/ecqf_gpu_common.h kernels/common/ecqf_kernel_body.h
EXTRA_DIST += $(GPU_METAL_SRCS) $(GPU_METAL_HDRS) kernels/metal/README.md kernels/metal/host.m tests/test_metal_emu.cc
if HAVE_CLANG
dist_check_SCRIPTS += tests/test_metal.sh
TESTS += tests/test_metal.sh
GPU_METAL_EMU_FLAGS = -x c++ -std=c++17 -O2 -Wall -Wextra -Werror -ffp-contract=off \
	$(GPU_TEST_CPPFLAGS) -I$(top_srcdir)/kernels/metal/compat -I$(top_srcdir)/tools/common
check_PROGRAMS += tests/test_metal_emu tests/test_metal_emu_dev
TESTS += tests/test_metal_emu tests/test_metal_emu_dev
tests_test_metal_emu_SOURCES =
tests_test_metal_emu_LDADD = tests/test_metal_emu.tg.$(OBJEXT) $(GPU_TEST_LIBS) -lstdc++
tests_test_metal_emu_DEPENDENCIES = tests/test_metal_emu.tg.$(OBJEXT) tests/libgpucheck.la kernels/libecqf-gpu.la \
	kernels/libecqf-kernels.la libecqf/libecqf-core.la
tests_test_metal_emu_dev_SOURCES =
tests_test_metal_emu_dev_LDADD = tests/test_metal_emu.dev.$(OBJEXT) $(GPU_TEST_LIBS) -lstdc++
tests_test_metal_emu_dev_DEPENDENCIES = tests/test_metal_emu.dev.$(OBJEXT) tests/libgpucheck.la kernels/libecqf-gpu.la \
	kernels/libecqf-kernels.la libecqf/libecqf-core.la
tests/test_metal_emu.tg.$(OBJEXT): $(srcdir)/tests/test_metal_emu.cc $(GPU_METAL_SRCS) $(GPU_METAL_HDRS)
	@$(MKDIR_P) tests
	$(AM_V_CC)$(CLANG) $(GPU_METAL_EMU_FLAGS) -DECQF_METAL_TG_TABLES=1 -c -o $@ $(srcdir)/tests/test_metal_emu.cc
tests/test_metal_emu.dev.$(OBJEXT): $(srcdir)/tests/test_metal_emu.cc $(GPU_METAL_SRCS) $(GPU_METAL_HDRS)
	@$(MKDIR_P) tests
	$(AM_V_CC)$(CLANG) $(GPU_METAL_EMU_FLAGS) -DECQF_METAL_TG_TABLES=0 -c -o $@ $(srcdir)/tests/test_metal_emu.cc
CLEANFILES += tests/test_metal_emu.tg.$(OBJEXT) tests/test_metal_emu.dev.$(OBJEXT)
else
EXTRA_DIST += tests/test_metal.sh
endif

# CUDA: the benchmark program (kernels and correctness checks inside) is compiled when nvcc is
# found; it is never run by make check (no GPU in CI). kernels/cuda/run-h100.sh builds and runs
# it on a GPU machine.
GPU_CUDA_HDRS = kernels/cuda/ecqf_cuda_body.cuh kernels/cuda/ecqf_cuda_fast.cuh
EXTRA_DIST += kernels/cuda/ecqf-cuda-bench.cu $(GPU_CUDA_HDRS) kernels/cuda/run-h100.sh kernels/cuda/sass_count.py \
	kernels/cuda/README.md kernels/RESULTS-GPU.md
if HAVE_NVCC
noinst_PROGRAMS += kernels/cuda/ecqf-cuda-bench
kernels_cuda_ecqf_cuda_bench_SOURCES =
kernels_cuda_ecqf_cuda_bench_LINK = $(NVCC) -arch=sm_90 -o $@
kernels_cuda_ecqf_cuda_bench_LDADD = kernels/cuda/ecqf-cuda-bench.$(OBJEXT) tests/.libs/libgpucheck.a \
	kernels/.libs/libecqf-gpu.a kernels/.libs/libecqf-kernels.a libecqf/.libs/libecqf-core.a \
	-lcublas $(SODIUM_LIBS) $(ZSTD_LIBS) -lpthread -lm
kernels_cuda_ecqf_cuda_bench_DEPENDENCIES = kernels/cuda/ecqf-cuda-bench.$(OBJEXT) tests/libgpucheck.la \
	kernels/libecqf-gpu.la kernels/libecqf-kernels.la libecqf/libecqf-core.la
kernels/cuda/ecqf-cuda-bench.$(OBJEXT): $(srcdir)/kernels/cuda/ecqf-cuda-bench.cu $(GPU_CUDA_HDRS) \
		kernels/common/ecqf_kernel_body.h kernels/metal/ecqf_gpu_common.h
	@$(MKDIR_P) kernels/cuda
	$(AM_V_CC)$(NVCC) -std=c++17 -arch=sm_90 -O3 -lineinfo -Xcompiler -Wall,-Wextra -Werror all-warnings \
		-I$(top_srcdir)/kernels -I$(top_srcdir)/libecqf -I$(top_srcdir)/libecqf/codec \
		-I$(top_srcdir)/tools/common -I$(top_srcdir)/tests -c -o $@ $(srcdir)/kernels/cuda/ecqf-cuda-bench.cu
CLEANFILES += kernels/cuda/ecqf-cuda-bench.$(OBJEXT)
endif

# Metal host program: macOS only (Objective-C, Metal and Foundation frameworks).
if HAVE_METAL_HOST
noinst_PROGRAMS += kernels/metal/ecqf-metal
kernels_metal_ecqf_metal_SOURCES =
kernels_metal_ecqf_metal_LDADD = kernels/metal/host.$(OBJEXT) kernels/libecqf-gpu.la kernels/libecqf-kernels.la \
	libecqf/libecqf-core.la $(SODIUM_LIBS) $(ZSTD_LIBS) -lpthread -lm
kernels_metal_ecqf_metal_LDFLAGS = -framework Metal -framework Foundation
kernels_metal_ecqf_metal_DEPENDENCIES = kernels/metal/host.$(OBJEXT) kernels/libecqf-gpu.la kernels/libecqf-kernels.la \
	libecqf/libecqf-core.la
kernels/metal/host.$(OBJEXT): $(srcdir)/kernels/metal/host.m kernels/metal/ecqf_gpu.h
	@$(MKDIR_P) kernels/metal
	$(AM_V_CC)$(CC) -x objective-c -fobjc-arc -O2 -Wall -Wextra $(AM_CPPFLAGS) -I$(top_srcdir)/kernels \
		-DECQF_KERNELS_DIR='"$(abs_top_srcdir)/kernels"' -c -o $@ $(srcdir)/kernels/metal/host.m
CLEANFILES += kernels/metal/host.$(OBJEXT)
endif
# ==== end of GPU backends ====================================================================
