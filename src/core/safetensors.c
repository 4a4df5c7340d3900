/* safetensors reader and writer (format and guarantees in safetensors.h).
 *
 * The reader parses the JSON header with a small strict parser that knows exactly the
 * shape of a header (an object of tensor entries and one string map), so it needs no
 * JSON tree and never recurses. Every number from the file is range-checked before it
 * is used as a size or an offset, and all arithmetic on them is overflow-checked. */
#define _POSIX_C_SOURCE 200809L /* open, fsync, rename semantics, getpid */
#include "safetensors.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------
 * dtypes */

/* Readable file dtypes and the lurn dtype each becomes. */
static const struct {
  const char *name;
  unsigned size;
  lt_dtype to;
} dtypes[] = {{"F32", 4, LT_F32}, {"F64", 8, LT_F32}, {"F16", 2, LT_F32},
              {"BF16", 2, LT_F32}, {"I64", 8, LT_I64}, {"I32", 4, LT_I64},
              {"U8", 1, LT_I64},   {"BOOL", 1, LT_BOOL}};
enum { D_F32, D_F64, D_F16, D_BF16, D_I64, D_I32, D_U8, D_BOOL, ND };

/* Valid in the format but not readable here: they get their own error message. */
static const char *const unsupported[] = {"I8",      "I16",     "U16", "U32",
                                          "U64",     "F8_E4M3", "F8_E5M2", "C64"};

static const char *write_name(lt_dtype d) {
  return d == LT_F32 ? "F32" : d == LT_I64 ? "I64" : "BOOL";
}

/* Little-endian loads, byte by byte: file data may sit at any alignment and the host
 * may be big-endian. Compilers turn these into single loads. */
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static float f32_of_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* IEEE half -> float. Every half value, subnormals included, is exact in float. */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0x1f) return f32_of_bits(sign | 0x7f800000u | m << 13); /* inf; NaN keeps payload */
  float v = e ? ldexpf((float)(m | 0x400), (int)e - 25) /* (1024 + m) * 2^(e-15-10) */
              : ldexpf((float)m, -24);                   /* subnormal: m * 2^-24 */
  return sign ? -v : v;
}

