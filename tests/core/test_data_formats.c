/* .npy, IDX and CSV: round trips, the bytes np.save writes, files written by NumPy
 * (tests/fixtures/gen_data_formats.py), a corpus of malformed files (each must fail with
 * a message naming the file and the problem, never crash or over-read: ASan watches),
 * atomic saves, and a replay of the three fuzz corpora.
 * Usage: test_data_formats [source-dir] (CMake passes LURN_SOURCE_DIR). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core.h"
#include "csv.h"
#include "fileio.h"
#include "idx.h"
#include "npy.h"
#include "../fuzz/csv_fuzz_opts.h"

#ifndef LURN_SOURCE_DIR
#define LURN_SOURCE_DIR "."
#endif

#include "check.h"

static const char *src_dir;
static char fixtures[1024];

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static uint8_t *slurp(const char *path, size_t *len) {
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
  *len = fread(p, 1, (size_t)n, f);
  fclose(f);
  return p;
}

static const char *fixture(const char *name) {
  static char path[2048];
  snprintf(path, sizeof path, "%s/%s", fixtures, name);
  return path;
}

static int has_shape(const lt_tensor *t, int ndim, const int64_t *shape) {
  if (!t || t->ndim != ndim) return 0;
  for (int i = 0; i < ndim; i++)
    if (t->shape[i] != shape[i]) return 0;
  return 1;
}
#define SHAPE(t, ...) has_shape(t, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* The error is "<op> '<name>': ..." and contains want. */
static int err_is(lt_ctx *c, const char *op, const char *name, const char *want) {
  char prefix[512];
  snprintf(prefix, sizeof prefix, "%s '%s': ", op, name);
  return strncmp(c->err, prefix, strlen(prefix)) == 0 && strstr(c->err, want) != NULL;
}

/* =================================================================================
 * .npy */

/* A .npy image: magic, version, header text padded to a multiple of 16, data. */
static uint8_t *npy_image(int major, const char *hdr, const void *data, size_t ndata, size_t *len) {
  size_t pre = major == 1 ? 10 : 12, hl = strlen(hdr);
  *len = pre + hl + ndata;
  uint8_t *p = calloc(1, *len ? *len : 1);
  memcpy(p, "\x93NUMPY", 6);
  p[6] = (uint8_t)major, p[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) p[8 + i] = (uint8_t)(hl >> (8 * i));
  memcpy(p + pre, hdr, hl);
  if (data) memcpy(p + pre + hl, data, ndata);
  return p;
}

static lt_tensor *npy_hdr(lt_ctx *c, const char *hdr, const void *data, size_t ndata) {
  size_t len;
  uint8_t *p = npy_image(1, hdr, data, ndata, &len);
  lt_tensor *t = lt_npy_parse(c, "case", p, len);
  free(p);
  return t;
}

static void test_npy_roundtrip(lt_ctx *c, const char *dir) {
  int64_t sh[2] = {2, 3}, sh0[2] = {0, 4}, sh1[1] = {4};
  lt_tensor *a = lt_arange(c, 0, 6, 1, LT_F32), *w = lt_reshape(c, a, 2, sh, 0);
  lt_f32(w)[0] = -0.0f, lt_f32(w)[1] = INFINITY, lt_f32(w)[2] = NAN, lt_f32(w)[3] = ldexpf(1, -149);
  lt_tensor *wt = lt_transpose(c, w, 0, 1); /* (3, 2), not contiguous */
  lt_tensor *l = lt_arange(c, -2, 2, 1, LT_I64);
  lt_i64(l)[0] = INT64_MIN, lt_i64(l)[3] = INT64_MAX;
  lt_tensor *b = lt_full(c, LT_BOOL, 1, sh1, 0);
  lt_u8(b)[2] = 1;
  lt_tensor *s = lt_scalar(c, LT_F32, 7.5), *e = lt_empty(c, LT_I64, 2, sh0);
  lt_tensor *ts[] = {w, wt, l, b, s, e};
  for (int i = 0; i < 6; i++) {
    uint8_t *buf;
    size_t len;
    CHECK(lt_npy_serialize(c, ts[i], &buf, &len) == 0, "%s", c->err);
    size_t hl = buf[8] | buf[9] << 8;
    CHECK((10 + hl) % 64 == 0 && buf[10 + hl - 1] == '\n', "tensor %d: data starts 64-byte aligned", i);
    lt_tensor *r = lt_npy_parse(c, "rt", buf, len);
    CHECK(r && r->dtype == ts[i]->dtype && lt_same_shape(r, ts[i]), "tensor %d: %s", i, r ? "shape" : c->err);
    for (int64_t k = 0; r && k < lt_numel(r); k++) {
      double x = lt_get(r, k), y = lt_get(ts[i], k);
      CHECK(x == y || (isnan(x) && isnan(y)), "tensor %d element %lld: %g vs %g", i, (long long)k, x, y);
    }
    if (r && r->dtype == LT_F32 && i == 0) CHECK(bits(lt_f32(r)[0]) == 0x80000000u, "-0.0 keeps its sign");
    if (r && r->dtype == LT_I64 && i == 2) CHECK(lt_i64(r)[0] == INT64_MIN && lt_i64(r)[3] == INT64_MAX, "int64 extremes");
    /* every strict prefix is refused (data must be covered exactly) */
    for (size_t k = 0; k < len; k++) {
      lt_tensor *p = lt_npy_parse(c, "prefix", buf, k);
      CHECK(!p && strstr(c->err, "read_npy 'prefix': "), "tensor %d: prefix of %zu bytes: %s", i, k, p ? "accepted" : c->err);
      lt_release(p);
    }
    /* every byte changed: fails cleanly or parses */
    for (size_t k = 0; k < len; k++) {
      uint8_t keep = buf[k];
      for (int v = 1; v < 256; v += 37) {
        buf[k] = (uint8_t)(keep ^ v);
        lt_release(lt_npy_parse(c, "flip", buf, len));
      }
      buf[k] = keep;
    }
    lt_release(r);
    free(buf);
  }

  /* through a file */
  char path[512];
  snprintf(path, sizeof path, "%s/x.npy", dir);
  CHECK(lt_npy_save(c, path, wt) == 0, "%s", c->err);
  lt_tensor *r = lt_npy_load(c, path);
  CHECK(r && SHAPE(r, 3, 2) && lt_is_contiguous(r), "%s", c->err);
  for (int k = 0; r && k < 6; k++)
    CHECK(bits((float)lt_get(r, k)) == bits((float)lt_get(wt, k)), "element %d", k);
  lt_release(r);
  unlink(path);
  lt_release(a), lt_release(w), lt_release(wt), lt_release(l), lt_release(b);
  lt_release(s), lt_release(e);
}

