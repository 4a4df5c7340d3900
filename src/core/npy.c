/* NumPy .npy reader and writer (format and guarantees in npy.h).
 *
 * The header is a Python literal; NumPy reads it with ast.literal_eval. We parse only
 * the shape a header can have (a flat dict of three known keys whose values are a
 * string, a bool and a tuple of ints), never recurse, and check every number before it
 * becomes a size. Errors give the byte offset of the problem in the file. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

static const uint8_t MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
#define ARRAY_ALIGN 64            /* numpy/lib/format.py: data starts 64-byte aligned */
#define GROWTH_AXIS_MAX_DIGITS 21 /* numpy pads so the first dim can grow in place */

static int host_is_le(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

/* ---------------------------------------------------------------------------------
 * reader */

typedef struct {
  lt_ctx *c;
  const char *name;
  const uint8_t *base, *p, *end; /* file start; header cursor and end */
} hparser;

/* Every reader error: "read_npy 'file': what". Returns -1. */
static int bad(lt_ctx *c, const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lt_vfail_file(c, "read_npy", name, fmt, ap);
  va_end(ap);
  return -1;
}

static size_t at(const hparser *h) { return (size_t)(h->p - h->base); }

static void skip_ws(hparser *h) {
  while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
    h->p++;
}

/* A syntax error at the cursor. */
static int expected(hparser *h, const char *what) {
  if (h->p >= h->end)
    return bad(h->c, h->name, "header at byte %zu: expected %s, found the end of the header", at(h), what);
  char q[16];
  lt_quote_bytes(q, sizeof q, h->p, 1);
  return bad(h->c, h->name, "header at byte %zu: expected %s, found '%s'", at(h), what, q);
}

/* A quoted string ('...' or "..."); *s and *n point into the header. Escapes are not
 * interpreted: no valid key or dtype contains one, so such a string is refused later. */
static int parse_str(hparser *h, const uint8_t **s, size_t *n) {
  skip_ws(h);
  if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return expected(h, "a quoted string");
  uint8_t q = *h->p;
  const uint8_t *start = h->p + 1, *e = memchr(start, q, (size_t)(h->end - start));
  if (!e) return bad(h->c, h->name, "header at byte %zu: unterminated string", at(h));
  *s = start, *n = (size_t)(e - start);
  h->p = e + 1;
  return 0;
}

/* Skip whitespace and consume ch if it is next; returns 1 if consumed. */
static int accept(hparser *h, int ch) {
  skip_ws(h);
  if (h->p < h->end && *h->p == ch) return h->p++, 1;
  return 0;
}

/* A non-negative Python int (an old Python 2 'L' suffix is allowed, as NumPy does). */
static int parse_dim(hparser *h, int64_t *v) {
  skip_ws(h);
  size_t start = at(h);
  if (h->p < h->end && *h->p == '-')
    return bad(h->c, h->name, "header at byte %zu: negative dimension in 'shape'", start);
  if (h->p >= h->end || *h->p < '0' || *h->p > '9') return expected(h, "an integer");
  uint64_t u = 0;
  for (; h->p < h->end && *h->p >= '0' && *h->p <= '9'; h->p++) {
    unsigned d = *h->p - '0';
    if (u > ((uint64_t)INT64_MAX - d) / 10)
      return bad(h->c, h->name, "header at byte %zu: dimension out of range", start);
    u = u * 10 + d;
  }
  if (h->p < h->end && (*h->p == 'L' || *h->p == 'l')) h->p++;
  *v = (int64_t)u;
  return 0;
}

/* (d0, d1, ...) with a trailing comma allowed; "(3)" is an int, not a tuple. */
static int parse_shape(hparser *h, int *ndim, int64_t *shape) {
  if (!accept(h, '(')) return expected(h, "a tuple of integers for 'shape'");
  *ndim = 0;
  if (accept(h, ')')) return 0;
  for (;;) {
    if (*ndim == LT_MAXDIM)
      return bad(h->c, h->name, "header at byte %zu: shape has more than %d dimensions", at(h), LT_MAXDIM);
    if (parse_dim(h, &shape[(*ndim)++]) < 0) return -1;
    int comma = accept(h, ',');
    if (accept(h, ')')) {
      if (*ndim == 1 && !comma)
        return bad(h->c, h->name, "header at byte %zu: 'shape' is an int, not a tuple (a 1-tuple is written (n,))", at(h) - 1);
      return 0;
    }
    if (!comma) return expected(h, "',' or ')' in 'shape'");
  }
}

/* True / False */
static int parse_bool(hparser *h, int *v) {
  skip_ws(h);
  size_t left = (size_t)(h->end - h->p);
  if (left >= 4 && !memcmp(h->p, "True", 4)) *v = 1, h->p += 4;
  else if (left >= 5 && !memcmp(h->p, "False", 5)) *v = 0, h->p += 5;
  else return expected(h, "True or False for 'fortran_order'");
  if (h->p < h->end && ((*h->p >= 'a' && *h->p <= 'z') || (*h->p >= 'A' && *h->p <= 'Z') || *h->p == '_'))
    return expected(h, "True or False for 'fortran_order'");
  return 0;
}

typedef struct {
  char kind; /* 'f', 'i', 'u', 'b' */
  int size;  /* bytes per element */
  int big;   /* stored big-endian */
} ftype;

#define READS "lurn reads f4, f8 (as float32), i1, i2, i4, i8, u1, u2, u4 (as int64) and b1 (as bool)"

static int parse_descr(lt_ctx *c, const char *name, const uint8_t *s, size_t n, size_t off, ftype *ft) {
  char q[80];
  lt_quote_bytes(q, sizeof q, s, n);
  const uint8_t *p = s;
  size_t k = n;
  char order = '=';
  if (k && (*p == '<' || *p == '>' || *p == '|' || *p == '=')) order = (char)*p++, k--;
  if (k && *p == 'O')
    return bad(c, name, "dtype '%s' at byte %zu is an object array (pickled Python objects): "
               "lurn never unpickles; save a numeric array instead", q, off);
  int size = 0, valid = k >= 2;
  for (size_t i = 1; i < k && valid; i++) {
    valid = p[i] >= '0' && p[i] <= '9' && size < 100;
    size = size * 10 + (p[i] - '0');
  }
  char kind = k ? (char)p[0] : 0;
  if (valid && kind == 'u' && size == 8)
    return bad(c, name, "dtype '%s' (uint64) may not fit int64: save a.astype(np.int64) instead", q);
  int ok = valid && ((kind == 'f' && (size == 4 || size == 8)) ||
                     (kind == 'i' && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                     (kind == 'u' && (size == 1 || size == 2 || size == 4)) ||
                     (kind == 'b' && size == 1));
  if (!ok) return bad(c, name, "unsupported dtype '%s' at byte %zu (" READS ")", q, off);
  ft->kind = kind, ft->size = size;
  ft->big = order == '>' || ((order == '=' || order == '|') && !host_is_le());
  return 0;
}

/* {'descr': ..., 'fortran_order': ..., 'shape': ...}: each key exactly once, no other. */
static int parse_header(hparser *h, ftype *ft, int *fortran, int *ndim, int64_t *shape) {
  static const char *const keys[] = {"descr", "fortran_order", "shape"};
  int seen = 0;
  if (!accept(h, '{')) return expected(h, "'{' (the header is a Python dict)");
  while (!accept(h, '}')) {
    const uint8_t *s;
    size_t n, koff;
    skip_ws(h);
    koff = at(h);
    if (parse_str(h, &s, &n) < 0) return -1;
    int k = -1;
    for (int i = 0; i < 3; i++)
      if (strlen(keys[i]) == n && !memcmp(keys[i], s, n)) k = i;
    char q[80];
    if (k < 0)
      return bad(h->c, h->name, "header at byte %zu: unexpected key '%s' (a .npy header has "
                 "'descr', 'fortran_order' and 'shape')", koff, lt_quote_bytes(q, sizeof q, s, n));
    if (seen >> k & 1) return bad(h->c, h->name, "header at byte %zu: duplicate key '%s'", koff, keys[k]);
    seen |= 1 << k;
    if (!accept(h, ':')) return expected(h, "':'");
    if (k == 0) {
      skip_ws(h);
      size_t voff = at(h);
      if (h->p < h->end && *h->p == '[')
        return bad(h->c, h->name, "header at byte %zu: structured dtype (a list of fields) is not supported", voff);
      if (parse_str(h, &s, &n) < 0 || parse_descr(h->c, h->name, s, n, voff, ft) < 0) return -1;
    } else if (k == 1) {
      if (parse_bool(h, fortran) < 0) return -1;
    } else {
      if (parse_shape(h, ndim, shape) < 0) return -1;
    }
    if (!accept(h, ',')) {
      if (accept(h, '}')) break;
      return expected(h, "',' or '}'");
    }
  }
  for (int i = 0; i < 3; i++)
    if (!(seen >> i & 1)) return bad(h->c, h->name, "header has no '%s' key", keys[i]);
  skip_ws(h);
  if (h->p < h->end) /* only the padding may follow */
    return bad(h->c, h->name, "header at byte %zu: unexpected bytes after the dict", at(h));
  return 0;
}

/* One element of the file's integer/float bits, in its byte order. */
static uint64_t load(const uint8_t *p, int size, int big) {
  uint64_t u = 0;
  for (int i = 0; i < size; i++) u |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
  return u;
}

static void convert(lt_tensor *t, ftype ft, const uint8_t *p, size_t n) {
  int native = ft.big == !host_is_le();
  if (native && ((ft.kind == 'f' && ft.size == 4) || (ft.kind == 'i' && ft.size == 8))) {
    memcpy(lt_ptr(t), p, n * (size_t)ft.size); /* the common case: already lurn's bytes */
    return;
  }
  float *f = lt_f32(t);
  int64_t *l = lt_i64(t);
  uint8_t *b = lt_u8(t);
  int sz = ft.size;
  switch (ft.kind) {
  case 'f':
    for (size_t i = 0; i < n; i++) {
      uint64_t u = load(p + i * sz, sz, ft.big);
      if (sz == 4) {
        uint32_t u32 = (uint32_t)u;
        memcpy(&f[i], &u32, 4);
      } else {
        double d;
        memcpy(&d, &u, 8);
        f[i] = (float)d; /* out of range -> +-inf, as torch's .float() */
      }
    }
    break;
  case 'i': {
    int shift = 64 - 8 * sz; /* sign-extend from sz bytes */
    for (size_t i = 0; i < n; i++)
      l[i] = (int64_t)(load(p + i * sz, sz, ft.big) << shift) >> shift;
    break;
  }
  case 'u':
    for (size_t i = 0; i < n; i++) l[i] = (int64_t)load(p + i * sz, sz, ft.big);
    break;
  default: /* 'b': lurn bools are 0/1 whatever byte the file holds */
    for (size_t i = 0; i < n; i++) b[i] = p[i] != 0;
  }
}

lt_tensor *lt_npy_parse(lt_ctx *c, const char *name, const uint8_t *buf, size_t len) {
  size_t m = len < 6 ? len : 6;
  if (m && memcmp(buf, MAGIC, m))
    return bad(c, name, "not a .npy file (it does not start with \\x93NUMPY)"), NULL;
  if (len < 8) return bad(c, name, "file is %zu bytes, too short for a .npy file", len), NULL;
  int major = buf[6], minor = buf[7];
  if (major < 1 || major > 3 || minor != 0)
    return bad(c, name, "unsupported .npy format version %d.%d (lurn reads 1.0, 2.0 and 3.0)", major, minor), NULL;
  size_t start = major == 1 ? 10 : 12;
  if (len < start) return bad(c, name, "file is %zu bytes, too short for a .npy file", len), NULL;
  uint64_t hl = major == 1 ? (uint64_t)(buf[8] | buf[9] << 8)
                           : (uint64_t)buf[8] | (uint64_t)buf[9] << 8 | (uint64_t)buf[10] << 16 |
                                 (uint64_t)buf[11] << 24;
  if (hl > len - start)
    return bad(c, name, "header length %llu runs past the end of the %zu-byte file (truncated?)",
               (unsigned long long)hl, len), NULL;
  hparser h = {c, name, buf, buf + start, buf + start + hl};
  ftype ft = {0};
  int fortran = 0, ndim = 0;
  int64_t shape[LT_MAXDIM];
  if (parse_header(&h, &ft, &fortran, &ndim, shape) < 0) return NULL;

  char sh[128];
  lt_shape_str(sh, sizeof sh, ndim, shape);
  uint64_t nbytes = (uint64_t)ft.size, big_dims = 0;
  int zero = 0; /* a 0 anywhere makes it empty, whatever the other dims say */
  for (int d = 0; d < ndim; d++) zero |= shape[d] == 0, big_dims += shape[d] > 1;
  for (int d = 0; d < ndim && !zero; d++) {
    if (nbytes > UINT64_MAX / (uint64_t)shape[d])
      return bad(c, name, "shape %s is absurd: its byte size overflows", sh), NULL;
    nbytes *= (uint64_t)shape[d];
  }
  if (zero) nbytes = 0;
  /* Column-major data only differs from row-major when two dims exceed 1. */
  if (fortran && big_dims > 1 && nbytes)
    return bad(c, name, "fortran_order is True (column-major data, shape %s): lurn reads C order "
               "only; save np.ascontiguousarray(a) instead", sh), NULL;
  size_t data0 = start + (size_t)hl, have = len - data0;
  if (nbytes > have)
    return bad(c, name, "truncated: shape %s needs %llu data bytes but the file holds %zu after "
               "the header (offset %zu)", sh, (unsigned long long)nbytes, have, data0), NULL;
  if (nbytes < have)
    return bad(c, name, "%zu stray bytes after the data of shape %s (from offset %llu)",
               have - (size_t)nbytes, sh, (unsigned long long)(data0 + nbytes)), NULL;
  lt_dtype to = ft.kind == 'f' ? LT_F32 : ft.kind == 'b' ? LT_BOOL : LT_I64;
  lt_tensor *t = lt_empty(c, to, ndim, shape);
  if (!t) {
    char why[sizeof c->err];
    snprintf(why, sizeof why, "%s", c->err);
    return bad(c, name, "%s", why), NULL;
  }
  convert(t, ft, buf + data0, (size_t)lt_numel(t));
  return t;
}

lt_tensor *lt_npy_load(lt_ctx *c, const char *path) {
  char label[400];
  uint8_t *buf;
  size_t len;
  if (lt_read_file(c, lt_file_label(label, sizeof label, "read_npy", path), path, &buf, &len) < 0)
    return NULL;
  lt_tensor *t = lt_npy_parse(c, path, buf, len);
  free(buf);
  return t;
}

/* ---------------------------------------------------------------------------------
 * writer */

/* The magic, version, length and padded header numpy writes; returns its length. The
 * text fits easily: 8 dims of at most 19 digits. */
static size_t make_header(char *out, lt_dtype d, int ndim, const int64_t *shape) {
  char dict[512];
  const char *descr = d == LT_F32 ? "<f4" : d == LT_I64 ? "<i8" : "|b1";
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < ndim; i++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld", (long long)shape[i]);
  n += snprintf(dict + n, sizeof dict - (size_t)n, ndim == 1 ? ",), }" : "), }");
  if (ndim > 0) { /* room for the first dim to grow to 21 digits */
    int digits = snprintf(NULL, 0, "%lld", (long long)shape[0]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%*s", GROWTH_AXIS_MAX_DIGITS - digits, "");
  }
  /* spaces and '\n' so that magic + version + u16 length + header is a multiple of 64;
   * numpy adds a full 64 when it is already aligned */
  size_t hlen = (size_t)n + 1, pad = ARRAY_ALIGN - (10 + hlen) % ARRAY_ALIGN;
  size_t total = hlen + pad;
  memcpy(out, MAGIC, 6);
  out[6] = 1, out[7] = 0;
  out[8] = (char)(total & 0xff), out[9] = (char)(total >> 8);
  memcpy(out + 10, dict, (size_t)n);
  memset(out + 10 + n, ' ', pad);
  out[10 + total - 1] = '\n';
  return 10 + total;
}

/* The tensor's bytes, little-endian and row-major: a borrowed pointer when possible,
 * else a copy (*owned, to free; *tmp, to release). */
static const void *data_bytes(lt_ctx *c, const lt_tensor *t, lt_tensor **tmp, void **owned) {
  *tmp = NULL, *owned = NULL;
  if (!lt_is_contiguous(t)) {
    if (!(*tmp = lt_contiguous_raw(c, t))) return NULL;
    t = *tmp;
  }
  size_t esz = lt_dtype_size(t->dtype), n = (size_t)lt_numel(t);
  const uint8_t *p = (const uint8_t *)lt_ptr(t);
  if (esz == 1 || host_is_le()) return p;
  uint8_t *s = malloc(n * esz > 0 ? n * esz : 1); /* big-endian host: swap each element */
  if (!s) {
    lt_release(*tmp), *tmp = NULL;
    return lt_fail(c, "not enough memory");
  }
  for (size_t i = 0; i < n * esz; i++) s[i] = p[i / esz * esz + esz - 1 - i % esz];
  *owned = s;
  return s;
}

static size_t data_len(const lt_tensor *t) { return (size_t)lt_numel(t) * lt_dtype_size(t->dtype); }

int lt_npy_serialize(lt_ctx *c, const lt_tensor *t, uint8_t **out, size_t *len) {
  char hdr[1024];
  size_t hn = make_header(hdr, t->dtype, t->ndim, t->shape), dn = data_len(t);
  lt_tensor *tmp;
  void *owned;
  const void *data = data_bytes(c, t, &tmp, &owned);
  uint8_t *buf = data ? malloc(hn + dn) : NULL;
  if (buf) {
    memcpy(buf, hdr, hn);
    if (dn) memcpy(buf + hn, data, dn);
  }
  lt_release(tmp);
  free(owned);
  if (!buf) return lt_fail(c, "save_npy: not enough memory"), -1;
  *out = buf, *len = hn + dn;
  return 0;
}

int lt_npy_save(lt_ctx *c, const char *path, const lt_tensor *t) {
  char label[400], hdr[1024];
  lt_file_label(label, sizeof label, "save_npy", path);
  size_t hn = make_header(hdr, t->dtype, t->ndim, t->shape);
  lt_tensor *tmp;
  void *owned;
  const void *data = data_bytes(c, t, &tmp, &owned);
  if (!data) return lt_fail(c, "%s: not enough memory", label), -1;
  lt_span parts[2] = {{hdr, hn}, {data, data_len(t)}};
  int rc = lt_write_file_atomic(c, label, path, parts, 2);
  lt_release(tmp);
  free(owned);
  return rc;
}