static int host_is_le(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid: overlong
 * forms, surrogates and code points past U+10FFFF are refused, as JSON requires. */
static size_t utf8_len(const uint8_t *p, size_t n) {
  uint32_t cp = p[0], min;
  size_t len;
  if (cp < 0x80) return 1;
  if ((cp & 0xe0) == 0xc0) len = 2, cp &= 0x1f, min = 0x80;
  else if ((cp & 0xf0) == 0xe0) len = 3, cp &= 0x0f, min = 0x800;
  else if ((cp & 0xf8) == 0xf0) len = 4, cp &= 0x07, min = 0x10000;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

static int valid_utf8(const char *s) {
  const uint8_t *p = (const uint8_t *)s;
  size_t n = strlen(s);
  for (size_t i = 0, k; i < n; i += k)
    if (!(k = utf8_len(p + i, n - i))) return 0;
  return 1;
}

/* ---------------------------------------------------------------------------------
 * writer */

/* Bytes go either to a FILE (checking every fwrite) or to a growing memory buffer. */
typedef struct {
  FILE *f;
  uint8_t *mem;
  size_t len, cap;
  int err; /* first errno; later writes are skipped */
} sink;

static void put(sink *s, const void *p, size_t n) {
  if (s->err || n == 0) return;
  if (s->f) {
    errno = 0;
    if (fwrite(p, 1, n, s->f) != n) s->err = errno ? errno : EIO;
    return;
  }
  if (n > s->cap - s->len) {
    size_t cap = s->cap ? s->cap : 256;
    while (cap - s->len < n && cap <= SIZE_MAX / 2) cap *= 2;
    uint8_t *m = cap - s->len < n ? NULL : realloc(s->mem, cap);
    if (!m) {
      s->err = ENOMEM;
      return;
    }
    s->mem = m, s->cap = cap;
  }
  memcpy(s->mem + s->len, p, n);
  s->len += n;
}

static void puts_(sink *s, const char *str) { put(s, str, strlen(str)); }

static void put_u64(sink *s, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  puts_(s, buf);
}

/* A JSON string; the text is valid UTF-8 (checked by the caller), so only quotes,
 * backslashes and control characters need escapes. */
static void put_json_str(sink *s, const char *str) {
  put(s, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      put(s, e, 2);
    } else if (*p < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", *p);
      puts_(s, e);
    } else {
      put(s, p, 1);
    }
  }
  put(s, "\"", 1);
}

typedef struct {
  const char *name;
  const lt_tensor *t;
} item;

typedef struct {
  const char *key, *value;
} pair;

/* Layout order: dtype size descending, then name (the Python library's order). */
static int cmp_item(const void *a, const void *b) {
  const item *x = a, *y = b;
  size_t sx = lt_dtype_size(x->t->dtype), sy = lt_dtype_size(y->t->dtype);
  if (sx != sy) return sx > sy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int cmp_pair(const void *a, const void *b) {
  return strcmp(((const pair *)a)->key, ((const pair *)b)->key);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Validate the inputs and build the padded header. On success *items holds the
 * tensors in layout order (caller frees) and hdr the header bytes. */
static int build_header(lt_ctx *c, const char *label, size_t n, const char *const *names,
                        lt_tensor *const *ts, size_t nmeta, const char *const *keys,
                        const char *const *values, item **items_out, sink *hdr) {
  item *items = malloc((n ? n : 1) * sizeof *items);
  pair *meta = malloc((nmeta ? nmeta : 1) * sizeof *meta);
  const char **sorted = malloc((n ? n : 1) * sizeof *sorted);
  if (!items || !meta || !sorted) {
    lt_fail(c, "%s: not enough memory", label);
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (!names[i] || !ts[i]) {
      lt_fail(c, "%s: entry %zu has no name or no tensor", label, i + 1);
      goto fail;
    }
    if (!valid_utf8(names[i]) || !strcmp(names[i], "__metadata__")) {
      lt_fail(c, "%s: tensor name '%.200s' is %s", label, names[i],
              strcmp(names[i], "__metadata__") ? "not valid UTF-8" : "reserved");
      goto fail;
    }
    items[i] = (item){names[i], ts[i]};
    sorted[i] = names[i];
  }
  qsort(sorted, n, sizeof *sorted, cmp_str);
  for (size_t i = 1; i < n; i++)
    if (!strcmp(sorted[i - 1], sorted[i])) {
      lt_fail(c, "%s: duplicate tensor name '%.200s'", label, sorted[i]);
      goto fail;
    }
  for (size_t i = 0; i < nmeta; i++) {
    if (!keys[i] || !values[i] || !valid_utf8(keys[i]) || !valid_utf8(values[i])) {
      lt_fail(c, "%s: metadata entry %zu is missing or not valid UTF-8", label, i + 1);
      goto fail;
    }
    meta[i] = (pair){keys[i], values[i]};
  }
  qsort(meta, nmeta, sizeof *meta, cmp_pair);
  for (size_t i = 1; i < nmeta; i++)
    if (!strcmp(meta[i - 1].key, meta[i].key)) {
      lt_fail(c, "%s: duplicate metadata key '%.200s'", label, meta[i].key);
      goto fail;
    }
  qsort(items, n, sizeof *items, cmp_item);

  /* {"__metadata__":{...},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}} */
  put(hdr, "{", 1);
  if (nmeta) {
    puts_(hdr, "\"__metadata__\":{");
    for (size_t i = 0; i < nmeta; i++) {
      if (i) put(hdr, ",", 1);
      put_json_str(hdr, meta[i].key);
      put(hdr, ":", 1);
      put_json_str(hdr, meta[i].value);
    }
    puts_(hdr, n ? "}," : "}");
  }
  uint64_t off = 0;
  for (size_t i = 0; i < n; i++) {
    const lt_tensor *t = items[i].t;
    if (i) put(hdr, ",", 1);
    put_json_str(hdr, items[i].name);
    puts_(hdr, ":{\"dtype\":\"");
    puts_(hdr, write_name(t->dtype));
    puts_(hdr, "\",\"shape\":[");
    for (int d = 0; d < t->ndim; d++) {
      if (d) put(hdr, ",", 1);
      put_u64(hdr, (uint64_t)t->shape[d]);
    }
    puts_(hdr, "],\"data_offsets\":[");
    put_u64(hdr, off);
    put(hdr, ",", 1);
    off += (uint64_t)lt_numel(t) * lt_dtype_size(t->dtype);
    put_u64(hdr, off);
    puts_(hdr, "]}");
  }
  put(hdr, "}", 1);
  while (hdr->len % 8) put(hdr, " ", 1); /* data starts 8-byte aligned */
  if (hdr->err) {
    lt_fail(c, "%s: not enough memory for the header", label);
    goto fail;
  }
  free(meta);
  free(sorted);
  *items_out = items;
  return 0;
fail:
  free(items);
  free(meta);
  free(sorted);
  return -1;
}

/* Tensor bytes, little-endian and row-major. Non-contiguous tensors are copied first. */
static int put_tensor(lt_ctx *c, sink *s, const lt_tensor *t) {
  lt_tensor *tmp = NULL;
  if (!lt_is_contiguous(t)) {
    if (!(tmp = lt_contiguous_raw(c, t))) return -1;
    t = tmp;
  }
  size_t esz = lt_dtype_size(t->dtype), n = (size_t)lt_numel(t);
  const uint8_t *p = (const uint8_t *)lt_ptr(t);
  if (esz == 1 || host_is_le()) {
    put(s, p, n * esz);
  } else { /* big-endian host: swap through a small buffer */
    uint8_t buf[4096];
    for (size_t i = 0; i < n; i += sizeof buf / esz) {
      size_t k = n - i < sizeof buf / esz ? n - i : sizeof buf / esz;
      for (size_t j = 0; j < k * esz; j++) buf[j] = p[i * esz + j / esz * esz + esz - 1 - j % esz];
      put(s, buf, k * esz);
    }
  }
  lt_release(tmp);
  return 0;
}

static int put_all(lt_ctx *c, sink *s, const sink *hdr, const item *items, size_t n) {
  uint8_t len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hdr->len >> (8 * i));
  put(s, len8, 8);
  put(s, hdr->mem, hdr->len);
  for (size_t i = 0; i < n && !s->err; i++)
    if (put_tensor(c, s, items[i].t) < 0) return -1;
  return 0;
}

int lt_st_serialize(lt_ctx *c, size_t n, const char *const *names, lt_tensor *const *ts,
                    size_t nmeta, const char *const *keys, const char *const *values,
                    uint8_t **out, size_t *len) {
  sink hdr = {0}, s = {0};
  item *items;
  if (build_header(c, "serialize", n, names, ts, nmeta, keys, values, &items, &hdr) < 0) {
    free(hdr.mem);
    return -1;
  }
  int rc = put_all(c, &s, &hdr, items, n);
  free(items);
  free(hdr.mem);
  if (rc == 0 && s.err) rc = -1, lt_fail(c, "serialize: not enough memory");
  if (rc < 0) return free(s.mem), -1;
  *out = s.mem, *len = s.len;
  return 0;
}

typedef struct {
  const sink *hdr;
  const item *items;
  size_t n;
} save_ud;

static int emit_file(lt_ctx *c, FILE *f, void *ud) {
  const save_ud *u = ud;
  sink s = {.f = f};
  if (put_all(c, &s, u->hdr, u->items, u->n) < 0) return -1; /* c->err: no memory for a copy */
  if (s.err) return lt_fail(c, "write failed: %s", strerror(s.err)), -1;
  return 0;
}

int lt_st_save(lt_ctx *c, const char *path, size_t n, const char *const *names,
               lt_tensor *const *ts, size_t nmeta, const char *const *keys,
               const char *const *values) {
  char label[400];
  lt_file_label(label, sizeof label, "save", path);
  sink hdr = {0};
  item *items = NULL;
  int rc = build_header(c, label, n, names, ts, nmeta, keys, values, &items, &hdr);
  if (rc == 0) {
    save_ud u = {&hdr, items, n};
    rc = lt_write_file_atomic_with(c, label, path, emit_file, &u); /* temp file + rename */
  }
  free(items);
  free(hdr.mem);
  return rc;
}

/* ---------------------------------------------------------------------------------
 * reader: the header parser */

typedef struct {
  char *name;
  int dt; /* index into dtypes */
  int ndim;
  int64_t shape[LT_MAXDIM];
  int64_t begin, end;
} entry;

typedef struct {
  lt_ctx *c;
  const char *label;
  const uint8_t *p, *end, *base; /* header cursor and end; base = start of the file */
  entry *e;
  size_t n, cap;
  lt_st_meta *meta;
  size_t nmeta, metacap;
} parser;

/* Every reader error goes through here: "load 'file': what". Returns -1. */
static int bad(parser *ps, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lt_vfail_file(ps->c, "load", ps->label, fmt, ap);
  va_end(ap);
  return -1;
}

/* A JSON syntax error at the cursor, with its byte offset in the file. */
static int expected(parser *ps, const char *what) {
  size_t at = (size_t)(ps->p - ps->base);
  if (ps->p >= ps->end) return bad(ps, "invalid header JSON at byte %zu: expected %s, found the end of the header", at, what);
  int ch = *ps->p;
  if (ch >= 0x20 && ch < 0x7f)
    return bad(ps, "invalid header JSON at byte %zu: expected %s, found '%c'", at, what, ch);
  return bad(ps, "invalid header JSON at byte %zu: expected %s, found byte 0x%02x", at, what, ch);
}

static int peek(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
  return ps->p < ps->end ? *ps->p : -1;
}

static int expect(parser *ps, int ch, const char *what) {
  if (peek(ps) != ch) return expected(ps, what);
  ps->p++;
  return 0;
}

/* After an element of an object or array: 1 if another follows, 0 at the close. */
static int next_or_close(parser *ps, int close, const char *what) {
  int ch = peek(ps);
  if (ch == ',' || ch == close) {
    ps->p++;
    return ch == ',';
  }
  return expected(ps, what);
}

static int hexval(int ch) {
  return ch >= '0' && ch <= '9' ? ch - '0'
       : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
       : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* \uXXXX at p (p points after the 'u'); -1 if not four hex digits before lim */
static long hex4(const uint8_t *p, const uint8_t *lim) {
  if (lim - p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return -1;
    v = v << 4 | h;
  }
  return v;
}

static size_t put_utf8(uint8_t *o, uint32_t cp) {
  if (cp < 0x80) return o[0] = (uint8_t)cp, 1;
  if (cp < 0x800) return o[0] = (uint8_t)(0xc0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 0x3f)), 2;
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xe0 | cp >> 12), o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (uint8_t)(0xf0 | cp >> 18), o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
  o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), o[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

/* A JSON string into a malloc'd C string. NUL (\u0000) is refused: names are C strings. */
static int parse_string(parser *ps, char **out) {
  *out = NULL;
  if (peek(ps) != '"') return expected(ps, "a string");
  const uint8_t *p = ++ps->p, *q = p;
  while (q < ps->end && *q != '"') q += *q == '\\' ? 2 : 1; /* find the closing quote */
  if (q >= ps->end) return bad(ps, "invalid header JSON at byte %zu: unterminated string", (size_t)(p - 1 - ps->base));
  uint8_t *s = malloc((size_t)(q - p) + 1), *o = s; /* escapes never grow the text */
  if (!s) return bad(ps, "not enough memory");
  while (p < q) {
    ps->p = p; /* for error offsets */
    if (*p == '\\') {
      uint8_t esc = p[1];
      p += 2;
      const char *simple = strchr("\"\\/bfnrt", esc);
      if (esc && simple) {
        *o++ = (uint8_t)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
        continue;
      }
      long cp = esc == 'u' ? hex4(p, q) : -1;
      if (cp < 0) {
        free(s);
        return bad(ps, "invalid header JSON at byte %zu: invalid escape in string", (size_t)(ps->p - ps->base));
      }
      p += 4;
      if (cp >= 0xd800 && cp <= 0xdbff) { /* high surrogate: a low one must follow */
        long lo = q - p >= 2 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2, q) : -1;
        if (lo < 0xdc00 || lo > 0xdfff) cp = -1;
        else cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00), p += 6;
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        cp = -1;
      }
      if (cp <= 0) {
        free(s);
        return bad(ps, "invalid header JSON at byte %zu: %s in string", (size_t)(ps->p - ps->base),
                   cp == 0 ? "NUL character (\\u0000)" : "unpaired surrogate escape");
      }
      o += put_utf8(o, (uint32_t)cp);
    } else if (*p < 0x20) {
      free(s);
      return bad(ps, "invalid header JSON at byte %zu: control character 0x%02x in string", (size_t)(p - ps->base), *p);
    } else {
      size_t k = utf8_len(p, (size_t)(q - p));
      if (!k) {
        free(s);
        return bad(ps, "invalid header JSON at byte %zu: invalid UTF-8 in string", (size_t)(p - ps->base));
      }
      memcpy(o, p, k);
      o += k, p += k;
    }
  }
  *o = 0;
  ps->p = q + 1;
  *out = (char *)s;
  return 0;
}

