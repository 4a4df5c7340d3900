/* safetensors: round trips, the Python-written fixture, every dtype conversion, a corpus
 * of malformed files (each must fail with a message naming the problem, never crash),
 * atomic saves under failure, and a replay of the fuzz corpus.
 * Usage: test_safetensors [source-dir] (CMake passes LURN_SOURCE_DIR). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "safetensors.h"

#ifndef LURN_SOURCE_DIR
#define LURN_SOURCE_DIR "."
#endif

#include "check.h"

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static lt_tensor *find(lt_st_file *f, const char *name) {
  for (size_t i = 0; f && i < f->n; i++)
    if (!strcmp(f->tensors[i].name, name)) return f->tensors[i].t;
  return NULL;
}

static const char *meta(lt_st_file *f, const char *key) {
  for (size_t i = 0; f && i < f->nmeta; i++)
    if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
  return NULL;
}

/* A file image: 8-byte length of json, json, then ndata bytes of data (or zeros). */
static uint8_t *image(const char *json, const void *data, size_t ndata, size_t *len) {
  size_t hl = strlen(json);
  *len = 8 + hl + ndata;
  uint8_t *p = calloc(1, *len);
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)hl >> (8 * i));
  memcpy(p + 8, json, hl);
  if (data) memcpy(p + 8 + hl, data, ndata);
  return p;
}

static lt_st_file *parse_json(lt_ctx *c, const char *json, const void *data, size_t ndata) {
  size_t len;
  uint8_t *p = image(json, data, ndata, &len);
  lt_st_file *f = lt_st_parse(c, "case", p, len);
  free(p);
  return f;
}

/* ---- writer round trips ---- */

