# rules for fuzz/ (owner: hardening) — libFuzzer targets, their replay main, corpora.
#
# ./configure --enable-fuzzing CC=clang: everything is compiled with
#   -fsanitize=fuzzer-no-link,address,undefined (configure adds it to CFLAGS) and the targets
#   below are linked with -fsanitize=fuzzer as noinst programs: run e.g.
#   fuzz/fuzz_open -dict=$(srcdir)/fuzz/ecqf.dict NEWDIR $(srcdir)/fuzz/corpus/open
# Otherwise each target links fuzz/replay.c (a main() that runs LLVMFuzzerTestOneInput over
#   files and directories) and `make check` replays its seed corpus fuzz/corpus/NAME and its
#   saved reproducers fuzz/crashes/NAME. See fuzz/README.md.

FUZZ_TARGETS = fuzz/fuzz_open fuzz/fuzz_decode fuzz/fuzz_codec fuzz/fuzz_roundtrip fuzz/fuzz_safetensors \
	fuzz/fuzz_gguf

if ENABLE_FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
FUZZ_MAIN_SRC =
FUZZ_LINK = $(FUZZ_LDFLAGS)
else
check_PROGRAMS += $(FUZZ_TARGETS)
TESTS += $(FUZZ_TARGETS)
FUZZ_MAIN_SRC = fuzz/replay.c
FUZZ_LINK =
endif

FZ_CPPFLAGS_COMMON = $(AM_CPPFLAGS) -I$(top_srcdir)/fuzz -I$(top_srcdir)/libecqf -I$(top_srcdir)/libecqf/codec \
	-DFUZZ_DIR='"$(abs_top_srcdir)/fuzz"'
FZ_CFLAGS_COMMON = $(AM_CFLAGS) -ffp-contract=off
FZ_HDRS = fuzz/fuzz.h fuzz/fuzz_ecqf.h
# fuzz_open and fuzz_decode also replay the conformance vectors when they exist
FZ_VECTORS = -DFUZZ_EXTRA_DIR='"$(abs_top_srcdir)/conformance/vectors"'

fuzz_fuzz_open_SOURCES = fuzz/fuzz_open.c $(FZ_HDRS) $(FUZZ_MAIN_SRC)
fuzz_fuzz_open_CPPFLAGS = $(FZ_CPPFLAGS_COMMON) -DFUZZ_NAME='"open"' $(FZ_VECTORS)
fuzz_fuzz_open_CFLAGS = $(FZ_CFLAGS_COMMON)
fuzz_fuzz_open_LDFLAGS = $(FUZZ_LINK)
fuzz_fuzz_open_LDADD = libecqf/libecqf-core.la

fuzz_fuzz_decode_SOURCES = fuzz/fuzz_decode.c $(FZ_HDRS) $(FUZZ_MAIN_SRC)
fuzz_fuzz_decode_CPPFLAGS = $(FZ_CPPFLAGS_COMMON) -DFUZZ_NAME='"decode"' $(FZ_VECTORS)
fuzz_fuzz_decode_CFLAGS = $(FZ_CFLAGS_COMMON)
fuzz_fuzz_decode_LDFLAGS = $(FUZZ_LINK)
fuzz_fuzz_decode_LDADD = libecqf/libecqf-core.la

fuzz_fuzz_codec_SOURCES = fuzz/fuzz_codec.c $(FZ_HDRS) $(FUZZ_MAIN_SRC)
fuzz_fuzz_codec_CPPFLAGS = $(FZ_CPPFLAGS_COMMON) -DFUZZ_NAME='"codec"'
fuzz_fuzz_codec_CFLAGS = $(FZ_CFLAGS_COMMON)
fuzz_fuzz_codec_LDFLAGS = $(FUZZ_LINK)
fuzz_fuzz_codec_LDADD = libecqf/libecqf-core.la