/* A JSON integer (no fraction or exponent) that fits in int64. */
static int parse_int(parser *ps, int64_t *v) {
  if (peek(ps) < 0) return expected(ps, "an integer");
  const uint8_t *p = ps->p;
  int neg = *p == '-';
  p += neg;
  if (p >= ps->end || *p < '0' || *p > '9') return expected(ps, "an integer");
  if (*p == '0' && p + 1 < ps->end && p[1] >= '0' && p[1] <= '9')
    return bad(ps, "invalid header JSON at byte %zu: integer with a leading zero", (size_t)(ps->p - ps->base));
  uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; p < ps->end && *p >= '0' && *p <= '9'; p++) {
    unsigned d = *p - '0';
    if (u > (lim - d) / 10)
      return bad(ps, "invalid header JSON at byte %zu: integer out of range", (size_t)(ps->p - ps->base));
    u = u * 10 + d;
  }
  if (p < ps->end && (*p == '.' || *p == 'e' || *p == 'E'))
    return bad(ps, "invalid header JSON at byte %zu: expected an integer, found a fraction or exponent", (size_t)(ps->p - ps->base));
  *v = !neg ? (int64_t)u : u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
  ps->p = p;
  return 0;
}

/* [int, ...] with at most max entries; the count goes to *n. */
static int parse_ints(parser *ps, int64_t *out, int max, int *n, const char *what, const char *name) {
  *n = 0;
  if (expect(ps, '[', "'[' (an array of integers)") < 0) return -1;
  if (peek(ps) == ']') return ps->p++, 0;
  for (;;) {
    if (*n == max)
      return bad(ps, "tensor '%.200s': %s has more than %d entries", name, what, max);
    if (parse_int(ps, &out[(*n)++]) < 0) return -1;
    int more = next_or_close(ps, ']', "',' or ']'");
    if (more <= 0) return more;
  }
}

