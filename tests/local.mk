# rules for tests/

# --- format: container round trips and reader error codes (lead) ---
check_PROGRAMS += tests/test_format
TESTS += tests/test_format
tests_test_format_SOURCES = tests/test_format.c
tests_test_format_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libecqf -I$(top_srcdir)/libecqf/common -I$(top_srcdir)/libecqf/codec
tests_test_format_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SODIUM_CFLAGS)
tests_test_format_LDADD = libecqf/libecqf-core.la $(CHECK_LIBS) $(SODIUM_LIBS) -lm

# --- codec: tiling, rANS, prefix code, raw packing (codec) ---
check_PROGRAMS += tests/test_codec
TESTS += tests/test_codec
tests_test_codec_SOURCES = tests/test_codec.c
tests_test_codec_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libecqf -I$(top_srcdir)/libecqf/codec
tests_test_codec_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_codec_LDADD = libecqf/libecqf-core.la $(CHECK_LIBS) -lm

# --- quant: quantizers and rate control (quant) ---
check_PROGRAMS += tests/test_quant tests/quantdump
TESTS += tests/test_quant tests/test_mlx_affine.sh
tests_test_quant_SOURCES = tests/test_quant.c tools/common/ratecontrol.c tools/common/ratecontrol.h
tests_test_quant_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libecqf -I$(top_srcdir)/tools/common
tests_test_quant_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_quant_LDADD = libecqf/libecqf-core.la $(CHECK_LIBS) -lm
# raw f32 in, codes/params out: driven by tests/python/test_mlx_affine.py
tests_quantdump_SOURCES = tests/quantdump.c
tests_quantdump_LDADD = libecqf/libecqf-core.la -lm
# measurement: affine / Q4_0 / ECSQ (per row, per tensor, equal slope) on a safetensors model
noinst_PROGRAMS += tests/quantprobe
tests_quantprobe_SOURCES = tests/quantprobe.c tools/common/ratecontrol.c tools/common/ratecontrol.h
tests_quantprobe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/common
tests_quantprobe_LDADD = libecqf/libecqf-core.la -lm
dist_check_SCRIPTS += tests/test_mlx_affine.sh
EXTRA_DIST += tests/python/test_mlx_affine.py scripts/fetch-models scripts/models.lock

# --- tools: ecqf-pack, ecqf-inspect, ecqf-unpack and the safetensors reader (tools) ---
# Shell tests; crafted bad inputs are generated at test time by tests/tools/mkbad.py.
# Tests that need the real model skip (77) when $(ECQF_MODELS_DIR) lacks it.
ECQF_TOOLS_TESTS = tests/tools/bad-input.sh tests/tools/overwrite.sh \
	tests/tools/roundtrip.sh tests/tools/mlx.sh
TESTS += $(ECQF_TOOLS_TESTS)
dist_check_SCRIPTS += $(ECQF_TOOLS_TESTS) tests/tools/mkbad.py tests/tools/check_unpack.py
EXTRA_DIST += tests/tools/common.sh
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	ECQF_MODELS_DIR='$(abs_top_srcdir)/../shared/models'; export ECQF_MODELS_DIR; \
	PYTHON3='$(PYTHON3)'; export PYTHON3;

# --- tools: GGUF input of ecqf-pack (tools/common/gguf.c) (gguf) ---
# Synthetic GGUF files, valid and invalid, are generated at test time by tests/tools/mkgguf.py
# (with its own dequantization, checked against hand-worked blocks); the real Gemma 3 270M
# part SKIPs when scripts/fetch-models cannot provide it (or ECQF_NO_DOWNLOAD=1, uncached).
TESTS += tests/tools/gguf.sh
dist_check_SCRIPTS += tests/tools/gguf.sh tests/tools/mkgguf.py

# --- hardening: bit-flip and truncation sweeps, allocation bounds, guard pages, writer faults (hardening) ---
check_PROGRAMS += tests/test_hardening
TESTS += tests/test_hardening
tests_test_hardening_SOURCES = tests/test_hardening.c
tests_test_hardening_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libecqf -I$(top_srcdir)/libecqf/codec
tests_test_hardening_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_hardening_LDADD = libecqf/libecqf-core.la $(CHECK_LIBS) -lm

# --- kernels: fast decoders vs reference, fused GEMV vs float64 reference (kernels) ---
check_PROGRAMS += tests/test_kernels
TESTS += tests/test_kernels
tests_test_kernels_SOURCES = tests/test_kernels.c tests/gemv_cases.c tests/gemv_cases.h tools/common/safetensors.c tools/common/safetensors.h tools/common/text.c tools/common/text.h tools/common/filemap.c tools/common/filemap.h
tests_test_kernels_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libecqf -I$(top_srcdir)/libecqf/codec \
	-I$(top_srcdir)/kernels -I$(top_srcdir)/tools/common
tests_test_kernels_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_test_kernels_LDADD = kernels/libecqf-kernels.la libecqf/libecqf-core.la $(CHECK_LIBS) -lpthread -lm

# --- real clients: MLX, the safetensors package, downstream quality (clients) ---
# numpy and safetensors come from scripts/pyenv (a venv in $ECQF_MODEL_CACHE, pinned and
# hash-checked by scripts/python-requirements.lock), MLX from tests/clients/mlx-env.sh, MiniLM
# from scripts/fetch-models. Each test SKIPs (77) when its package or model cannot be had.
ECQF_CLIENT_TESTS = tests/clients/mlx-matmul.sh tests/clients/safetensors.sh \
	tests/clients/minilm-quality.sh
TESTS += $(ECQF_CLIENT_TESTS)
dist_check_SCRIPTS += $(ECQF_CLIENT_TESTS)
EXTRA_DIST += tests/clients/common.sh tests/clients/mlx-env.sh \
	tests/python/client_mlx_matmul.py tests/python/client_safetensors.py \
	scripts/pyenv scripts/python-requirements.lock scripts/minilm_quality.py