/* lurn's writer gives exactly np.save's bytes (gen_data_formats.py's w_*.npy). */
static void same_bytes(lt_ctx *c, const char *name, lt_tensor *t) {
  size_t want_len, len;
  uint8_t *want = slurp(fixture(name), &want_len), *got = NULL;
  CHECK(want, "missing fixture %s", name);
  CHECK(t && lt_npy_serialize(c, t, &got, &len) == 0, "%s", c->err);
  if (want && got)
    CHECK(len == want_len && !memcmp(got, want, len), "%s: lurn's bytes differ from np.save's:\n%.*s\n%.*s",
          name, (int)(len < 200 ? len : 200), (char *)got, (int)(want_len < 200 ? want_len : 200), (char *)want);
  free(want), free(got);
  lt_release(t);
}

static void test_npy_numpy_bytes(lt_ctx *c) {
  int64_t s23[2] = {2, 3}, s22[2] = {2, 2}, s03[2] = {0, 3}, s4d[4] = {1, 2, 3, 4}, s5[1] = {5};
  lt_tensor *f = lt_empty(c, LT_F32, 2, s23);
  float fv[6] = {0.5f, -1.25f, 3.0f, 1e-30f, -0.0f, 65504.0f};
  memcpy(lt_f32(f), fv, sizeof fv);
  same_bytes(c, "w_f32.npy", f);
  lt_tensor *l = lt_empty(c, LT_I64, 1, s5);
  int64_t lv[5] = {INT64_MIN, INT64_MAX, 0, -1, 42};
  memcpy(lt_i64(l), lv, sizeof lv);
  same_bytes(c, "w_i64.npy", l);
  lt_tensor *b = lt_full(c, LT_BOOL, 2, s22, 0);
  lt_u8(b)[0] = lt_u8(b)[3] = 1;
  same_bytes(c, "w_bool.npy", b);
  same_bytes(c, "w_scalar.npy", lt_scalar(c, LT_F32, 2.5));
  same_bytes(c, "w_empty.npy", lt_empty(c, LT_F32, 2, s03));
  lt_tensor *g = lt_arange(c, 0, 24, 1, LT_I64), *g4 = lt_reshape(c, g, 4, s4d, 0);
  for (int i = 0; i < 24; i++) lt_i64(g4)[i] *= 1000000007;
  same_bytes(c, "w_4d.npy", g4);
  lt_release(g);
}

/* The files NumPy wrote: dtype conversions, byte orders, versions, and refusals. */
static void test_npy_fixtures(lt_ctx *c) {
  lt_tensor *t = lt_npy_load(c, fixture("npy_f4.npy"));
  CHECK(t && t->dtype == LT_F32 && SHAPE(t, 2, 3), "%s", c->err);
  if (t) {
    float *v = lt_f32(t);
    CHECK(v[0] == 0.5f && v[1] == -1.25f && v[2] == ldexpf(1, -149) && bits(v[3]) == 0x80000000u &&
          v[4] == INFINITY && isnan(v[5]), "f4 values");
  }
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_f8.npy"));
  CHECK(t && t->dtype == LT_F32 && lt_f32(t)[0] == (float)(1.0 / 3) && lt_f32(t)[1] == INFINITY &&
        lt_f32(t)[2] == -2.5f && lt_f32(t)[3] == 0, "f8 -> float32: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_i8.npy"));
  CHECK(t && t->dtype == LT_I64 && lt_i64(t)[0] == INT64_MIN && lt_i64(t)[1] == INT64_MAX &&
        lt_i64(t)[3] == -1 && lt_i64(t)[4] == 42, "i8: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_i4.npy"));
  CHECK(t && t->dtype == LT_I64 && SHAPE(t, 2, 2) && lt_i64(t)[0] == INT32_MIN && lt_i64(t)[1] == INT32_MAX &&
        lt_i64(t)[2] == -7, "i4 sign-extends: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_u1.npy"));
  CHECK(t && t->dtype == LT_I64 && SHAPE(t, 1, 1, 3) && lt_i64(t)[1] == 255 && lt_i64(t)[2] == 7, "u1: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_u4.npy"));
  CHECK(t && lt_i64(t)[0] == 4294967295LL && lt_i64(t)[1] == 1, "u4 does not sign-extend: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_i2.npy"));
  CHECK(t && lt_i64(t)[0] == -32768 && lt_i64(t)[1] == 32767 && lt_i64(t)[2] == -1, "i2: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_b1.npy"));
  CHECK(t && t->dtype == LT_BOOL && SHAPE(t, 1, 3) && lt_u8(t)[0] == 1 && lt_u8(t)[1] == 0, "b1: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_be_f4.npy"));
  CHECK(t && lt_f32(t)[0] == 1.5f && lt_f32(t)[1] == -2 && lt_f32(t)[2] == 3.25f, "big-endian f4: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_be_i8.npy"));
  CHECK(t && lt_i64(t)[1] == -2 && lt_i64(t)[2] == (int64_t)1 << 40, "big-endian i8: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_be_i4.npy"));
  CHECK(t && lt_i64(t)[0] == -7 && lt_i64(t)[1] == INT32_MAX, "big-endian i4: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_scalar.npy"));
  CHECK(t && t->ndim == 0 && lt_f32(t)[0] == 7.5f, "0-d: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_empty.npy"));
  CHECK(t && SHAPE(t, 0, 3), "empty: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_v2.npy"));
  CHECK(t && SHAPE(t, 3) && lt_f32(t)[2] == 3, "version 2.0: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_v3.npy"));
  CHECK(t && SHAPE(t, 2, 3) && lt_i64(t)[5] == 5, "version 3.0: %s", c->err);
  lt_release(t);
  t = lt_npy_load(c, fixture("npy_fortran_1d.npy"));
  CHECK(t && SHAPE(t, 1, 2) && lt_f32(t)[1] == 2, "a Fortran-order row has C order's bytes: %s", c->err);
  lt_release(t);

  static const struct { const char *file, *want; } refused[] = {
    {"npy_fortran.npy", "fortran_order is True (column-major data, shape [2, 3])"},
    {"npy_object.npy", "dtype '|O' at byte 20 is an object array (pickled Python objects)"},
    {"npy_structured.npy", "structured dtype (a list of fields) is not supported"},
    {"npy_f2.npy", "unsupported dtype '<f2'"},
    {"npy_u8.npy", "dtype '<u8' (uint64) may not fit int64"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    t = lt_npy_load(c, fixture(refused[i].file));
    CHECK(!t && err_is(c, "read_npy", fixture(refused[i].file), refused[i].want), "%s: %s", refused[i].file,
          t ? "accepted" : c->err);
    lt_release(t);
  }
}