static int find_dtype(const char *s) {
  for (int i = 0; i < ND; i++)
    if (!strcmp(s, dtypes[i].name)) return i;
  return -1;
}

/* {"dtype": "F32", "shape": [..], "data_offsets": [b, e]} in any order, each exactly once */
static int parse_entry(parser *ps, entry *e) {
  static const char *const fields[] = {"dtype", "shape", "data_offsets"};
  int seen = 0;
  const char *name = e->name;
  if (peek(ps) != '{') return expected(ps, "'{' (a tensor entry)");
  ps->p++;
  if (peek(ps) == '}') ps->p++;
  else for (;;) {
    char *key, *dt = NULL;
    int f = -1, rc = 0, cnt;
    int64_t off[2];
    if (parse_string(ps, &key) < 0) return -1;
    for (int i = 0; i < 3; i++)
      if (!strcmp(key, fields[i])) f = i;
    if (f < 0) rc = bad(ps, "tensor '%.200s': unknown field '%.100s'", name, key);
    else if (seen >> f & 1) rc = bad(ps, "tensor '%.200s': duplicate field '%s'", name, key);
    free(key);
    if (rc < 0 || expect(ps, ':', "':'") < 0) return -1;
    seen |= 1 << f;
    if (f == 0) {
      if (parse_string(ps, &dt) < 0) return -1;
      e->dt = find_dtype(dt);
      if (e->dt < 0) {
        int known = 0;
        for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
          known |= !strcmp(dt, unsupported[i]);
        rc = bad(ps, "tensor '%.200s': %s dtype '%.40s' (lurn reads F32, F64, F16, BF16, I64, I32, U8, BOOL)",
                 name, known ? "unsupported" : "unknown", dt);
      }
      free(dt);
      if (rc < 0) return -1;
    } else if (f == 1) {
      if (parse_ints(ps, e->shape, LT_MAXDIM, &e->ndim, "shape", name) < 0) return -1;
    } else {
      if (parse_ints(ps, off, 2, &cnt, "data_offsets", name) < 0) return -1;
      if (cnt != 2) return bad(ps, "tensor '%.200s': data_offsets must be [begin, end]", name);
      e->begin = off[0], e->end = off[1];
    }
    int more = next_or_close(ps, '}', "',' or '}'");
    if (more < 0) return -1;
    if (!more) break;
  }
  for (int i = 0; i < 3; i++)
    if (!(seen >> i & 1)) return bad(ps, "tensor '%.200s': missing field '%s'", name, fields[i]);
  return 0;
}