static void test_roundtrip(lt_ctx *c) {
  int64_t sh[2] = {2, 3}, sh1[1] = {5}, sh0[2] = {0, 4};
  lt_tensor *a = lt_arange(c, 0, 6, 1, LT_F32), *w = lt_reshape(c, a, 2, sh, 0);
  lt_tensor *wt = lt_transpose(c, w, 0, 1); /* (3, 2), not contiguous */
  lt_tensor *l = lt_arange(c, -2, 3, 1, LT_I64);
  lt_set(l, 4, 0), lt_i64(l)[0] = INT64_MIN, lt_i64(l)[1] = INT64_MAX;
  lt_tensor *b = lt_full(c, LT_BOOL, 1, sh1, 0);
  lt_set(b, 1, 1), lt_set(b, 4, 1);
  lt_tensor *s = lt_scalar(c, LT_F32, -0.0), *e = lt_empty(c, LT_F32, 2, sh0);
  const char *names[] = {"mask", "fc1.weight", "z", "steps", "a.b.c", "empty"};
  lt_tensor *ts[] = {b, wt, s, l, w, e};
  const char *keys[] = {"quote\"and\\slash", "epoch"}, *vals[] = {"\x01\n\tλ", "3"};
  uint8_t *buf;
  size_t len;
  CHECK(lt_st_serialize(c, 6, names, ts, 2, keys, vals, &buf, &len) == 0, "%s", c->err);
  uint64_t hl = 0;
  for (int i = 0; i < 8; i++) hl |= (uint64_t)buf[i] << (8 * i);
  CHECK((8 + hl) % 8 == 0, "data must start 8-byte aligned (header %llu)", (unsigned long long)hl);
  CHECK(len == 8 + hl + 5 * 8 + 6 * 4 * 2 + 4 + 5, "file size %zu", len);
  const char *want = "{\"__metadata__\":{\"epoch\":\"3\",\"quote\\\"and\\\\slash\":\"\\u0001\\u000a\\u0009λ\"},"
                     "\"steps\":{\"dtype\":\"I64\",\"shape\":[5],\"data_offsets\":[0,40]},"
                     "\"a.b.c\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[40,64]}";
  CHECK(!memcmp(buf + 8, want, strlen(want)), "header: %.*s", (int)hl, (char *)buf + 8);

  lt_st_file *f = lt_st_parse(c, "rt", buf, len);
  CHECK(f && f->n == 6 && f->nmeta == 2, "%s", c->err);
  if (f) {
    /* data-section order: 8-byte dtypes first, then by name */
    const char *order[] = {"steps", "a.b.c", "empty", "fc1.weight", "z", "mask"};
    for (int i = 0; i < 6; i++) CHECK(!strcmp(f->tensors[i].name, order[i]), "#%d is %s", i, f->tensors[i].name);
    lt_tensor *r = find(f, "fc1.weight");
    CHECK(r && r->ndim == 2 && r->shape[0] == 3 && r->shape[1] == 2 && r->dtype == LT_F32, "shape");
    for (int i = 0; r && i < 6; i++) CHECK(lt_get(r, i) == lt_get(wt, i), "transposed element %d", i);
    r = find(f, "steps");
    CHECK(r && r->dtype == LT_I64 && lt_i64(r)[0] == INT64_MIN && lt_i64(r)[1] == INT64_MAX &&
          lt_i64(r)[3] == 1, "int64 values");
    r = find(f, "mask");
    CHECK(r && r->dtype == LT_BOOL && lt_u8(r)[1] == 1 && lt_u8(r)[0] == 0 && lt_u8(r)[4] == 1, "bools");
    r = find(f, "z");
    CHECK(r && r->ndim == 0 && bits(lt_f32(r)[0]) == 0x80000000u, "0-d -0.0");
    r = find(f, "empty");
    CHECK(r && r->ndim == 2 && r->shape[0] == 0 && r->shape[1] == 4, "empty shape");
    CHECK(meta(f, "epoch") && !strcmp(meta(f, "epoch"), "3"), "metadata");
    CHECK(meta(f, "quote\"and\\slash") && !strcmp(meta(f, "quote\"and\\slash"), "\x01\n\tλ"),
          "escaped metadata");
  }
  /* the bytes do not depend on the order given */
  const char *names2[] = {"empty", "a.b.c", "steps", "z", "fc1.weight", "mask"};
  lt_tensor *ts2[] = {e, w, l, s, wt, b};
  const char *keys2[] = {"epoch", "quote\"and\\slash"}, *vals2[] = {"3", "\x01\n\tλ"};
  uint8_t *buf2;
  size_t len2;
  CHECK(lt_st_serialize(c, 6, names2, ts2, 2, keys2, vals2, &buf2, &len2) == 0, "%s", c->err);
  CHECK(len2 == len && !memcmp(buf, buf2, len), "deterministic bytes");
  free(buf2);

  /* every strict prefix is refused (the data section must be covered exactly) */
  for (size_t k = 0; k < len; k++) {
    lt_st_file *p = lt_st_parse(c, "prefix", buf, k);
    CHECK(!p, "prefix of %zu bytes accepted", k);
    lt_st_free(p);
  }
  /* every single-byte corruption either fails cleanly or parses (ASan watches) */
  for (size_t k = 0; k < len; k++) {
    uint8_t keep = buf[k];
    for (int v = 0; v < 256; v += 51) {
      buf[k] = (uint8_t)(keep ^ (v | 1));
      lt_st_free(lt_st_parse(c, "flip", buf, len));
    }
    buf[k] = keep;
  }

  /* writer refusals */
  const char *dup[] = {"x", "x"}, *reserved[] = {"__metadata__"}, *badutf[] = {"\xff"};
  lt_tensor *two[] = {s, s};
  CHECK(lt_st_serialize(c, 2, dup, two, 0, NULL, NULL, &buf2, &len2) < 0 &&
        strstr(c->err, "duplicate tensor name 'x'"), "%s", c->err);
  CHECK(lt_st_serialize(c, 1, reserved, two, 0, NULL, NULL, &buf2, &len2) < 0 &&
        strstr(c->err, "reserved"), "%s", c->err);
  CHECK(lt_st_serialize(c, 1, badutf, two, 0, NULL, NULL, &buf2, &len2) < 0 &&
        strstr(c->err, "UTF-8"), "%s", c->err);
  const char *k2[] = {"k", "k"}, *v2[] = {"1", "2"};
  CHECK(lt_st_serialize(c, 0, NULL, NULL, 2, k2, v2, &buf2, &len2) < 0 &&
        strstr(c->err, "duplicate metadata key"), "%s", c->err);
  /* nothing at all is a valid (empty) file */
  CHECK(lt_st_serialize(c, 0, NULL, NULL, 0, NULL, NULL, &buf2, &len2) == 0 && len2 == 16 &&
        !memcmp(buf2 + 8, "{}      ", 8), "empty file");
  lt_st_file *ef = lt_st_parse(c, "empty", buf2, len2);
  CHECK(ef && ef->n == 0 && ef->nmeta == 0, "%s", c->err);
  lt_st_free(ef);
  free(buf2);

  lt_st_free(f);
  free(buf);
  lt_release(a), lt_release(w), lt_release(wt), lt_release(l), lt_release(b);
  lt_release(s), lt_release(e);
}