typedef struct {
  const char *hdr;
  size_t ndata;
  const char *want;
} npy_case;

#define H(d, f, s) "{'descr': " d ", 'fortran_order': " f ", 'shape': " s ", }"

static const npy_case npy_bad[] = {
  {"", 0, "expected '{' (the header is a Python dict), found the end of the header"},
  {"[]", 0, "header at byte 10: expected '{'"},
  {"{", 0, "expected a quoted string, found the end of the header"},
  {"{'descr': '<f4'", 0, "expected ',' or '}', found the end"},
  {"{'descr' '<f4'}", 0, "header at byte 19: expected ':', found '''"},
  {"{'descr: '<f4'}", 0, "unexpected key 'descr: '"},
  {"{'descr': '<f4', 'fortran_order': False}", 0, "header has no 'shape' key"},
  {"{'fortran_order': False, 'shape': ()}", 0, "header has no 'descr' key"},
  {"{'descr': '<f4', 'shape': ()}", 0, "header has no 'fortran_order' key"},
  {H("'<f4'", "False", "()") "x", 4, "unexpected bytes after the dict"},
  {H("'<f4'", "False", "(2,)") " 'extra': 1}", 8, "unexpected bytes after the dict"},
  {"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", 4, "unexpected key 'x'"},
  {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4, "duplicate key 'descr'"},
  {"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'shape': ()}", 4, "duplicate key 'shape'"},
  {"{'descr': '<f4", 4, "header at byte 20: unterminated string"},
  {H("<f4", "False", "()"), 4, "expected a quoted string"},
  {H("'<f4'", "false", "()"), 4, "expected True or False for 'fortran_order', found 'f'"},
  {H("'<f4'", "Falsey", "()"), 4, "expected True or False"},
  {H("'<f4'", "0", "()"), 4, "expected True or False"},
  {H("'<f4'", "False", "(3)"), 12, "'shape' is an int, not a tuple"},
  {H("'<f4'", "False", "3"), 12, "expected a tuple of integers for 'shape'"},
  {H("'<f4'", "False", "[3]"), 12, "expected a tuple of integers"},
  {H("'<f4'", "False", "(3 4)"), 48, "expected ',' or ')' in 'shape'"},
  {H("'<f4'", "False", "(3,,)"), 12, "expected an integer, found ','"},
  {H("'<f4'", "False", "(-3,)"), 0, "negative dimension in 'shape'"},
  {H("'<f4'", "False", "(3.0,)"), 12, "expected ',' or ')' in 'shape'"},
  {H("'<f4'", "False", "(99999999999999999999,)"), 0, "dimension out of range"},
  {H("'<f4'", "False", "(1,1,1,1,1,1,1,1,1)"), 4, "shape has more than 8 dimensions"},
  {H("'<f4'", "False", "(4294967296, 4294967296, 4294967296)"), 0, "shape [4294967296, 4294967296, 4294967296] is absurd: its byte size overflows"},
  {H("'<f8'", "False", "(2305843009213693952,)"), 0, "is absurd"},
  {H("'<f4'", "False", "(4611686018427387904, 0)"), 0, "shape [4611686018427387904, 0] is too large"},
  {H("'<f4'", "False", "(100000, 0)"), 0, NULL}, /* empty: fine */
  {H("'<f4'", "False", "(0, 1099511627776, 1099511627776)"), 0, "is too large"}, /* strides would overflow */
  {H("'<f4'", "False", "(1000000000, 1000000000)"), 16, "truncated: shape [1000000000, 1000000000] needs 4000000000000000000 data bytes but the file holds 16"},
  {H("'<f4'", "False", "(2, 3)"), 23, "truncated: shape [2, 3] needs 24 data bytes but the file holds 23 after the header (offset 69)"},
  {H("'<f4'", "False", "(2, 3)"), 25, "1 stray bytes after the data of shape [2, 3] (from offset 93)"},
  {H("'<f4'", "True", "(2, 3)"), 24, "fortran_order is True"},
  {H("'<f4'", "True", "(1, 3, 1)"), 12, NULL}, /* one dim > 1: same bytes */
  {H("'<f4'", "True", "(2, 0)"), 0, NULL},
  {H("'|O'", "False", "(2,)"), 16, "is an object array (pickled Python objects): lurn never unpickles"},
  {H("'O'", "False", "(2,)"), 16, "object array"},
  {H("[('a', '<f4')]", "False", "(2,)"), 8, "structured dtype (a list of fields) is not supported"},
  {H("'<c8'", "False", "(2,)"), 16, "unsupported dtype '<c8' at byte 20 (lurn reads f4, f8"},
  {H("'<U3'", "False", "(2,)"), 24, "unsupported dtype '<U3'"},
  {H("'<f16'", "False", "(2,)"), 32, "unsupported dtype '<f16'"},
  {H("'<f'", "False", "(2,)"), 8, "unsupported dtype '<f'"},
  {H("''", "False", "(2,)"), 8, "unsupported dtype ''"},
  {H("'<f4x'", "False", "(2,)"), 8, "unsupported dtype '<f4x'"},
  {H("'<f99999999999'", "False", "(2,)"), 8, "unsupported dtype"},
  {H("'\\x00'", "False", "(2,)"), 8, "unsupported dtype '\\x00'"},
  {H("'>u8'", "False", "(2,)"), 16, "(uint64) may not fit int64"},
  {"{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (1L,)}\n", 8, NULL}, /* double quotes, 1L */
  {"  {  'shape':(2,),'descr':'=i2','fortran_order':False}  \t\r\n", 4, NULL}, /* any order, spacing */
};

