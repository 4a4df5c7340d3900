/* Copies between tensors of any geometry and dtype, and fills. */
#include "core.h"

#include <string.h>

/* Strides of t (in bytes) broadcast to an ndim-dim shape; -1 if not broadcastable. */
int lt_broadcast_strides(const lt_tensor *t, int ndim, const int64_t *shape,
                             int64_t *bs) {
  int off = ndim - t->ndim;
  if (off < 0) return -1;
  int64_t esz = (int64_t)lt_dtype_size(t->dtype);
  for (int i = 0; i < ndim; i++) {
    if (i < off) {
      bs[i] = 0;
      continue;
    }
    int64_t s = t->shape[i - off];
    if (s == shape[i]) bs[i] = s == 1 ? 0 : t->stride[i - off] * esz;
    else if (s == 1) bs[i] = 0;
    else return -1;
  }
  return 0;
}

#define CONV_LOOP(DT, ST, EXPR)                                        \
  do {                                                                 \
    for (int64_t i = 0; i < n; i++) {                                  \
      ST v = *(const ST *)(p[1] + i * s[1]);                           \
      *(DT *)(p[0] + i * s[0]) = (DT)(EXPR);                           \
    }                                                                  \
  } while (0)

static void copy_inner(char **p, const int64_t *s, int64_t n, void *ud) {
  const lt_dtype *dt = ud; /* dt[0] = dst, dt[1] = src */
  if (dt[0] == dt[1]) {
    size_t esz = lt_dtype_size(dt[0]);
    if (s[0] == (int64_t)esz && s[1] == (int64_t)esz) {
      memmove(p[0], p[1], (size_t)n * esz);
      return;
    }
  }
  switch (dt[0] * 3 + dt[1]) {
  case LT_F32 * 3 + LT_F32: CONV_LOOP(float, float, v); break;
  case LT_F32 * 3 + LT_I64: CONV_LOOP(float, int64_t, v); break;
  case LT_F32 * 3 + LT_BOOL: CONV_LOOP(float, uint8_t, v); break;
  case LT_I64 * 3 + LT_F32: CONV_LOOP(int64_t, float, lt_to_i64(v)); break;
  case LT_I64 * 3 + LT_I64: CONV_LOOP(int64_t, int64_t, v); break;
  case LT_I64 * 3 + LT_BOOL: CONV_LOOP(int64_t, uint8_t, v); break;
  case LT_BOOL * 3 + LT_F32: CONV_LOOP(uint8_t, float, v != 0); break;
  case LT_BOOL * 3 + LT_I64: CONV_LOOP(uint8_t, int64_t, v != 0); break;
  case LT_BOOL * 3 + LT_BOOL: CONV_LOOP(uint8_t, uint8_t, v); break;
  }
}

int lt_copy_(lt_ctx *c, lt_tensor *dst, const lt_tensor *src) {
  int64_t bs[2][LT_MAXDIM];
  if (lt_broadcast_strides(src, dst->ndim, dst->shape, bs[1]) < 0) {
    lt_fail(c, "copy_: source of shape %s cannot be broadcast to destination shape %s",
            LT_SHAPE(src), LT_SHAPE(dst));
    return -1;
  }
  int64_t esz = (int64_t)lt_dtype_size(dst->dtype);
  for (int i = 0; i < dst->ndim; i++) bs[0][i] = dst->stride[i] * esz;
  char *base[2] = {lt_ptr(dst), lt_ptr(src)};
  lt_dtype dt[2] = {dst->dtype, src->dtype};
  lt_foreach(dst->ndim, dst->shape, 2, base, bs, copy_inner, dt);
  return 0;
}

static void fill_inner(char **p, const int64_t *s, int64_t n, void *ud) {
  const lt_tensor *v = ud; /* one-element tensor of the destination dtype */
  size_t esz = lt_dtype_size(v->dtype);
  for (int64_t i = 0; i < n; i++) memcpy(p[0] + i * s[0], lt_ptr(v), esz);
}

int lt_fill_(lt_ctx *c, lt_tensor *t, double v) { return lt_fill_num_(c, t, lt_num_f(v)); }

int lt_fill_num_(lt_ctx *c, lt_tensor *t, lt_num v) {
  (void)c;
  if (t->dtype == LT_F32 && lt_is_contiguous(t)) { /* the common case, vectorised */
    float *p = lt_f32(t), f = (float)v.d;
    for (int64_t i = 0, n = lt_numel(t); i < n; i++) p[i] = f;
    return 0;
  }
  union { float f; int64_t i; uint8_t b; } val;
  lt_tensor one = {.refs = 1, .dtype = t->dtype};
  lt_storage st = {.refs = 1, .data = &val};
  one.st = &st;
  if (t->dtype == LT_F32) val.f = (float)v.d;
  else if (t->dtype == LT_I64) val.i = lt_num_to_i64(v); /* an integer exactly */
  else val.b = v.is_int ? v.i != 0 : v.d != 0;
  int64_t bs[1][LT_MAXDIM];
  int64_t esz = (int64_t)lt_dtype_size(t->dtype);
  for (int i = 0; i < t->ndim; i++) bs[0][i] = t->stride[i] * esz;
  char *base[1] = {lt_ptr(t)};
  lt_foreach(t->ndim, t->shape, 1, base, bs, fill_inner, &one);
  return 0;
}

lt_tensor *lt_to_dtype_raw(lt_ctx *c, const lt_tensor *t, lt_dtype d) {
  lt_tensor *o = lt_empty(c, d, t->ndim, t->shape);
  if (o && lt_copy_(c, o, t) < 0) {
    lt_release(o);
    return NULL;
  }
  return o;
}

lt_tensor *lt_contiguous_raw(lt_ctx *c, const lt_tensor *t) {
  if (lt_is_contiguous(t)) {
    lt_retain((lt_tensor *)t);
    return (lt_tensor *)t;
  }
  return lt_to_dtype_raw(c, t, t->dtype);
}
