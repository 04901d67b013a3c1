# libecqf: common/ (errors, checked math, checksums, half floats), codec/ (rANS, prefix code,
# bit packing, tile layout), quant/ (quantizers), format/ (reader, writer), io/ (files).
# Dependency direction: format -> codec, quant -> common; io is used by format only.
noinst_LTLIBRARIES += libecqf/libecqf-core.la
libecqf_libecqf_core_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libecqf/common -I$(top_srcdir)/libecqf/codec -DECQF_BUILDING_LIBRARY
libecqf_libecqf_core_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off -fvisibility=hidden $(SODIUM_CFLAGS) $(ZSTD_CFLAGS)
libecqf_libecqf_core_la_SOURCES = \
	libecqf/common/internal.h libecqf/common/status.c libecqf/common/alloc.c \
	libecqf/common/halffloat.c libecqf/common/checksum.c libecqf/common/utf8.c \
	libecqf/codec/codec.h libecqf/codec/tiling.c libecqf/codec/rans.c \
	libecqf/codec/prefix.c libecqf/codec/rawpack.c libecqf/codec/fastdec.h libecqf/codec/fastdec.c \
	libecqf/quant/affine.c libecqf/quant/symmetric.c libecqf/quant/ecsq.c \
	libecqf/format/layout.h libecqf/format/reader.c libecqf/format/decode.c \
	libecqf/format/encode.c libecqf/format/writer.c \
	libecqf/io/fileio.h libecqf/io/fileio.c
libecqf_libecqf_core_la_LIBADD = $(SODIUM_LIBS) $(ZSTD_LIBS) -lm

lib_LTLIBRARIES += libecqf/libecqf.la
libecqf_libecqf_la_SOURCES =
libecqf_libecqf_la_LIBADD = libecqf/libecqf-core.la
libecqf_libecqf_la_LDFLAGS = -version-info $(ECQF_LT_VERSION) -export-symbols-regex '^ecqf_' -no-undefined
include_HEADERS = libecqf/ecqf.h
pkgconfig_DATA = libecqf/ecqf.pc
pkgconfigdir = $(libdir)/pkgconfig