static void test_npy_malformed(lt_ctx *c) {
  for (size_t i = 0; i < sizeof npy_bad / sizeof *npy_bad; i++) {
    const npy_case *k = &npy_bad[i];
    uint8_t *data = calloc(1, k->ndata + 1);
    lt_tensor *t = npy_hdr(c, k->hdr, data, k->ndata);
    free(data);
    if (!k->want) CHECK(t, "case %zu (%s) was refused: %s", i, k->hdr, c->err);
    else CHECK(!t && err_is(c, "read_npy", "case", k->want), "case %zu (%s): %s", i, k->hdr, t ? "accepted" : c->err);
    lt_release(t);
  }
  /* framing, before the header */
  size_t len;
  uint8_t *p = npy_image(1, H("'<f4'", "False", "()"), "\0\0\0\0", 4, &len);
  CHECK(!lt_npy_parse(c, "case", p, 0) && err_is(c, "read_npy", "case", "file is 0 bytes, too short"), "%s", c->err);
  CHECK(!lt_npy_parse(c, "case", p, 3) && err_is(c, "read_npy", "case", "file is 3 bytes, too short"), "%s", c->err);
  CHECK(!lt_npy_parse(c, "case", (const uint8_t *)"PK\3\4", 4) && strstr(c->err, "not a .npy file (it does not start with \\x93NUMPY)"), "%s", c->err);
  CHECK(!lt_npy_parse(c, "case", (const uint8_t *)"\x93NUMPZ\1\0", 8) && strstr(c->err, "not a .npy file"), "%s", c->err);
  p[6] = 4;
  CHECK(!lt_npy_parse(c, "case", p, len) && strstr(c->err, "unsupported .npy format version 4.0 (lurn reads 1.0, 2.0 and 3.0)"), "%s", c->err);
  p[6] = 1, p[7] = 1;
  CHECK(!lt_npy_parse(c, "case", p, len) && strstr(c->err, "version 1.1"), "%s", c->err);
  p[7] = 0, p[8] = 0xff;
  CHECK(!lt_npy_parse(c, "case", p, len) && strstr(c->err, "header length 255 runs past the end of the"), "%s", c->err);
  free(p);
  p = npy_image(2, H("'<f4'", "False", "(1,)"), "\0\0\x80\x3f", 4, &len);
  lt_tensor *t = lt_npy_parse(c, "case", p, len);
  CHECK(t && lt_f32(t)[0] == 1.0f, "version 2.0 header length: %s", c->err);
  lt_release(t);
  p[11] = 0x80; /* a 2 GB header */
  CHECK(!lt_npy_parse(c, "case", p, len) && strstr(c->err, "runs past the end"), "%s", c->err);
  CHECK(!lt_npy_parse(c, "case", p, 11) && strstr(c->err, "file is 11 bytes, too short"), "%s", c->err);
  free(p);
}

static int count_tmp(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) n += strstr(de->d_name, ".tmp") != NULL;
  if (d) closedir(d);
  return n;
}

static void test_npy_save(lt_ctx *c, const char *dir) {
  char path[512], bogus[512], sub[512];
  snprintf(path, sizeof path, "%s/keep.npy", dir);
  lt_tensor *one = lt_scalar(c, LT_I64, 7);
  CHECK(lt_npy_save(c, path, one) == 0, "%s", c->err);
  snprintf(bogus, sizeof bogus, "%s/no/such/dir/x.npy", dir);
  CHECK(lt_npy_save(c, bogus, one) < 0 && err_is(c, "save_npy", bogus, "No such file or directory"), "%s", c->err);
  snprintf(sub, sizeof sub, "%s/adir", dir);
  mkdir(sub, 0755);
  CHECK(lt_npy_save(c, sub, one) < 0 && err_is(c, "save_npy", sub, "cannot replace the file"), "%s", c->err);
  CHECK(count_tmp(dir) == 0, "temporary file left behind");
  CHECK(!lt_npy_load(c, sub) && err_is(c, "read_npy", sub, "is a directory"), "%s", c->err);
  CHECK(!lt_npy_load(c, bogus) && err_is(c, "read_npy", bogus, "cannot open: No such file"), "%s", c->err);
  rmdir(sub);
  lt_tensor *r = lt_npy_load(c, path);
  CHECK(r && r->ndim == 0 && lt_i64(r)[0] == 7, "the file is intact: %s", c->err);
  lt_release(r);
  CHECK(truncate(path, 130) == 0, "truncate");
  CHECK(!lt_npy_load(c, path) && err_is(c, "read_npy", path, "truncated: shape [] needs 8 data bytes but the file holds 2"), "%s", c->err);
  unlink(path);
  lt_release(one);
}

/* =================================================================================
 * IDX */

static uint8_t *gzip_bytes(const uint8_t *p, size_t n, size_t *len) {
  z_stream z = {0};
  deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  size_t cap = deflateBound(&z, (uLong)n) + 32;
  uint8_t *out = malloc(cap);
  z.next_in = (Bytef *)p, z.avail_in = (uInt)n, z.next_out = out, z.avail_out = (uInt)cap;
  deflate(&z, Z_FINISH);
  *len = z.total_out;
  deflateEnd(&z);
  return out;
}