/* "__metadata__": {"key": "value", ...} */
static int parse_meta(parser *ps) {
  if (peek(ps) != '{') return expected(ps, "'{' (the __metadata__ string map)");
  ps->p++;
  if (peek(ps) == '}') return ps->p++, 0;
  for (;;) {
    if (ps->nmeta == ps->metacap) {
      size_t cap = ps->metacap ? 2 * ps->metacap : 8;
      lt_st_meta *m = realloc(ps->meta, cap * sizeof *m);
      if (!m) return bad(ps, "not enough memory");
      ps->meta = m, ps->metacap = cap;
    }
    lt_st_meta *m = &ps->meta[ps->nmeta];
    if (parse_string(ps, &m->key) < 0) return -1;
    m->value = NULL;
    ps->nmeta++; /* owned from here, freed with the parser */
    if (expect(ps, ':', "':'") < 0) return -1;
    if (peek(ps) != '"') return bad(ps, "__metadata__ value of '%.200s' is not a string", m->key);
    if (parse_string(ps, &m->value) < 0) return -1;
    int more = next_or_close(ps, '}', "',' or '}'");
    if (more <= 0) return more;
  }
}

static int parse_header(parser *ps) {
  int have_meta = 0;
  if (peek(ps) != '{') return expected(ps, "'{' (the header is a JSON object)");
  ps->p++;
  if (peek(ps) == '}') ps->p++;
  else for (;;) {
    char *key;
    if (parse_string(ps, &key) < 0) return -1;
    if (!strcmp(key, "__metadata__")) {
      free(key);
      if (have_meta++) return bad(ps, "duplicate __metadata__");
      if (expect(ps, ':', "':'") < 0 || parse_meta(ps) < 0) return -1;
    } else {
      if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        entry *e = realloc(ps->e, cap * sizeof *e);
        if (!e) return free(key), bad(ps, "not enough memory");
        ps->e = e, ps->cap = cap;
      }
      entry *e = &ps->e[ps->n++];
      memset(e, 0, sizeof *e);
      e->name = key; /* owned by the parser from here */
      if (expect(ps, ':', "':'") < 0 || parse_entry(ps, e) < 0) return -1;
    }
    int more = next_or_close(ps, '}', "',' or '}'");
    if (more < 0) return -1;
    if (!more) break;
  }
  if (peek(ps) >= 0) /* only whitespace (the padding) may follow */
    return bad(ps, "invalid header JSON at byte %zu: unexpected bytes after the header object",
               (size_t)(ps->p - ps->base));
  return 0;
}

