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