static void test_idx_fixtures(lt_ctx *c) {
  static const int64_t img[12] = {0, 1, 254, 255, 10, 20, 30, 40, 128, 0, 0, 7};
  const char *files[] = {"idx_images.idx", "idx_images.idx.gz", "idx_images_2members.idx.gz"};
  for (int i = 0; i < 3; i++) {
    lt_tensor *t = lt_idx_load(c, fixture(files[i]), LT_IDX_NATURAL);
    CHECK(t && t->dtype == LT_I64 && SHAPE(t, 3, 2, 2) && !memcmp(lt_i64(t), img, sizeof img), "%s: %s", files[i], c->err);
    lt_release(t);
    t = lt_idx_load(c, fixture(files[i]), LT_F32);
    CHECK(t && t->dtype == LT_F32 && SHAPE(t, 3, 2, 2) && lt_f32(t)[3] == 255 && lt_f32(t)[11] == 7, "%s as float32: %s", files[i], c->err);
    lt_release(t);
  }
  lt_tensor *t = lt_idx_load(c, fixture("idx_labels_gzip.bin"), LT_IDX_NATURAL);
  CHECK(t && SHAPE(t, 5) && lt_i64(t)[0] == 9 && lt_i64(t)[4] == 7, "gzip told by its magic: %s", c->err);
  lt_release(t);
  t = lt_idx_load(c, fixture("idx_sbyte.idx"), LT_IDX_NATURAL);
  CHECK(t && lt_i64(t)[0] == -128 && lt_i64(t)[1] == 127 && lt_i64(t)[2] == -1, "sbyte: %s", c->err);
  lt_release(t);
  t = lt_idx_load(c, fixture("idx_short.idx"), LT_IDX_NATURAL);
  CHECK(t && SHAPE(t, 2, 2) && lt_i64(t)[0] == -32768 && lt_i64(t)[1] == 32767 && lt_i64(t)[2] == -1, "short: %s", c->err);
  lt_release(t);
  t = lt_idx_load(c, fixture("idx_short.idx"), LT_F32);
  CHECK(t && lt_f32(t)[0] == -32768 && lt_f32(t)[2] == -1, "short as float32: %s", c->err);
  lt_release(t);
  t = lt_idx_load(c, fixture("idx_int.idx"), LT_I64);
  CHECK(t && lt_i64(t)[0] == INT32_MIN && lt_i64(t)[1] == INT32_MAX && lt_i64(t)[2] == -7, "int: %s", c->err);
  lt_release(t);
  t = lt_idx_load(c, fixture("idx_float.idx"), LT_IDX_NATURAL);
  CHECK(t && t->dtype == LT_F32 && lt_f32(t)[0] == 0.5f && lt_f32(t)[1] == -1.25f && lt_f32(t)[2] == INFINITY, "float: %s", c->err);
  lt_release(t);
  t = lt_idx_load(c, fixture("idx_double.idx"), LT_IDX_NATURAL);
  CHECK(t && lt_f32(t)[0] == (float)(1.0 / 3) && lt_f32(t)[1] == INFINITY && lt_f32(t)[2] == -2.5f, "double: %s", c->err);
  lt_release(t);
  t = lt_idx_load(c, fixture("idx_double.idx"), LT_I64);
  CHECK(!t && err_is(c, "read_idx", fixture("idx_double.idx"), "double data cannot be read as int64"), "%s", c->err);
}