/* ---------------------------------------------------------------------------------
 * reader: validation and conversion */

static int cmp_entry_name(const void *a, const void *b) {
  return strcmp((*(entry *const *)a)->name, (*(entry *const *)b)->name);
}

static int cmp_entry_offset(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return strcmp(x->name, y->name);
}

static char *shape_str(char *buf, const entry *e) {
  return lt_shape_str(buf, 128, e->ndim, e->shape);
}

/* Shapes, sizes and offsets against the data section (datalen bytes at file offset
 * data0); afterwards the entries are sorted by offset and tile the section exactly. */
static int validate(parser *ps, uint64_t datalen, uint64_t data0) {
  char sh[128];
  for (size_t i = 0; i < ps->n; i++) {
    entry *e = &ps->e[i];
    uint64_t nbytes = dtypes[e->dt].size;
    int zero = 0; /* [2^62, 0] is empty, not an overflow */
    for (int d = 0; d < e->ndim; d++) {
      if (e->shape[d] < 0)
        return bad(ps, "tensor '%.200s': negative dimension in shape %s", e->name, shape_str(sh, e));
      zero |= e->shape[d] == 0;
    }
    for (int d = 0; d < e->ndim && !zero; d++) {
      if (nbytes > UINT64_MAX / (uint64_t)e->shape[d])
        return bad(ps, "tensor '%.200s': shape %s overflows", e->name, shape_str(sh, e));
      nbytes *= (uint64_t)e->shape[d];
    }
    if (zero) nbytes = 0;
    if (e->begin < 0 || e->end < e->begin)
      return bad(ps, "tensor '%.200s': invalid data_offsets [%lld, %lld]", e->name,
                 (long long)e->begin, (long long)e->end);
    if ((uint64_t)e->end > datalen)
      return bad(ps, "tensor '%.200s': data_offsets [%lld, %lld] run past the end of the %llu-byte data section (truncated file?)",
                 e->name, (long long)e->begin, (long long)e->end, (unsigned long long)datalen);
    if ((uint64_t)(e->end - e->begin) != nbytes)
      return bad(ps, "tensor '%.200s': shape %s of %s needs %llu bytes but data_offsets [%lld, %lld] hold %llu",
                 e->name, shape_str(sh, e), dtypes[e->dt].name, (unsigned long long)nbytes,
                 (long long)e->begin, (long long)e->end, (unsigned long long)(e->end - e->begin));
  }
  entry **byname = malloc((ps->n ? ps->n : 1) * sizeof *byname);
  if (!byname) return bad(ps, "not enough memory");
  for (size_t i = 0; i < ps->n; i++) byname[i] = &ps->e[i];
  qsort(byname, ps->n, sizeof *byname, cmp_entry_name);
  for (size_t i = 1; i < ps->n; i++)
    if (!strcmp(byname[i - 1]->name, byname[i]->name)) {
      int rc = bad(ps, "duplicate tensor name '%.200s'", byname[i]->name);
      free(byname);
      return rc;
    }
  free(byname);
  const char **keys = malloc((ps->nmeta ? ps->nmeta : 1) * sizeof *keys);
  if (!keys) return bad(ps, "not enough memory");
  for (size_t i = 0; i < ps->nmeta; i++) keys[i] = ps->meta[i].key;
  qsort(keys, ps->nmeta, sizeof *keys, cmp_str);
  for (size_t i = 1; i < ps->nmeta; i++)
    if (!strcmp(keys[i - 1], keys[i])) {
      int rc = bad(ps, "duplicate __metadata__ key '%.200s'", keys[i]);
      free(keys);
      return rc;
    }
  free(keys);

  if (ps->n) qsort(ps->e, ps->n, sizeof *ps->e, cmp_entry_offset); /* e is NULL when empty */
  uint64_t pos = 0;
  for (size_t i = 0; i < ps->n; i++) {
    entry *e = &ps->e[i];
    if ((uint64_t)e->begin > pos)
      return bad(ps, "data bytes [%llu, %lld) (file offset %llu) belong to no tensor (a hole before '%.200s')",
                 (unsigned long long)pos, (long long)e->begin, (unsigned long long)(data0 + pos), e->name);
    if ((uint64_t)e->begin < pos)
      return bad(ps, "tensor '%.200s': data_offsets [%lld, %lld] overlap tensor '%.200s'", e->name,
                 (long long)e->begin, (long long)e->end, ps->e[i - 1].name);
    pos = (uint64_t)e->end;
  }
  if (pos != datalen)
    return bad(ps, "the data section is %llu bytes but the tensors cover %llu (stray bytes from file offset %llu)",
               (unsigned long long)datalen, (unsigned long long)pos, (unsigned long long)(data0 + pos));
  return 0;
}

