# rules for tools/ (owner: tools)
#
# tools/libecqftools.la: helpers shared by the command-line tools and reused by the fuzzers
# (strict safetensors and GGUF readers, CLI helpers, ECSQ rate control). Tools link only
# libecqf's public API plus this library.
noinst_LTLIBRARIES += tools/libecqftools.la
tools_libecqftools_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/common
tools_libecqftools_la_SOURCES = \
	tools/common/safetensors.h tools/common/safetensors.c \
	tools/common/gguf.h tools/common/gguf.c \
	tools/common/cli.h tools/common/cli.c tools/common/text.h tools/common/text.c \
	tools/common/filemap.h tools/common/filemap.c \
	tools/common/ratecontrol.h tools/common/ratecontrol.c
tools_libecqftools_la_CFLAGS = $(AM_CFLAGS) $(ZSTD_CFLAGS)
tools_libecqftools_la_LIBADD = libecqf/libecqf.la $(ZSTD_LIBS) -lm

ECQF_TOOLS_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/common
ECQF_TOOLS_LDADD = tools/libecqftools.la libecqf/libecqf.la $(ZSTD_LIBS) -lm

bin_PROGRAMS += tools/ecqf-pack tools/ecqf-inspect tools/ecqf-unpack

tools_ecqf_pack_SOURCES = tools/ecqf-pack.c
tools_ecqf_pack_CPPFLAGS = $(ECQF_TOOLS_CPPFLAGS)
tools_ecqf_pack_CFLAGS = $(AM_CFLAGS) -pthread
tools_ecqf_pack_LDFLAGS = -pthread
tools_ecqf_pack_LDADD = $(ECQF_TOOLS_LDADD)

tools_ecqf_inspect_SOURCES = tools/ecqf-inspect.c
tools_ecqf_inspect_CPPFLAGS = $(ECQF_TOOLS_CPPFLAGS)
tools_ecqf_inspect_CFLAGS = $(AM_CFLAGS) $(ZSTD_CFLAGS)
tools_ecqf_inspect_LDADD = $(ECQF_TOOLS_LDADD)

tools_ecqf_unpack_SOURCES = tools/ecqf-unpack.c
tools_ecqf_unpack_CPPFLAGS = $(ECQF_TOOLS_CPPFLAGS)
tools_ecqf_unpack_LDADD = $(ECQF_TOOLS_LDADD)
