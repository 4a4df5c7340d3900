/* Tensor exchange with the host: lurn_Tensor is the core's lt_tensor, reference counted.
 * Nothing here touches Lua, so nothing here can raise. */
#include <stdio.h>
#include <string.h>

#include "embed.h"

#define T(t) ((lt_tensor *)(t))

lurn_Tensor *lurn_tensor_from_buffer(lurn_State *S, const float *data, int ndim,
                                     const int64_t *shape, lurn_Mode mode) {
  if (!S) return NULL;
  S->err[0] = '\0';
  const char *bad = !data                             ? "NULL data"
                    : ndim < 0 || ndim > LT_MAXDIM     ? "ndim out of range (0..8)"
                    : ndim > 0 && !shape               ? "NULL shape with ndim > 0"
                    : mode != LURN_COPY && mode != LURN_BORROW ? "mode is neither LURN_COPY nor LURN_BORROW"
                                                       : NULL;
  if (bad) {
    snprintf(S->err, sizeof S->err, "lurn_tensor_from_buffer: %s", bad);
    return NULL;
  }
  /* the core checks the shape as for any tensor (negative sizes; element and byte counts
   * bounded without overflow, zero dims included) before anything is allocated */
  lt_tensor *t;
  if (mode == LURN_BORROW) {
    t = lt_from_borrowed(S->ctx, LT_F32, ndim, shape, (void *)data);
  } else {
    t = lt_empty(S->ctx, LT_F32, ndim, shape);
    if (t) memcpy(lt_f32(t), data, (size_t)lt_numel(t) * sizeof(float));
  }
  if (!t) snprintf(S->err, sizeof S->err, "lurn_tensor_from_buffer: %s", S->ctx->err);
  return (lurn_Tensor *)t;
}

float *lurn_tensor_data(lurn_Tensor *t) {
  if (!t || T(t)->dtype != LT_F32 || !lt_is_contiguous(T(t))) return NULL;
  return lt_f32(T(t));
}

int lurn_tensor_read(const lurn_Tensor *t, float *out, int64_t n) {
  if (!t || !out || n != lt_numel(T(t))) return LURN_ERRARG;
  if (T(t)->dtype == LT_F32 && lt_is_contiguous(T(t))) {
    memcpy(out, lt_f32(T(t)), (size_t)n * sizeof *out);
  } else {
    for (int64_t i = 0; i < n; i++) out[i] = (float)lt_get(T(t), i);
  }
  return LURN_OK;
}

int lurn_tensor_ndim(const lurn_Tensor *t) { return t ? T(t)->ndim : -1; }

int64_t lurn_tensor_numel(const lurn_Tensor *t) { return t ? lt_numel(T(t)) : -1; }

int lurn_tensor_shape(const lurn_Tensor *t, int64_t *shape, int max) {
  if (!t) return -1;
  for (int i = 0; shape && i < T(t)->ndim && i < max; i++) shape[i] = T(t)->shape[i];
  return T(t)->ndim;
}

void lurn_tensor_retain(lurn_Tensor *t) { lt_retain(T(t)); }
void lurn_tensor_release(lurn_Tensor *t) { lt_release(T(t)); }