/* Copy n elements of file dtype dt at p into t (contiguous, fresh). */
static void convert(lt_tensor *t, int dt, const uint8_t *p, size_t n) {
  float *f = dtypes[dt].to == LT_F32 ? lt_f32(t) : NULL;
  int64_t *l = dtypes[dt].to == LT_I64 ? lt_i64(t) : NULL;
  uint8_t *b = lt_u8(t);
  double d;
  uint64_t u;
  for (size_t i = 0; i < n; i++) {
    switch (dt) {
    case D_F32: f[i] = f32_of_bits(rd32(p + 4 * i)); break;
    case D_F64:
      u = rd64(p + 8 * i);
      memcpy(&d, &u, sizeof d);
      f[i] = (float)d; /* out of range -> +-inf, as torch's .float() */
      break;
    case D_F16: f[i] = half_to_float(rd16(p + 2 * i)); break;
    case D_BF16: f[i] = f32_of_bits((uint32_t)rd16(p + 2 * i) << 16); break;
    case D_I64: l[i] = (int64_t)rd64(p + 8 * i); break;
    case D_I32: l[i] = (int32_t)rd32(p + 4 * i); break;
    case D_U8: l[i] = p[i]; break;
    case D_BOOL: b[i] = p[i] != 0; break; /* lurn bools are 0/1 whatever the file holds */
    }
  }
}

