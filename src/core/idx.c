/* IDX reader (format and guarantees in idx.h).
 *
 * The bytes come from a source: the file image itself (plain) or zlib inflating it
 * chunk by chunk (gzip). Data is converted chunk by chunk straight into the tensor, so
 * a compressed file is never inflated whole into a second buffer. */
#include "idx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fileio.h"

#define CHUNK ((size_t)1 << 18) /* inflate output per step: stays in L2 cache */
#define MAX_RATIO 1032          /* deflate expands at most ~1032:1 */

static int bad(lt_ctx *c, const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lt_vfail_file(c, "read_idx", name, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---------------------------------------------------------------------------------
 * byte sources */

typedef struct {
  lt_ctx *c;
  const char *name;
  const uint8_t *buf;
  size_t len, pos; /* plain: read position in buf */
  int gz, ended;   /* gzip: the current member reached its end */
  z_stream z;
  uint8_t *chunk;  /* gzip: inflate output */
} source;

/* Up to want bytes (fewer only at the end of the data); *p points at them. Returns the
 * count, or -1 with an error set. */
static long long next(source *s, size_t want, const uint8_t **p) {
  if (!s->gz) {
    size_t k = s->len - s->pos < want ? s->len - s->pos : want;
    *p = s->buf + s->pos;
    s->pos += k;
    return (long long)k;
  }
  if (want > CHUNK) want = CHUNK;
  s->z.next_out = s->chunk;
  s->z.avail_out = (uInt)want;
  while (s->z.avail_out > 0) {
    if (s->ended) {
      if (s->z.avail_in == 0) break; /* the end of the last member */
      /* a gzip file may hold several members back to back; anything else is junk */
      if (s->z.avail_in < 2 || s->z.next_in[0] != 0x1f || s->z.next_in[1] != 0x8b)
        return bad(s->c, s->name, "unexpected bytes after the gzip stream (compressed offset %lu)",
                   (unsigned long)(s->len - s->z.avail_in));
      if (inflateReset(&s->z) != Z_OK) return bad(s->c, s->name, "gzip: cannot restart inflate");
      s->ended = 0;
    }
    int r = inflate(&s->z, Z_NO_FLUSH);
    if (r == Z_STREAM_END) {
      s->ended = 1;
    } else if (r == Z_BUF_ERROR && s->z.avail_in == 0) {
      return bad(s->c, s->name, "truncated gzip stream: the compressed data ends early");
    } else if (r == Z_MEM_ERROR) {
      return bad(s->c, s->name, "gzip: not enough memory");
    } else if (r != Z_OK) { /* Z_DATA_ERROR (a bad block or CRC), Z_NEED_DICT */
      return bad(s->c, s->name, "corrupt gzip data (%s) near compressed offset %lu",
                 s->z.msg ? s->z.msg : "invalid stream", (unsigned long)(s->len - s->z.avail_in));
    }
  }
  *p = s->chunk;
  return (long long)(want - s->z.avail_out);
}

/* Exactly n bytes into dst; *got says how many there were when fewer (returns 0). */
static int read_exact(source *s, uint8_t *dst, size_t n, size_t *got) {
  *got = 0;
  while (*got < n) {
    const uint8_t *p;
    long long k = next(s, n - *got, &p);
    if (k < 0) return -1;
    if (k == 0) break;
    memcpy(dst + *got, p, (size_t)k);
    *got += (size_t)k;
  }
  return 0;
}

/* ---------------------------------------------------------------------------------
 * types and conversion */

static const struct {
  uint8_t code;
  int size;
  int is_float;
  const char *name;
} types[] = {{0x08, 1, 0, "ubyte"}, {0x09, 1, 0, "sbyte"}, {0x0B, 2, 0, "short"},
             {0x0C, 4, 0, "int"},   {0x0D, 4, 1, "float"}, {0x0E, 8, 1, "double"}};

static uint64_t be(const uint8_t *p, int size) {
  uint64_t u = 0;
  for (int i = 0; i < size; i++) u = u << 8 | p[i];
  return u;
}

/* n elements of type ty at p into out (float32 or int64) from element index at. */
static void convert(int ty, lt_dtype to, const uint8_t *p, size_t n, void *out, size_t at) {
  float *f = (float *)out + at;
  int64_t *l = (int64_t *)out + at;
  switch (types[ty].code) {
  case 0x08: /* the MNIST case: plain loops the compiler vectorises */
    if (to == LT_F32) for (size_t i = 0; i < n; i++) f[i] = (float)p[i];
    else for (size_t i = 0; i < n; i++) l[i] = p[i];
    break;
  case 0x09:
    if (to == LT_F32) for (size_t i = 0; i < n; i++) f[i] = (float)(int8_t)p[i];
    else for (size_t i = 0; i < n; i++) l[i] = (int8_t)p[i];
    break;
  case 0x0B:
    for (size_t i = 0; i < n; i++) {
      int16_t v = (int16_t)(uint16_t)be(p + 2 * i, 2);
      if (to == LT_F32) f[i] = (float)v;
      else l[i] = v;
    }
    break;
  case 0x0C:
    for (size_t i = 0; i < n; i++) {
      int32_t v = (int32_t)(uint32_t)be(p + 4 * i, 4);
      if (to == LT_F32) f[i] = (float)v;
      else l[i] = v;
    }
    break;
  case 0x0D:
    for (size_t i = 0; i < n; i++) {
      uint32_t u = (uint32_t)be(p + 4 * i, 4);
      memcpy(&f[i], &u, 4);
    }
    break;
  default: /* 0x0E */
    for (size_t i = 0; i < n; i++) {
      uint64_t u = be(p + 8 * i, 8);
      double d;
      memcpy(&d, &u, 8);
      f[i] = (float)d; /* out of range -> +-inf, as torch's .float() */
    }
  }
}

/* ---------------------------------------------------------------------------------
 * the reader */

static lt_tensor *parse(source *s, int as) {
  lt_ctx *c = s->c;
  const char *name = s->name;
  const char *where = s->gz ? "decompressed data" : "file";
  uint8_t hdr[4 + 4 * 255];
  size_t got;
  if (read_exact(s, hdr, 4, &got) < 0) return NULL;
  if (got < 4) return bad(c, name, "the %s is %zu bytes, too short for an IDX header", where, got), NULL;
  if (hdr[0] || hdr[1])
    return bad(c, name, "not an IDX file: it starts with bytes 0x%02x 0x%02x, expected 0x00 0x00",
               hdr[0], hdr[1]), NULL;
  int ty = -1;
  for (int i = 0; i < (int)(sizeof types / sizeof *types); i++)
    if (types[i].code == hdr[2]) ty = i;
  if (ty < 0)
    return bad(c, name, "unknown IDX data type 0x%02x at byte 2 (expected 0x08 ubyte, 0x09 sbyte, "
               "0x0B short, 0x0C int, 0x0D float or 0x0E double)", hdr[2]), NULL;
  int ndim = hdr[3];
  if (ndim < 1 || ndim > LT_MAXDIM)
    return bad(c, name, "%d dimensions at byte 3 (lurn reads 1 to %d)", ndim, LT_MAXDIM), NULL;
  if (read_exact(s, hdr + 4, 4 * (size_t)ndim, &got) < 0) return NULL;
  if (got < 4 * (size_t)ndim)
    return bad(c, name, "truncated header: %d dimensions need %d bytes, the %s ends after %zu",
               ndim, 4 + 4 * ndim, where, 4 + got), NULL;
  int64_t shape[LT_MAXDIM];
  uint64_t nbytes = (uint64_t)types[ty].size; /* dims are < 2^32: 8 of them can overflow */
  int zero = 0;
  for (int d = 0; d < ndim; d++) shape[d] = (int64_t)be(hdr + 4 + 4 * d, 4), zero |= shape[d] == 0;
  char sh[128];
  lt_shape_str(sh, sizeof sh, ndim, shape);
  for (int d = 0; d < ndim && !zero; d++) {
    if (nbytes > UINT64_MAX / (uint64_t)shape[d])
      return bad(c, name, "dimensions %s are absurd: their byte size overflows", sh), NULL;
    nbytes *= (uint64_t)shape[d];
  }
  if (zero) nbytes = 0;
  size_t data0 = 4 + 4 * (size_t)ndim;
  if (!s->gz && nbytes != s->len - data0) {
    if (nbytes > s->len - data0)
      return bad(c, name, "truncated: %s %s needs %llu data bytes but the file holds %zu after "
                 "the header (offset %zu)", types[ty].name, sh, (unsigned long long)nbytes,
                 s->len - data0, data0), NULL;
    return bad(c, name, "%llu stray bytes after the data of %s %s (from offset %llu)",
               (unsigned long long)(s->len - data0 - nbytes), types[ty].name, sh,
               (unsigned long long)(data0 + nbytes)), NULL;
  }
  if (s->gz && nbytes / MAX_RATIO > s->len)
    return bad(c, name, "dimensions %s claim %llu data bytes, more than %zu compressed bytes can "
               "hold (corrupt header?)", sh, (unsigned long long)nbytes, s->len), NULL;
  lt_dtype to = as == LT_F32 || types[ty].is_float ? LT_F32 : LT_I64;
  if (as == LT_I64 && types[ty].is_float)
    return bad(c, name, "%s data cannot be read as int64", types[ty].name), NULL;
  lt_tensor *t = lt_empty(c, to, ndim, shape);
  if (!t) {
    char why[sizeof c->err];
    snprintf(why, sizeof why, "%s", c->err);
    return bad(c, name, "%s", why), NULL;
  }
  /* whole elements at a time; a chunk is a multiple of every element size */
  size_t esz = (size_t)types[ty].size, n = (size_t)(nbytes / esz), done = 0;
  while (done < n) {
    const uint8_t *p;
    size_t want = (n - done) * esz < CHUNK ? (n - done) * esz : CHUNK;
    long long k = next(s, want, &p);
    if (k < 0) goto fail;
    if ((size_t)k < want) { /* only a gzip stream can end early: a plain size was checked */
      bad(c, name, "truncated: %s %s needs %llu data bytes but the decompressed data holds %llu",
          types[ty].name, sh, (unsigned long long)nbytes, (unsigned long long)(done * esz + (size_t)k));
      goto fail;
    }
    convert(ty, to, p, want / esz, lt_ptr(t), done);
    done += want / esz;
  }
  if (s->gz) { /* the stream must end here; reading on also checks the CRC */
    const uint8_t *p;
    long long k = next(s, CHUNK, &p);
    uint64_t extra = 0;
    while (k > 0) extra += (uint64_t)k, k = next(s, CHUNK, &p);
    if (k < 0) goto fail;
    if (extra) {
      bad(c, name, "%llu stray bytes after the data of %s %s in the decompressed data",
          (unsigned long long)extra, types[ty].name, sh);
      goto fail;
    }
  }
  return t;
fail:
  lt_release(t);
  return NULL;
}

lt_tensor *lt_idx_parse(lt_ctx *c, const char *name, const uint8_t *buf, size_t len, int as) {
  if (as != LT_IDX_NATURAL && as != LT_F32 && as != LT_I64)
    return bad(c, name, "can only read as float32 or int64"), NULL;
  source s = {.c = c, .name = name, .buf = buf, .len = len};
  s.gz = len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
  if (!s.gz) return parse(&s, as);
  if (!(s.chunk = malloc(CHUNK))) return bad(c, name, "not enough memory"), NULL;
  s.z.next_in = (Bytef *)buf; /* zlib's API is not const, but it never writes input */
  /* avail_in is a uInt: files of 4 GiB or more would need feeding in pieces */
  if (len > 0xffffffffu) {
    free(s.chunk);
    return bad(c, name, "compressed file over 4 GiB"), NULL;
  }
  s.z.avail_in = (uInt)len;
  if (inflateInit2(&s.z, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip wrapper only */
    free(s.chunk);
    return bad(c, name, "gzip: cannot start inflate (not enough memory?)"), NULL;
  }
  lt_tensor *t = parse(&s, as);
  inflateEnd(&s.z);
  free(s.chunk);
  return t;
}

lt_tensor *lt_idx_load(lt_ctx *c, const char *path, int as) {
  char label[400];
  uint8_t *buf;
  size_t len;
  if (lt_read_file(c, lt_file_label(label, sizeof label, "read_idx", path), path, &buf, &len) < 0)
    return NULL;
  lt_tensor *t = lt_idx_parse(c, path, buf, len, as);
  free(buf);
  return t;
}