/* ---- dtype conversions ---- */

static float ref_half(uint16_t h) { /* the definition, in double */
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 31 ? (m ? NAN : INFINITY) : e ? (1 + m / 1024.0) * pow(2, e - 15) : m * pow(2, -24);
  return (float)((h >> 15) ? -v : v);
}

static void test_conversions(lt_ctx *c) {
  /* every half and every bfloat16 value */
  uint8_t *raw = malloc(65536 * 2);
  for (int i = 0; i < 65536; i++) raw[2 * i] = (uint8_t)i, raw[2 * i + 1] = (uint8_t)(i >> 8);
  lt_st_file *f = parse_json(c, "{\"h\":{\"dtype\":\"F16\",\"shape\":[65536],\"data_offsets\":[0,131072]}}", raw, 131072);
  lt_st_file *g = parse_json(c, "{\"b\":{\"dtype\":\"BF16\",\"shape\":[256,256],\"data_offsets\":[0,131072]}}", raw, 131072);
  CHECK(f && g, "%s", c->err);
  int bad_h = 0, bad_b = 0;
  for (int i = 0; f && g && i < 65536; i++) {
    float h = lt_f32(f->tensors[0].t)[i], r = ref_half((uint16_t)i);
    if (isnan(r) ? !isnan(h) || bits(h) >> 31 != (unsigned)i >> 15 : bits(h) != bits(r)) bad_h++;
    if (bits(lt_f32(g->tensors[0].t)[i]) != (uint32_t)i << 16) bad_b++;
  }
  CHECK(bad_h == 0, "%d half values converted wrong", bad_h);
  CHECK(bad_b == 0, "%d bfloat16 values converted wrong", bad_b);
  lt_st_free(f), lt_st_free(g);
  free(raw);

  double d[6] = {1.0 / 3, 1e300, -1e300, 1e-50, 1e-40, NAN};
  uint8_t dl[48];
  for (int i = 0; i < 6; i++) {
    uint64_t u;
    memcpy(&u, &d[i], 8);
    for (int k = 0; k < 8; k++) dl[8 * i + k] = (uint8_t)(u >> (8 * k));
  }
  f = parse_json(c, "{\"d\":{\"dtype\":\"F64\",\"shape\":[6],\"data_offsets\":[0,48]}}", dl, 48);
  CHECK(f, "%s", c->err);
  if (f) {
    float *v = lt_f32(f->tensors[0].t);
    CHECK(v[0] == (float)(1.0 / 3) && v[1] == INFINITY && v[2] == -INFINITY && v[3] == 0 &&
          v[4] == (float)1e-40 && isnan(v[5]), "F64 -> F32");
  }
  lt_st_free(f);

  /* I32 sign-extends, U8 does not, BOOL bytes other than 0 become true; all misaligned */
  uint8_t mixed[] = {0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x80, 0xfe, 0xff, 0xff, 0xff,
                     0xff, 0x80, 0x00, 0x02, 0x00, 0x01};
  f = parse_json(c, "{\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[15,18]},"
                    "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[12,15]},"
                    "\"i\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]}}", mixed, 18);
  CHECK(f && f->n == 3, "%s", c->err);
  if (f) {
    int64_t *i = lt_i64(find(f, "i")), *u = lt_i64(find(f, "u"));
    uint8_t *b = lt_u8(find(f, "b"));
    CHECK(i[0] == INT32_MAX && i[1] == INT32_MIN && i[2] == -2, "I32 -> I64");
    CHECK(u[0] == 255 && u[1] == 128 && u[2] == 0 && find(f, "u")->dtype == LT_I64, "U8 -> I64");
    CHECK(b[0] == 1 && b[1] == 0 && b[2] == 1, "BOOL normalised to 0/1");
    CHECK(!strcmp(f->tensors[0].name, "i") && !strcmp(f->tensors[2].name, "b"), "data order");
  }
  lt_st_free(f);

  /* whitespace, escapes and an empty name are all fine */
  uint8_t four[4] = {0, 0, 0x80, 0x3f};
  f = parse_json(c, " {\n\t\"\" : { \"shape\" : [ ] , \"data_offsets\" : [ 0 , 4 ] , \"dtype\" : \"F32\" } ,"
                    " \"__metadata__\" : { \"k\\u00e9\\ud83d\\ude00\\/\" : \"\" } }\r\n   ", four, 4);
  CHECK(f && f->n == 1 && !strcmp(f->tensors[0].name, "") && lt_f32(f->tensors[0].t)[0] == 1.0f &&
        f->nmeta == 1 && !strcmp(f->meta[0].key, "k\xc3\xa9\xf0\x9f\x98\x80/"), "%s", c->err);
  lt_st_free(f);
}