static void free_parser(parser *ps) {
  for (size_t i = 0; i < ps->n; i++) free(ps->e[i].name);
  for (size_t i = 0; i < ps->nmeta; i++) free(ps->meta[i].key), free(ps->meta[i].value);
  free(ps->e);
  free(ps->meta);
}

lt_st_file *lt_st_parse(lt_ctx *c, const char *label, const uint8_t *buf, size_t len) {
  parser ps = {.c = c, .label = label, .base = buf};
  if (len < 8)
    return bad(&ps, "file is %zu bytes, too short for a safetensors file", len), NULL;
  uint64_t hl = rd64(buf);
  if (hl > LT_ST_MAX_HEADER)
    return bad(&ps, "header length %llu is absurd (over 100 MB): not a safetensors file?",
               (unsigned long long)hl), NULL;
  if (hl > len - 8)
    return bad(&ps, "header length %llu runs past the end of the %zu-byte file (truncated?)",
               (unsigned long long)hl, len), NULL;
  ps.p = buf + 8, ps.end = buf + 8 + hl;
  lt_st_file *f = NULL;
  if (parse_header(&ps) < 0 || validate(&ps, len - 8 - hl, 8 + hl) < 0) goto fail;
  if (!(f = calloc(1, sizeof *f)) || !(f->tensors = calloc(ps.n ? ps.n : 1, sizeof *f->tensors))) {
    bad(&ps, "not enough memory");
    goto fail;
  }
  for (size_t i = 0; i < ps.n; i++) {
    entry *e = &ps.e[i];
    lt_tensor *t = lt_empty(c, dtypes[e->dt].to, e->ndim, e->shape);
    if (!t) {
      char why[sizeof c->err];
      snprintf(why, sizeof why, "%s", c->err);
      bad(&ps, "tensor '%.200s': %s", e->name, why);
      goto fail;
    }
    convert(t, e->dt, buf + 8 + hl + e->begin, (size_t)lt_numel(t));
    f->tensors[f->n++] = (lt_st_tensor){e->name, t};
    e->name = NULL; /* moved */
  }
  f->meta = ps.meta, f->nmeta = ps.nmeta;
  ps.meta = NULL, ps.nmeta = 0;
  free_parser(&ps);
  return f;
fail:
  free_parser(&ps);
  lt_st_free(f);
  return NULL;
}

lt_st_file *lt_st_load(lt_ctx *c, const char *path) {
  char label[400];
  uint8_t *buf;
  size_t len;
  if (lt_read_file(c, lt_file_label(label, sizeof label, "load", path), path, &buf, &len) < 0)
    return NULL;
  lt_st_file *f = lt_st_parse(c, path, buf, len);
  free(buf);
  return f;
}

void lt_st_free(lt_st_file *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n; i++) {
    free(f->tensors[i].name);
    lt_release(f->tensors[i].t);
  }
  for (size_t i = 0; i < f->nmeta; i++) free(f->meta[i].key), free(f->meta[i].value);
  free(f->tensors);
  free(f->meta);
  free(f);
}