static void test_idx_malformed(lt_ctx *c) {
  /* ubyte [2, 3] */
  uint8_t good[18] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6}, big[64];
  size_t gzlen;
  uint8_t *gz = gzip_bytes(good, sizeof good, &gzlen);
  lt_tensor *t = lt_idx_parse(c, "case", gz, gzlen, LT_IDX_NATURAL);
  CHECK(t && SHAPE(t, 2, 3) && lt_i64(t)[5] == 6, "%s", c->err);
  lt_release(t);
  /* every prefix of both is refused */
  for (size_t k = 0; k < sizeof good; k++) {
    t = lt_idx_parse(c, "case", good, k, LT_IDX_NATURAL);
    CHECK(!t && strstr(c->err, "read_idx 'case': "), "plain prefix %zu: %s", k, t ? "accepted" : c->err);
    lt_release(t);
  }
  for (size_t k = 0; k < gzlen; k++) {
    t = lt_idx_parse(c, "case", gz, k, LT_IDX_NATURAL);
    CHECK(!t && strstr(c->err, "read_idx 'case': "), "gzip prefix %zu: %s", k, t ? "accepted" : c->err);
    lt_release(t);
  }
  /* every byte changed: fails cleanly or parses */
  for (size_t k = 0; k < gzlen; k++) {
    uint8_t keep = gz[k];
    for (int v = 1; v < 256; v += 17) {
      gz[k] = (uint8_t)(keep ^ v);
      lt_release(lt_idx_parse(c, "flip", gz, gzlen, LT_IDX_NATURAL));
    }
    gz[k] = keep;
  }
  /* the CRC is checked */
  gz[gzlen - 8] ^= 1;
  CHECK(!lt_idx_parse(c, "case", gz, gzlen, LT_IDX_NATURAL) && strstr(c->err, "corrupt gzip data (incorrect data check)"), "%s", c->err);
  gz[gzlen - 8] ^= 1;
  /* junk after the gzip stream */
  uint8_t *junk = malloc(gzlen + 3);
  memcpy(junk, gz, gzlen), memcpy(junk + gzlen, "xyz", 3);
  CHECK(!lt_idx_parse(c, "case", junk, gzlen + 3, LT_IDX_NATURAL) && strstr(c->err, "unexpected bytes after the gzip stream"), "%s", c->err);
  free(junk);
  free(gz);
  /* stray decompressed bytes */
  memcpy(big, good, sizeof good), big[18] = 9;
  gz = gzip_bytes(big, 19, &gzlen);
  CHECK(!lt_idx_parse(c, "case", gz, gzlen, LT_IDX_NATURAL) && strstr(c->err, "1 stray bytes after the data of ubyte [2, 3] in the decompressed data"), "%s", c->err);
  free(gz);
  /* a short decompressed data section */
  gz = gzip_bytes(good, 16, &gzlen);
  CHECK(!lt_idx_parse(c, "case", gz, gzlen, LT_IDX_NATURAL) && strstr(c->err, "truncated: ubyte [2, 3] needs 6 data bytes but the decompressed data holds 4"), "%s", c->err);
  free(gz);
  /* a gzip header claiming more than the compressed bytes can hold: refused before allocating */
  uint8_t huge[12] = {0, 0, 8, 2, 0x10, 0, 0, 0, 0x10, 0, 0, 0};
  gz = gzip_bytes(huge, sizeof huge, &gzlen);
  CHECK(!lt_idx_parse(c, "case", gz, gzlen, LT_IDX_NATURAL) && strstr(c->err, "claim 72057594037927936 data bytes, more than"), "%s", c->err);
  free(gz);
  /* not gzip at all */
  CHECK(!lt_idx_parse(c, "case", (const uint8_t *)"\x1f\x8bxxxxxxxxxxxxxx", 16, LT_IDX_NATURAL) && strstr(c->err, "corrupt gzip data"), "%s", c->err);

  static const struct { uint8_t b[24]; size_t n; const char *want; } cases[] = {
    {{0}, 0, "the file is 0 bytes, too short for an IDX header"},
    {{0, 0, 8}, 3, "the file is 3 bytes, too short"},
    {{1, 0, 8, 1, 0, 0, 0, 1, 0}, 9, "not an IDX file: it starts with bytes 0x01 0x00, expected 0x00 0x00"},
    {{0, 0x80, 8, 1}, 4, "not an IDX file"},
    {{0, 0, 7, 1, 0, 0, 0, 1, 0}, 9, "unknown IDX data type 0x07 at byte 2"},
    {{0, 0, 0x0A, 1, 0, 0, 0, 1, 0}, 9, "unknown IDX data type 0x0a"},
    {{0, 0, 8, 0}, 4, "0 dimensions at byte 3 (lurn reads 1 to 8)"},
    {{0, 0, 8, 9}, 4, "9 dimensions at byte 3"},
    {{0, 0, 8, 255}, 4, "255 dimensions"},
    {{0, 0, 8, 2, 0, 0, 0, 1, 0, 0}, 10, "truncated header: 2 dimensions need 12 bytes, the file ends after 10"},
    {{0, 0, 8, 1, 0, 0, 0, 3, 1, 2}, 10, "truncated: ubyte [3] needs 3 data bytes but the file holds 2 after the header (offset 8)"},
    {{0, 0, 8, 1, 0, 0, 0, 1, 1, 2}, 10, "1 stray bytes after the data of ubyte [1] (from offset 9)"},
    {{0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0}, 15, "truncated: int [2] needs 8 data bytes but the file holds 7"},
    {{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 12, "truncated: ubyte [4294967295, 4294967295] needs 18446744065119617025 data bytes but the file holds 0"},
    {{0, 0, 0x0E, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 20, "are absurd: their byte size overflows"},
    {{0, 0, 8, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 16, "shape [0, 4294967295, 4294967295] is too large"},
    {{0, 0, 0x0E, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 7}, 16, NULL}, /* empty */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    t = lt_idx_parse(c, "case", cases[i].b, cases[i].n, LT_IDX_NATURAL);
    if (!cases[i].want) CHECK(t && lt_numel(t) == 0, "case %zu refused: %s", i, c->err);
    else CHECK(!t && err_is(c, "read_idx", "case", cases[i].want), "case %zu: %s", i, t ? "accepted" : c->err);
    lt_release(t);
  }
  CHECK(!lt_idx_load(c, "/nonexistent/x.idx", LT_IDX_NATURAL) && err_is(c, "read_idx", "/nonexistent/x.idx", "cannot open"), "%s", c->err);
}

/* =================================================================================
 * CSV */

static lt_csv *csv(lt_ctx *c, const char *text, lt_csv_opts o) {
  return lt_csv_parse(c, "case", (const uint8_t *)text, strlen(text), &o);
}

static int csv_is(lt_csv *r, int64_t rows, int64_t cols, const float *v) {
  if (!r || !SHAPE(r->t, rows, cols)) return 0;
  for (int64_t i = 0; i < rows * cols; i++)
    if (!(lt_f32(r->t)[i] == v[i] || (isnan(v[i]) && isnan(lt_f32(r->t)[i])))) return 0;
  return 1;
}

static const lt_csv_opts HDR = {1, ',', 0, NULL}, NOHDR = {0, ',', 0, NULL};

static void test_csv(lt_ctx *c) {
  lt_csv *r = csv(c, "a,b\n1,2\n3,4.5\n", HDR);
  CHECK(csv_is(r, 2, 2, (float[]){1, 2, 3, 4.5f}) && r->ncols == 2 && !strcmp(r->names[0], "a") &&
        !strcmp(r->names[1], "b"), "basic: %s", c->err);
  lt_csv_free(r);
  /* CRLF, lone CR, no final newline, blank lines, spaces around numbers, BOM */
  r = csv(c, "\xef\xbb\xbfx;y\r\n\r\n 1 ;\t-2e-1\r\r3;+4\n\n", (lt_csv_opts){1, ';', 0, NULL});
  CHECK(csv_is(r, 2, 2, (float[]){1, -0.2f, 3, 4}) && !strcmp(r->names[0], "x"), "line ends: %s", c->err);
  lt_csv_free(r);
  r = csv(c, "1\t2\n3\t4", (lt_csv_opts){0, '\t', 0, NULL});
  CHECK(csv_is(r, 2, 2, (float[]){1, 2, 3, 4}) && !r->names, "no header: %s", c->err);
  lt_csv_free(r);
  /* quotes: "" escapes, delimiters and newlines inside; names unescaped */
  r = csv(c, "\"a,\"\"1\"\"\",\"b\nc\",t\n\"1.5\",\" 2 \",\"x\"\"y\"\n", HDR);
  lt_csv_col cols[] = {{"b\nc", 0}, {"a,\"1\"", 0}};
  lt_csv *r2 = csv(c, "\"a,\"\"1\"\"\",\"b\nc\",t\n\"1.5\",\" 2 \",\"x\"\"y\"\n", (lt_csv_opts){1, ',', 2, cols});
  CHECK(!r && strstr(c->err, "line 3, column 3 ('t'): 'x\"y' is not a number"), "text column: %s", r ? "accepted" : c->err);
  CHECK(csv_is(r2, 1, 2, (float[]){2, 1.5f}) && !strcmp(r2->names[0], "b\nc") && !strcmp(r2->names[1], "a,\"1\""),
        "select around a text column: %s", c->err);
  lt_csv_free(r), lt_csv_free(r2);
  /* by index (0-based here; 1-based in Lua), repeated, mixed with names */
  lt_csv_col mix[] = {{NULL, 2}, {"a", 0}, {NULL, 2}};
  r = csv(c, "a,b,c\n1,2,3\n4,5,6\n", (lt_csv_opts){1, ',', 3, mix});
  CHECK(csv_is(r, 2, 3, (float[]){3, 1, 3, 6, 4, 6}) && !strcmp(r->names[0], "c") && !strcmp(r->names[2], "c"), "mixed: %s", c->err);
  lt_csv_free(r);
  /* header only: zero rows; special values */
  r = csv(c, "a,b\n", HDR);
  CHECK(r && SHAPE(r->t, 0, 2), "header only: %s", c->err);
  lt_csv_free(r);
  r = csv(c, "nan,inf,-Infinity,1e40,1e-50,-0\n", NOHDR);
  CHECK(csv_is(r, 1, 6, (float[]){NAN, INFINITY, -INFINITY, INFINITY, 0, 0}) && bits(lt_f32(r->t)[5]) == 0x80000000u, "specials: %s", c->err);
  lt_csv_free(r);
  /* a one-column file: an empty line is skipped, not an empty cell */
  r = csv(c, "v\n1\n\n2\n", HDR);
  CHECK(csv_is(r, 2, 1, (float[]){1, 2}), "%s", c->err);
  lt_csv_free(r);
  /* the process locale does not change the decimal point */
  if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
    r = csv(c, "1.5,2\n", NOHDR);
    CHECK(csv_is(r, 1, 2, (float[]){1.5f, 2}), "under a comma locale: %s", c->err);
    lt_csv_free(r);
    setlocale(LC_NUMERIC, "C");
  }

  static const struct { const char *text; int header; const char *want; } bad[] = {
    {"", 1, "the file is empty (no header)"},
    {"\n\r\n", 0, "the file is empty (no records)"},
    {"a,b\n1,\n", 1, "line 2, column 2 ('b'): empty cell"},
    {"a,b\n1,\"  \"\n", 1, "line 2, column 2 ('b'): empty cell"},
    {"a,b\n1,2\n3,abc\n", 1, "line 3, column 2 ('b'): 'abc' is not a number"},
    {"1,2\n3,4x\n", 0, "line 2, column 2: '4x' is not a number"},
    {"1,0x10\n", 0, "line 1, column 2: '0x10' is not a number"},
    {"1,1,5\n", 0, NULL},
    {"1;2\n", 0, "line 1, column 1: '1;2' is not a number"},
    {"a,b\n1,2\n3\n", 1, "line 3 has 1 fields, expected 2 (as in line 1)"},
    {"a,b\n1,2\n3,4,5\n", 1, "line 3 has 3 fields, expected 2"},
    {"\n\na,b\n\"x\ny\",2,3\n", 1, "line 4 has 3 fields, expected 2 (as in line 3)"},
    {"a,b\n1,\"2\n", 1, "line 2: unterminated quoted field"},
    {"a,b\n1,\"2\"3\n", 1, "line 2, column 2 ('b'): unexpected text after the closing quote: '3\\x0a'"},
    {"a,\"b\"c\n", 1, "line 1, column 2: unexpected text after the closing quote"},
        {"a,b\n1,\xff\n", 1, "'\\xff' is not a number"},
    {"x\n1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890\n",
     1, "line 2, column 1 ('x'): '1234567890123456789012345678901234567890...' (130 characters) is not a number"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    lt_csv_opts o = {bad[i].header, ',', 0, NULL};
    r = lt_csv_parse(c, "case", (const uint8_t *)bad[i].text, strlen(bad[i].text), &o);
    if (!bad[i].want) CHECK(r, "case %zu refused: %s", i, c->err);
    else CHECK(!r && err_is(c, "read_csv", "case", bad[i].want), "case %zu: %s", i, r ? "accepted" : c->err);
    lt_csv_free(r);
  }
  CHECK(!lt_csv_parse(c, "case", (const uint8_t *)"a,b\n1,2\0\n", 9, &HDR) &&
        err_is(c, "read_csv", "case", "line 2, column 2 ('b'): '2\\x00' is not a number"), "%s", c->err);
  /* column selection errors */
  lt_csv_col nope[] = {{"z", 0}}, far[] = {{NULL, 2}}, neg[] = {{NULL, -1}}, dup[] = {{"a", 0}};
  CHECK(!csv(c, "a,b\n1,2\n", (lt_csv_opts){1, ',', 1, nope}) && strstr(c->err, "no column named 'z' (the columns are 'a', 'b')"), "%s", c->err);
  CHECK(!csv(c, "a,b\n1,2\n", (lt_csv_opts){1, ',', 1, far}) && strstr(c->err, "column 3 is out of range (the file has 2 columns)"), "%s", c->err);
  CHECK(!csv(c, "a,b\n1,2\n", (lt_csv_opts){1, ',', 1, neg}) && strstr(c->err, "column 0 is out of range"), "%s", c->err);
  CHECK(!csv(c, "a,b,a\n1,2,3\n", (lt_csv_opts){1, ',', 1, dup}) && strstr(c->err, "column name 'a' is ambiguous: columns 1 and 3"), "%s", c->err);
  CHECK(!csv(c, "1,2\n", (lt_csv_opts){0, ',', 1, dup}) && strstr(c->err, "column 'a' is selected by name, but there is no header"), "%s", c->err);
  CHECK(!csv(c, "1,2\n", (lt_csv_opts){0, '"', 0, NULL}) && strstr(c->err, "the delimiter cannot be a quote"), "%s", c->err);
  /* a column that is not selected may hold text; a selected one is checked everywhere */
  lt_csv_col second[] = {{NULL, 1}};
  r = csv(c, "name,v\nann,1\n\"b,o\"\"b\",2\n", (lt_csv_opts){1, ',', 1, second});
  CHECK(csv_is(r, 2, 1, (float[]){1, 2}) && !strcmp(r->names[0], "v"), "%s", c->err);
  lt_csv_free(r);
  CHECK(!lt_csv_load(c, "/nonexistent/x.csv", &HDR) && err_is(c, "read_csv", "/nonexistent/x.csv", "cannot open"), "%s", c->err);

  /* the fixtures */
  r = lt_csv_load(c, fixture("csv_quoted.csv"), &HDR);
  CHECK(!r && strstr(c->err, "line 2, column 2 ('name, full'): 'Ann' is not a number"), "%s", r ? "accepted" : c->err);
  lt_csv_col num[] = {{NULL, 0}, {"say \"hi\"", 0}, {"value", 0}};
  r = lt_csv_load(c, fixture("csv_quoted.csv"), &(lt_csv_opts){1, ',', 3, num});
  CHECK(csv_is(r, 4, 3, (float[]){1, 2.5f, -1000, 2, 0.5f, 3, 3, NAN, -INFINITY, 4, 0.01f, 0.1f}) &&
        !strcmp(r->names[0], "id") && !strcmp(r->names[1], "say \"hi\""), "csv_quoted.csv: %s", c->err);
  lt_csv_free(r);
  r = lt_csv_load(c, fixture("csv_savetxt.csv"), &HDR);
  lt_tensor *want = lt_npy_load(c, fixture("csv_savetxt_values.npy"));
  CHECK(r && want && lt_same_shape(r->t, want) && !memcmp(lt_f32(r->t), lt_f32(want), 12 * sizeof(float)),
        "np.savetxt's %%.18e text reads back to the exact float32 values: %s", c->err);
  lt_csv_free(r);
  lt_release(want);
}

/* The reader's fast decimal path against strtof, bit for bit: random floats at many
 * precisions, exact midpoints between floats (where rounding twice would go wrong),
 * long and short digit strings with exponents, subnormals, huge values. */
static uint64_t lcg = 88172645463325252ULL;
static uint64_t rnd(void) { return lcg ^= lcg << 13, lcg ^= lcg >> 7, lcg ^= lcg << 17; }

static void test_csv_numbers(lt_ctx *c) {
  size_t n = 120000, cap = n * 48, len = 0;
  char *text = malloc(cap), cell[64];
  char **cells = malloc(n * sizeof *cells);
  static const char *fmts[] = {"%.6g", "%.7g", "%.8g", "%.9g", "%.9e", "%.12g", "%.17g", "%g", "%.3f"};
  for (size_t i = 0; i < n; i++) {
    uint32_t u = (uint32_t)rnd();
    float f;
    memcpy(&f, &u, 4);
    if (!isfinite(f)) f = 1.5f;
    int kind = (int)(rnd() % 4);
    if (kind == 0) { /* a float at some precision */
      snprintf(cell, sizeof cell, fmts[rnd() % 9], (double)f);
    } else if (kind == 1) { /* near or exactly on the midpoint of two floats */
      double mid = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
      snprintf(cell, sizeof cell, (const char *[]){"%.17g", "%.16g", "%.15g", "%.9g"}[rnd() % 4], mid);
    } else if (kind == 2) { /* digits and an exponent */
      int nd = 1 + (int)(rnd() % 20), o = 0;
      if (rnd() % 2) cell[o++] = '-';
      for (int d = 0; d < nd; d++) {
        if (d == (int)(rnd() % (unsigned)nd) && !strchr(cell, '.')) cell[o++] = '.';
        cell[o++] = (char)('0' + rnd() % 10);
      }
      cell[o] = 0;
      if (rnd() % 2) snprintf(cell + o, sizeof cell - (size_t)o, "e%d", (int)(rnd() % 100) - 50);
    } else { /* small integers and plain decimals */
      snprintf(cell, sizeof cell, rnd() % 2 ? "%d" : "%d.%02d", (int)(rnd() % 2000000) - 1000000, (int)(rnd() % 100));
    }
    cells[i] = strdup(cell);
    len += (size_t)snprintf(text + len, cap - len, "%s\n", cell);
  }
  lt_csv *r = lt_csv_parse(c, "numbers", (const uint8_t *)text, len, &NOHDR);
  CHECK(r && SHAPE(r->t, (int64_t)n, 1), "%s", c->err);
  int bad = 0;
  for (size_t i = 0; r && i < n; i++) {
    float want = strtof(cells[i], NULL), got = lt_f32(r->t)[i];
    if (bits(want) != bits(got) && bad++ < 5) fprintf(stderr, "'%s': %a, strtof says %a\n", cells[i], got, want);
  }
  CHECK(bad == 0, "%d numbers differ from strtof", bad);
  for (size_t i = 0; i < n; i++) free(cells[i]);
  free(cells);
  free(text);
  lt_csv_free(r);
}

/* Rows of a large file read fast: no per-cell allocation. */
static void test_csv_large(lt_ctx *c) {
  size_t rows = 200000, cap = rows * 40, n = 0;
  char *text = malloc(cap);
  n += (size_t)snprintf(text, cap, "a,b,c,d\n");
  for (size_t i = 0; i < rows; i++) n += (size_t)snprintf(text + n, cap - n, "%zu,%.6f,-%zu.5,1e-3\n", i, i * 0.001, i % 97);
  lt_csv *r = lt_csv_parse(c, "large", (const uint8_t *)text, n, &HDR);
  CHECK(r && SHAPE(r->t, (int64_t)rows, 4) && lt_f32(r->t)[4 * (rows - 1)] == (float)(rows - 1), "%s", c->err);
  lt_csv_free(r);
  free(text);
}

/* =================================================================================
 * the fuzz corpora: every file parses or fails cleanly with the file's name */

static void replay(lt_ctx *c, const char *fmt) {
  char dir[1024], path[2048];
  snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus_%s", src_dir, fmt);
  DIR *d = opendir(dir);
  CHECK(d, "cannot open the fuzz corpus %s", dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) {
    if (de->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    size_t len = 0;
    uint8_t *buf = slurp(path, &len);
    CHECK(buf, "cannot read %s", path);
    if (!buf) continue;
    if (!strcmp(fmt, "npy")) {
      lt_tensor *t = lt_npy_parse(c, "corpus", buf, len);
      CHECK(t || strstr(c->err, "read_npy 'corpus': ") == c->err, "%s: %s", path, c->err);
      lt_release(t);
    } else if (!strcmp(fmt, "idx")) {
      lt_tensor *t = lt_idx_parse(c, "corpus", buf, len, LT_IDX_NATURAL);
      CHECK(t || strstr(c->err, "read_idx 'corpus': ") == c->err, "%s: %s", path, c->err);
      lt_release(t);
      lt_release(lt_idx_parse(c, "corpus", buf, len, LT_F32));
    } else {
      for (size_t k = 0; k < CSV_FUZZ_NOPTS; k++) {
        lt_csv *r = lt_csv_parse(c, "corpus", buf, len, &csv_fuzz_opts[k]);
        CHECK(r || strstr(c->err, "read_csv 'corpus': ") == c->err, "%s: %s", path, c->err);
        lt_csv_free(r);
      }
    }
    free(buf);
    n++;
  }
  if (d) closedir(d);
  CHECK(n > 0, "empty fuzz corpus in %s", dir);
}

int main(int argc, char **argv) {
  src_dir = argc > 1 ? argv[1] : LURN_SOURCE_DIR;
  snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures/data_formats", src_dir);
  lt_ctx *c = lt_ctx_new();
  char tmpdir[] = "/tmp/lurn_df_XXXXXX";
  CHECK(mkdtemp(tmpdir), "mkdtemp");
  test_npy_roundtrip(c, tmpdir);
  test_npy_numpy_bytes(c);
  test_npy_fixtures(c);
  test_npy_malformed(c);
  test_npy_save(c, tmpdir);
  test_idx_fixtures(c);
  test_idx_malformed(c);
  test_csv(c);
  test_csv_numbers(c);
  test_csv_large(c);
  replay(c, "npy");
  replay(c, "idx");
  replay(c, "csv");
  rmdir(tmpdir);
  CHECK(c->live_bytes == 0, "%zu tensor bytes leaked", c->live_bytes);
  lt_ctx_free(c);
  if (failures) fprintf(stderr, "test_data_formats: %d checks failed\n", failures);
  else printf("test_data_formats: all passed\n");
  return failures != 0;
}