fuzz_fuzz_roundtrip_SOURCES = fuzz/fuzz_roundtrip.c $(FZ_HDRS) $(FUZZ_MAIN_SRC)
fuzz_fuzz_roundtrip_CPPFLAGS = $(FZ_CPPFLAGS_COMMON) -DFUZZ_NAME='"roundtrip"'
fuzz_fuzz_roundtrip_CFLAGS = $(FZ_CFLAGS_COMMON)
fuzz_fuzz_roundtrip_LDFLAGS = $(FUZZ_LINK)
fuzz_fuzz_roundtrip_LDADD = libecqf/libecqf-core.la -lm

fuzz_fuzz_safetensors_SOURCES = fuzz/fuzz_safetensors.c $(FZ_HDRS) $(FUZZ_MAIN_SRC)
fuzz_fuzz_safetensors_CPPFLAGS = $(FZ_CPPFLAGS_COMMON) -I$(top_srcdir)/tools/common -DFUZZ_NAME='"safetensors"'
fuzz_fuzz_safetensors_CFLAGS = $(FZ_CFLAGS_COMMON)
fuzz_fuzz_safetensors_LDFLAGS = $(FUZZ_LINK)
fuzz_fuzz_safetensors_LDADD = tools/libecqftools.la libecqf/libecqf.la -lm

fuzz_fuzz_gguf_SOURCES = fuzz/fuzz_gguf.c $(FZ_HDRS) $(FUZZ_MAIN_SRC)
fuzz_fuzz_gguf_CPPFLAGS = $(FZ_CPPFLAGS_COMMON) -I$(top_srcdir)/tools/common -DFUZZ_NAME='"gguf"'
fuzz_fuzz_gguf_CFLAGS = $(FZ_CFLAGS_COMMON)
fuzz_fuzz_gguf_LDFLAGS = $(FUZZ_LINK)
fuzz_fuzz_gguf_LDADD = tools/libecqftools.la libecqf/libecqf.la -lm

# Seed generator: writes small valid files with the library's writer (see fuzz/README.md).
EXTRA_PROGRAMS = fuzz/mkseeds
fuzz_mkseeds_SOURCES = fuzz/mkseeds.c
fuzz_mkseeds_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libecqf
fuzz_mkseeds_LDADD = libecqf/libecqf-core.la -lm

EXTRA_DIST += fuzz/README.md fuzz/campaign.sh fuzz/campaign-summary.sh fuzz/valgrind.supp fuzz/ecqf.dict fuzz/safetensors.dict fuzz/corpus fuzz/crashes

# Whole suite under ASan+UBSan (a separate tree configured by scripts/check-sanitize) and
# under valgrind memcheck (this tree; compiled tests only, through libtool so that wrapper
# scripts are seen through; the hardening sweeps sample every 29th variant there).
VALGRIND = valgrind
VALGRIND_FLAGS = --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	--show-leak-kinds=definite,indirect,possible --track-origins=yes --quiet --num-callers=40 \
	--suppressions=$(abs_top_srcdir)/fuzz/valgrind.supp
check-sanitize:
	ECQF_SANITIZE_DIR='$(abs_top_builddir)/sanitize' $(SHELL) $(abs_top_srcdir)/scripts/check-sanitize
check-valgrind:
	@tests=`for t in $(TESTS); do case $$t in *.sh|*.py) ;; *) printf '%s ' $$t;; esac; done`; \
	echo "check-valgrind: $$tests"; \
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$$tests" \
		LOG_COMPILER='$(LIBTOOL) --mode=execute $(VALGRIND) $(VALGRIND_FLAGS)' \
		TESTS_ENVIRONMENT='ECQF_HARDENING_STRIDE=29 CK_TIMEOUT_MULTIPLIER=30; export ECQF_HARDENING_STRIDE CK_TIMEOUT_MULTIPLIER;'
.PHONY: check-sanitize check-valgrind
EXTRA_DIST += scripts/check-sanitize