/* ---- malformed files ---- */

typedef struct {
  const char *json; /* NULL: raw bytes below */
  size_t ndata;
  const char *expect;
} bad_case;

#define T1(fields) "{\"t\":{" fields "}}"
#define F32_6 "\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]"

static const bad_case bad_cases[] = {
  {"", 0, "expected '{'"},
  {"hello", 0, "expected '{'"},
  {"[]", 0, "expected '{'"},
  {"{", 0, "found the end of the header"},
  {"{\"t\":{\"dtype\":\"F32\"", 0, "found the end of the header"},
  {"{\"t\":" "{" F32_6 "},}", 24, "expected a string"},
  {"{} x", 0, "unexpected bytes after the header object"},
  {"{}}", 0, "unexpected bytes after the header object"},
  {"{\"t\" " F32_6 "}", 24, "expected ':'"},
  {"{\"t\":{" F32_6 "} \"u\":{}}", 24, "expected ',' or '}'"},
  {"{\"t\":5}", 0, "expected '{' (a tensor entry)"},
  {"{\"t\":null}", 0, "expected '{' (a tensor entry)"},
  {"{\"abc", 0, "unterminated string"},
  {"{\"a\\", 0, "unterminated string"},
  {"{\"a\\qb\":{}}", 0, "invalid escape"},
  {"{\"a\\u12G4\":{}}", 0, "invalid escape"},
  {"{\"a\\u12\":{}}", 0, "invalid escape"},
  {"{\"a\\ud800\":{}}", 0, "unpaired surrogate"},
  {"{\"a\\ud800\\u0041\":{}}", 0, "unpaired surrogate"},
  {"{\"a\\udc00\":{}}", 0, "unpaired surrogate"},
  {"{\"a\\u0000\":{}}", 0, "NUL character"},
  {"{\"a\x01\":{}}", 0, "control character 0x01"},
  {"{\"a\xff\":{}}", 0, "invalid UTF-8"},
  {"{\"a\xc0\x80\":{}}", 0, "invalid UTF-8"},           /* overlong NUL */
  {"{\"a\xed\xa0\x80\":{}}", 0, "invalid UTF-8"},       /* encoded surrogate */
  {"{\"a\xf4\x90\x80\x80\":{}}", 0, "invalid UTF-8"},   /* past U+10FFFF */
  {"{\"a\xe2\x82\":{}}", 0, "invalid UTF-8"},           /* cut short by the quote */
  {T1("\"dtype\":\"F32\",\"shape\":[2.0,3],\"data_offsets\":[0,24]"), 24, "fraction or exponent"},
  {T1("\"dtype\":\"F32\",\"shape\":[2e0,3],\"data_offsets\":[0,24]"), 24, "fraction or exponent"},
  {T1("\"dtype\":\"F32\",\"shape\":[02,3],\"data_offsets\":[0,24]"), 24, "leading zero"},
  {T1("\"dtype\":\"F32\",\"shape\":[+2,3],\"data_offsets\":[0,24]"), 24, "expected an integer"},
  {T1("\"dtype\":\"F32\",\"shape\":[-,3],\"data_offsets\":[0,24]"), 24, "expected an integer"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]"), 8, "expected an integer"},
  {T1("\"dtype\":\"F32\",\"shape\":[2 3],\"data_offsets\":[0,24]"), 24, "expected ',' or ']'"},
  {T1("\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]"), 8, "expected '[' (an array of integers)"},
  {T1("\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]"), 8, "integer out of range"},
  {T1("\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]"), 8, "integer out of range"},
  {T1("\"dtype\":\"F32\",\"shape\":[-1,3],\"data_offsets\":[0,24]"), 24, "negative dimension in shape [-1, 3]"},
  {T1("\"dtype\":\"F32\",\"shape\":[-9223372036854775808],\"data_offsets\":[0,8]"), 8, "negative dimension"},
  {T1("\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,8]"), 8, "overflows"},
  {T1("\"dtype\":\"F64\",\"shape\":[2305843009213693952,1],\"data_offsets\":[0,0]"), 0, "overflows"},
  {T1("\"dtype\":\"F32\",\"shape\":[4611686018427387904,0],\"data_offsets\":[0,8]"), 8, "needs 0 bytes"},
  {T1("\"dtype\":\"F32\",\"shape\":[4611686018427387904,0],\"data_offsets\":[0,0]"), 0, "tensor 't': shape [4611686018427387904, 0] is too large"},
  {T1("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]"), 4, "shape has more than 8 entries"},
  {T1("\"dtype\":\"F33\",\"shape\":[2,3],\"data_offsets\":[0,24]"), 24, "unknown dtype 'F33'"},
  {T1("\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]"), 6, "unsupported dtype 'I8'"},
  {T1("\"dtype\":\"f32\",\"shape\":[2,3],\"data_offsets\":[0,24]"), 24, "unknown dtype 'f32'"},
  {T1("\"dtype\":5,\"shape\":[2,3],\"data_offsets\":[0,24]"), 24, "expected a string"},
  {T1("\"shape\":[2,3],\"data_offsets\":[0,24]"), 24, "tensor 't': missing field 'dtype'"},
  {T1("\"dtype\":\"F32\",\"data_offsets\":[0,24]"), 24, "missing field 'shape'"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3]"), 24, "missing field 'data_offsets'"},
  {"{\"t\":{}}", 0, "missing field 'dtype'"},
  {T1(F32_6 ",\"extra\":1"), 24, "tensor 't': unknown field 'extra'"},
  {T1(F32_6 ",\"dtype\":\"F32\""), 24, "duplicate field 'dtype'"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0]"), 24, "data_offsets must be [begin, end]"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[]"), 24, "data_offsets must be [begin, end]"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24,48]"), 48, "data_offsets has more than 2 entries"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]"), 24, "invalid data_offsets [24, 0]"},
  {T1("\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-4,0]"), 0, "invalid data_offsets [-4, 0]"},
  {T1(F32_6), 20, "run past the end of the 20-byte data section (truncated file?)"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,9223372036854775807]"), 24, "run past the end"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]"), 24, "shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] hold 20"},
  {T1("\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,24]"), 24, "needs 12 bytes"},
  {T1(F32_6), 32, "the data section is 32 bytes but the tensors cover 24 (stray bytes from file offset"},
  {T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]"), 32, "data bytes [0, 8) (file offset"},
  {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "tensor 'b': data_offsets [4, 12] overlap tensor 'a'"},
  {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlap"},
  {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
   "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, "overlap"},
  {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
   "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "duplicate tensor name 'a'"},
  {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate __metadata__"},
  {"{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "duplicate __metadata__ key 'k'"},
  {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is not a string"},
  {"{\"__metadata__\":{\"k\":null}}", 0, "__metadata__ value of 'k' is not a string"},
  {"{\"__metadata__\":[]}", 0, "the __metadata__ string map"},
  {"{\"__metadata__\":{\"k\"}}", 0, "expected ':'"},
};

static void test_malformed(lt_ctx *c) {
  int n = (int)(sizeof bad_cases / sizeof *bad_cases);
  for (int i = 0; i < n; i++) {
    const bad_case *b = &bad_cases[i];
    lt_st_file *f = parse_json(c, b->json, NULL, b->ndata);
    CHECK(!f, "case %d (%s) was accepted", i, b->json);
    CHECK(f || (strstr(c->err, "load 'case': ") == c->err && strstr(c->err, b->expect)),
          "case %d (%s): message '%s' lacks '%s'", i, b->json, c->err, b->expect);
    lt_st_free(f);
  }
  /* framing errors, before any JSON */
  uint8_t raw[16] = {0};
  CHECK(!lt_st_parse(c, "case", raw, 0) && strstr(c->err, "file is 0 bytes, too short"), "%s", c->err);
  CHECK(!lt_st_parse(c, "case", raw, 7) && strstr(c->err, "file is 7 bytes, too short"), "%s", c->err);
  raw[0] = 9; /* header of 9 bytes, 8 available */
  CHECK(!lt_st_parse(c, "case", raw, 16) && strstr(c->err, "header length 9 runs past the end of the 16-byte file"), "%s", c->err);
  memset(raw, 0xff, 8);
  CHECK(!lt_st_parse(c, "case", raw, 16) && strstr(c->err, "is absurd"), "%s", c->err);
  raw[0] = 0x01, raw[1] = 0xe1, raw[2] = 0xf5, raw[3] = 0x05, memset(raw + 4, 0, 4); /* 100e6 + 1 */
  CHECK(!lt_st_parse(c, "case", raw, 16) && strstr(c->err, "100000001 is absurd"), "%s", c->err);
  /* the error offset points at the problem */
  CHECK(!parse_json(c, "{\"t\":  x", NULL, 0) && strstr(c->err, "at byte 15: expected '{' (a tensor entry), found 'x'"), "%s", c->err);
}

/* ---- the file written by tests/fixtures/gen_safetensors.py (NumPy) ---- */

static void test_python_fixture(lt_ctx *c, const char *src) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/fixtures/python_written.safetensors", src);
  lt_st_file *f = lt_st_load(c, path);
  CHECK(f && f->n == 11, "%s", f ? "wrong count" : c->err);
  if (!f) return;
  const char *order[] = {"mask", "f32", "f64", "f16", "bf16", "i64", "i32", "u8", "scalar", "empty", "layer.\xce\xbb"};
  for (int i = 0; i < 11 && (size_t)i < f->n; i++) CHECK(!strcmp(f->tensors[i].name, order[i]), "order %d: %s", i, f->tensors[i].name);
  CHECK(meta(f, "format") && !strcmp(meta(f, "format"), "pt"), "metadata");
  CHECK(meta(f, "unicode") && !strcmp(meta(f, "unicode"), "\xce\xbb \xe2\x9c\x93 \xf0\x9f\x98\x80"), "unicode metadata");
  float *v = lt_f32(find(f, "f32"));
  CHECK(v[0] == 0.5f && v[1] == -1.25f && v[2] == ldexpf(1, -149) && bits(v[3]) == 0x80000000u &&
        v[4] == INFINITY && isnan(v[5]), "F32 values");
  v = lt_f32(find(f, "f64"));
  CHECK(v[0] == (float)(1.0 / 3) && v[1] == INFINITY && v[2] == -2.5f && v[3] == 0, "F64 values");
  v = lt_f32(find(f, "f16"));
  CHECK(v[0] == 1 && v[1] == -2 && v[2] == 65504 && v[3] == ldexpf(1, -24) && v[4] == ldexpf(3, -24) &&
        v[5] == ldexpf(1, -14) && v[6] == INFINITY && v[7] == -INFINITY && isnan(v[8]) &&
        bits(v[9]) == 0x80000000u && v[10] == 0.333251953125f && v[11] == -ldexpf(1, -15), "F16 values");
  v = lt_f32(find(f, "bf16"));
  CHECK(v[0] == 1 && v[1] == -3.140625f && v[2] == ldexpf(1, -133) && v[3] == ldexpf(255, 120) &&
        v[4] == -INFINITY && isnan(v[5]), "BF16 values");
  int64_t *l = lt_i64(find(f, "i64"));
  CHECK(l[0] == INT64_MIN && l[1] == INT64_MAX && l[2] == 0 && l[3] == -1 && l[4] == 42, "I64 values");
  l = lt_i64(find(f, "i32"));
  CHECK(l[0] == INT32_MIN && l[1] == INT32_MAX && l[2] == -7 && l[3] == 0, "I32 values");
  l = lt_i64(find(f, "u8"));
  CHECK(l[0] == 0 && l[1] == 255 && l[2] == 7, "U8 values");
  uint8_t *b = lt_u8(find(f, "mask"));
  CHECK(b[0] == 1 && b[1] == 0 && b[2] == 1, "BOOL values");
  lt_tensor *s = find(f, "scalar"), *e = find(f, "empty");
  CHECK(s->ndim == 0 && lt_f32(s)[0] == 7.5f && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3, "scalar, empty");
  lt_st_free(f);
}

/* ---- atomic saves ---- */

static int count_tmp(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) n += strstr(de->d_name, ".tmp") != NULL;
  if (d) closedir(d);
  return n;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_save(lt_ctx *c, const char *dir) {
  char path[512], sub[512], bogus[512];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  int64_t sh[1] = {16384};
  lt_tensor *big = lt_full(c, LT_F32, 1, sh, 2.5), *one = lt_scalar(c, LT_I64, 7);
  const char *names[] = {"w"};
  lt_tensor *ts[] = {one};
  const char *k[] = {"step"}, *v[] = {"1"};
  CHECK(lt_st_save(c, path, 1, names, ts, 1, k, v) == 0, "%s", c->err);
  lt_st_file *f = lt_st_load(c, path);
  CHECK(f && f->n == 1 && lt_i64(f->tensors[0].t)[0] == 7 && !strcmp(meta(f, "step"), "1"), "%s", c->err);
  lt_st_free(f);
  long good = file_size(path);
  struct stat st;
  mode_t um = umask(0);
  umask(um);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~um),
        "umask permissions, not mkstemp's 0600: %o", (unsigned)st.st_mode);

  /* a write that fails half way (file size limit): error, old file intact, no temp left */
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 8192;
  signal(SIGXFSZ, SIG_IGN);
  ts[0] = big;
  if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
    int rc = lt_st_save(c, path, 1, names, ts, 0, NULL, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(rc < 0 && strstr(c->err, path) && strstr(c->err, "write failed: File too large"), "%s", c->err);
    CHECK(file_size(path) == good, "existing file changed: %ld bytes", file_size(path));
    f = lt_st_load(c, path);
    CHECK(f && lt_i64(f->tensors[0].t)[0] == 7, "old contents still load");
    lt_st_free(f);
    CHECK(count_tmp(dir) == 0, "temporary file left behind");
  }
  /* a missing directory */
  snprintf(bogus, sizeof bogus, "%s/no/such/dir/x.safetensors", dir);
  CHECK(lt_st_save(c, bogus, 1, names, ts, 0, NULL, NULL) < 0 && strstr(c->err, bogus) &&
        strstr(c->err, "No such file or directory"), "%s", c->err);
  /* the target is a directory: rename fails, nothing is left behind */
  snprintf(sub, sizeof sub, "%s/adir", dir);
  mkdir(sub, 0755);
  CHECK(lt_st_save(c, sub, 1, names, ts, 0, NULL, NULL) < 0 && strstr(c->err, "cannot replace the file"), "%s", c->err);
  CHECK(count_tmp(dir) == 0, "temporary file left behind after a failed rename");
  rmdir(sub);
  /* a read-only directory (meaningless as root, who may write anyway) */
  if (geteuid() != 0) {
    chmod(dir, 0555);
    CHECK(lt_st_save(c, path, 1, names, ts, 0, NULL, NULL) < 0 && strstr(c->err, "Permission denied"), "%s", c->err);
    chmod(dir, 0755);
    CHECK(file_size(path) == good, "existing file changed");
  }
  /* a bad name is refused before the disk is touched */
  const char *reserved[] = {"__metadata__"};
  CHECK(lt_st_save(c, path, 1, reserved, ts, 0, NULL, NULL) < 0 && strstr(c->err, "reserved"), "%s", c->err);
  CHECK(file_size(path) == good, "existing file changed");
  /* loading errors name the file */
  CHECK(!lt_st_load(c, bogus) && strstr(c->err, bogus) && strstr(c->err, "cannot open"), "%s", c->err);
  CHECK(!lt_st_load(c, dir) && strstr(c->err, "is a directory"), "%s", c->err);
  /* truncate the file in place: the last data bytes go */
  CHECK(truncate(path, good - 4) == 0, "truncate");
  CHECK(!lt_st_load(c, path) && strstr(c->err, path) && strstr(c->err, "truncated file?"), "%s", c->err);
  unlink(path);
  lt_release(big), lt_release(one);
}

/* ---- the fuzz corpus: every file must parse or fail cleanly ---- */

static void test_corpus(lt_ctx *c, const char *src) {
  char dir[1024], path[2048];
  snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus_safetensors", src);
  DIR *d = opendir(dir);
  CHECK(d, "cannot open the fuzz corpus %s", dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) {
    if (de->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    lt_st_free(lt_st_load(c, path)); /* success or an error message, never a crash */
    n++;
  }
  if (d) closedir(d);
  CHECK(n > 0, "empty fuzz corpus in %s", dir);
}

int main(int argc, char **argv) {
  const char *src = argc > 1 ? argv[1] : LURN_SOURCE_DIR;
  lt_ctx *c = lt_ctx_new();
  char tmpdir[] = "/tmp/lurn_st_XXXXXX";
  CHECK(mkdtemp(tmpdir), "mkdtemp");
  test_roundtrip(c);
  test_conversions(c);
  test_malformed(c);
  test_python_fixture(c, src);
  test_save(c, tmpdir);
  test_corpus(c, src);
  rmdir(tmpdir);
  CHECK(c->live_bytes == 0, "%zu tensor bytes leaked", c->live_bytes);
  lt_ctx_free(c);
  if (failures) fprintf(stderr, "test_safetensors: %d checks failed\n", failures);
  else printf("test_safetensors: all passed\n");
  return failures != 0;
}
