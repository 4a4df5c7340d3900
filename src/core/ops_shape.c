/* Shape ops. Everything but index_select and cat returns a view sharing storage. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* Backward of any op that only changed the shape: reshape g back to the input's. */
static int reshape_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  gin[0] = lt_reshape(c, g, n->in[0]->ndim, n->in[0]->shape, 0);
  return gin[0] ? 0 : -1;
}

static lt_tensor *record1(lt_ctx *c, lt_tensor *out, lt_tensor *x, const char *op,
                          lt_backward_fn fn, lt_node **node) {
  lt_node *dummy;
  if (!out) return NULL;
  if (lt_record(c, out, op, fn, 1, &x, node ? node : &dummy) < 0) {
    lt_release(out);
    return NULL;
  }
  return out;
}

lt_tensor *lt_reshape(lt_ctx *c, lt_tensor *x, int ndim, const int64_t *shape, int view_only) {
  const char *op = view_only ? "view" : "reshape";
  if (ndim > LT_MAXDIM) return lt_fail(c, "%s: at most %d dims", op, LT_MAXDIM);
  /* nz: the product of the non-zero sizes, which the strides multiply even when a 0 makes
   * the tensor empty: it must fit int64 too ([0, 2^62, 4] on an empty tensor) */
  int64_t sh[LT_MAXDIM], known = 1, nz = 1;
  int infer = -1;
  for (int i = 0; i < ndim; i++) {
    sh[i] = shape[i];
    if (shape[i] == -1) {
      if (infer >= 0) return lt_fail(c, "%s: only one dimension can be -1", op);
      infer = i;
    } else if (shape[i] < 0) {
      return lt_fail(c, "%s: invalid size %lld in shape", op, (long long)shape[i]);
    } else {
      if (shape[i] && nz > INT64_MAX / shape[i]) /* the element count must fit int64 */
        return lt_fail(c, "%s: shape %s has too many elements", op,
                       lt_shape_str((char[128]){0}, 128, ndim, shape));
      known *= shape[i];
      if (shape[i]) nz *= shape[i];
    }
  }
  int64_t numel = lt_numel(x);
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      return lt_fail(c, "%s: shape %s is invalid for input of size %lld (shape %s)", op,
                     lt_shape_str((char[128]){0}, 128, ndim, shape), (long long)numel,
                     LT_SHAPE(x));
    sh[infer] = numel / known;
    known = numel;
  }
  if (known != numel)
    return lt_fail(c, "%s: shape %s is invalid for input of size %lld (shape %s)", op,
                   lt_shape_str((char[128]){0}, 128, ndim, shape), (long long)numel,
                   LT_SHAPE(x));
  lt_tensor *out;
  if (lt_is_contiguous(x)) {
    int64_t st[LT_MAXDIM];
    lt_contiguous_strides(ndim, sh, st);
    out = lt_alias(c, x, ndim, sh, st, x->offset);
  } else if (view_only) {
    return lt_fail(c, "view: input of shape %s is not contiguous; use reshape (which copies) "
                      "or call :contiguous() first", LT_SHAPE(x));
  } else {
    lt_tensor *xc = lt_contiguous_raw(c, x);
    if (!xc) return NULL;
    int64_t st[LT_MAXDIM];
    lt_contiguous_strides(ndim, sh, st);
    out = lt_alias(c, xc, ndim, sh, st, 0);
    lt_release(xc);
  }
  return record1(c, out, x, op, reshape_backward, NULL);
}

lt_tensor *lt_unsqueeze(lt_ctx *c, lt_tensor *x, int64_t dim) {
  if (x->ndim >= LT_MAXDIM) return lt_fail(c, "unsqueeze: at most %d dims", LT_MAXDIM);
  int d = lt_wrap_dim(c, "unsqueeze", dim, x->ndim + 1);
  if (d < 0) return NULL;
  int64_t sh[LT_MAXDIM], st[LT_MAXDIM];
  for (int i = 0, k = 0; i <= x->ndim; i++) {
    if (i == d) {
      sh[i] = 1;
      st[i] = k < x->ndim ? x->stride[k] * x->shape[k] : 1;
    } else {
      sh[i] = x->shape[k], st[i] = x->stride[k];
      k++;
    }
  }
  return record1(c, lt_alias(c, x, x->ndim + 1, sh, st, x->offset), x, "unsqueeze",
                 reshape_backward, NULL);
}

lt_tensor *lt_squeeze(lt_ctx *c, lt_tensor *x, int64_t dim, int all) {
  int d = -1;
  if (!all && (d = lt_wrap_dim(c, "squeeze", dim, x->ndim)) < 0) return NULL;
  int64_t sh[LT_MAXDIM], st[LT_MAXDIM];
  int k = 0;
  for (int i = 0; i < x->ndim; i++) {
    int drop = x->shape[i] == 1 && (all || i == d);
    if (!drop) sh[k] = x->shape[i], st[k] = x->stride[i], k++;
  }
  return record1(c, lt_alias(c, x, k, sh, st, x->offset), x, "squeeze", reshape_backward,
                 NULL);
}

static int permute_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int nd = n->in[0]->ndim;
  int64_t inv[LT_MAXDIM];
  for (int i = 0; i < nd; i++) inv[n->iv[i]] = i;
  gin[0] = lt_permute(c, g, nd, inv);
  return gin[0] ? 0 : -1;
}

lt_tensor *lt_permute(lt_ctx *c, lt_tensor *x, int n, const int64_t *perm) {
  if (n != x->ndim)
    return lt_fail(c, "permute: got %d dims for a tensor of shape %s", n, LT_SHAPE(x));
  int64_t sh[LT_MAXDIM], st[LT_MAXDIM], p[LT_MAXDIM];
  int seen[LT_MAXDIM] = {0};
  for (int i = 0; i < n; i++) {
    int d = lt_wrap_dim(c, "permute", perm[i], n);
    if (d < 0) return NULL;
    if (seen[d]++) return lt_fail(c, "permute: dim %d repeated", d);
    p[i] = d, sh[i] = x->shape[d], st[i] = x->stride[d];
  }
  lt_node *node = NULL;
  lt_tensor *out = record1(c, lt_alias(c, x, n, sh, st, x->offset), x, "permute",
                           permute_backward, &node);
  if (node) memcpy(node->iv, p, (size_t)n * sizeof *p);
  return out;
}

lt_tensor *lt_transpose(lt_ctx *c, lt_tensor *x, int64_t d0, int64_t d1) {
  int a = lt_wrap_dim(c, "transpose", d0, x->ndim);
  int b = a < 0 ? -1 : lt_wrap_dim(c, "transpose", d1, x->ndim);
  if (b < 0) return NULL;
  int64_t p[LT_MAXDIM];
  for (int i = 0; i < x->ndim; i++) p[i] = i;
  p[a] = b, p[b] = a;
  return lt_permute(c, x, x->ndim, p);
}

static int narrow_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *x = n->in[0];
  lt_tensor *gx = lt_full(c, LT_F32, x->ndim, x->shape, 0.0);
  lt_tensor *slot = gx ? lt_narrow(c, gx, n->iv[0], n->iv[1], n->out_shape[n->iv[0]]) : NULL;
  int rc = slot ? lt_copy_(c, slot, g) : -1;
  lt_release(slot);
  if (rc < 0) {
    lt_release(gx);
    return -1;
  }
  gin[0] = gx;
  return 0;
}

lt_tensor *lt_narrow(lt_ctx *c, lt_tensor *x, int64_t dim, int64_t start, int64_t len) {
  int d = lt_wrap_dim(c, "narrow", dim, x->ndim);
  if (d < 0) return NULL;
  if (x->ndim == 0) return lt_fail(c, "narrow: cannot narrow a 0-d tensor");
  int64_t size = x->shape[d];
  if (start < 0) start += size;
  if (start < 0 || len < 0 || start > size || len > size - start)
    return lt_fail(c, "narrow: range start %lld length %lld is out of bounds for dim %d of "
                      "size %lld (shape %s)",
                   (long long)start, (long long)len, d, (long long)size, LT_SHAPE(x));
  int64_t sh[LT_MAXDIM];
  memcpy(sh, x->shape, sizeof sh);
  sh[d] = len;
  lt_node *node = NULL;
  lt_tensor *out = record1(c, lt_alias(c, x, x->ndim, sh, x->stride, x->offset + start * x->stride[d]),
                           x, "narrow", narrow_backward, &node);
  if (node) node->iv[0] = d, node->iv[1] = start;
  return out;
}

static int expand_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  gin[0] = lt_sum_to(c, g, n->in[0]->ndim, n->in[0]->shape);
  return gin[0] ? 0 : -1;
}

lt_tensor *lt_expand(lt_ctx *c, lt_tensor *x, int ndim, const int64_t *shape) {
  if (ndim < x->ndim || ndim > LT_MAXDIM)
    return lt_fail(c, "expand: cannot expand shape %s to %s", LT_SHAPE(x),
                   lt_shape_str((char[128]){0}, 128, ndim, shape));
  int64_t sh[LT_MAXDIM], st[LT_MAXDIM];
  int off = ndim - x->ndim;
  for (int i = 0; i < ndim; i++) {
    int64_t want = shape[i];
    if (i < off) {
      if (want < 0) goto bad;
      sh[i] = want, st[i] = 0;
      continue;
    }
    int64_t have = x->shape[i - off];
    if (want == -1) want = have;
    if (want == have) sh[i] = have, st[i] = x->stride[i - off];
    else if (have == 1 && want >= 0) sh[i] = want, st[i] = 0;
    else goto bad;
  }
  int64_t total = 1;
  for (int i = 0; i < ndim; i++) { /* the element count must fit int64 */
    if (sh[i] && total > INT64_MAX / sh[i])
      return lt_fail(c, "expand: shape %s has too many elements",
                     lt_shape_str((char[128]){0}, 128, ndim, shape));
    if (sh[i]) total *= sh[i]; /* even past a 0: loops multiply the other sizes */
  }
  return record1(c, lt_alias(c, x, ndim, sh, st, x->offset), x, "expand", expand_backward,
                 NULL);
bad:
  return lt_fail(c, "expand: cannot expand shape %s to %s (only size-1 dims can grow)",
                 LT_SHAPE(x), lt_shape_str((char[128]){0}, 128, ndim, shape));
}

/* ---- index_select ---- */
static lt_tensor *gather_rows(lt_ctx *c, const lt_tensor *x, int d, const lt_tensor *idx,
                              const lt_tensor *into_grad) {
  /* forward: out[o, j, i] = x[o, idx[j], i]; backward (into_grad = g): x-shaped zeros
   * with g rows added at idx */
  const lt_tensor *src = into_grad ? into_grad : x;
  lt_tensor *sc = lt_contiguous_raw(c, src);
  if (!sc) return NULL;
  int64_t n = lt_numel(idx), outer = 1, inner = 1, size = x->shape[d];
  for (int i = 0; i < d; i++) outer *= x->shape[i];
  for (int i = d + 1; i < x->ndim; i++) inner *= x->shape[i];
  int64_t sh[LT_MAXDIM];
  memcpy(sh, x->shape, sizeof sh);
  if (!into_grad) sh[d] = n;
  lt_tensor *out = into_grad ? lt_full(c, LT_F32, x->ndim, x->shape, 0.0)
                             : lt_empty(c, x->dtype, x->ndim, sh);
  if (!out) {
    lt_release(sc);
    return NULL;
  }
  const int64_t *pi = lt_i64(idx);
  size_t esz = lt_dtype_size(out->dtype);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < n; j++) {
      int64_t r = pi[j] < 0 ? pi[j] + size : pi[j];
      if (into_grad) {
        float *dst = lt_f32(out) + (o * size + r) * inner;
        const float *g = lt_f32(sc) + (o * n + j) * inner;
        for (int64_t i = 0; i < inner; i++) dst[i] += g[i];
      } else {
        memcpy(lt_ptr(out) + (size_t)((o * n + j) * inner) * esz,
               lt_ptr(sc) + (size_t)((o * size + r) * inner) * esz, (size_t)inner * esz);
      }
    }
  lt_release(sc);
  return out;
}

static int index_select_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  gin[0] = gather_rows(c, n->in[0], (int)n->iv[0], n->saved[0], g);
  return gin[0] ? 0 : -1;
}

lt_tensor *lt_index_select(lt_ctx *c, lt_tensor *x, int64_t dim, lt_tensor *index) {
  int d = lt_wrap_dim(c, "index_select", dim, x->ndim);
  if (d < 0) return NULL;
  if (x->ndim == 0) return lt_fail(c, "index_select: input is 0-d");
  if (index->dtype != LT_I64 || index->ndim > 1)
    return lt_fail(c, "index_select: index must be a 1-d int64 tensor (got %s of shape %s)",
                   lt_dtype_name(index->dtype), LT_SHAPE(index));
  lt_tensor *idx = lt_contiguous_raw(c, index);
  if (!idx) return NULL;
  int64_t size = x->shape[d];
  for (int64_t j = 0, n = lt_numel(idx); j < n; j++) {
    int64_t v = lt_i64(idx)[j];
    if (v < -size || v >= size) {
      lt_release(idx);
      return lt_fail(c, "index_select: index %lld is out of range for dim %d of size %lld "
                        "(shape %s)", (long long)v, d, (long long)size, LT_SHAPE(x));
    }
  }
  lt_node *node = NULL;
  lt_tensor *out = record1(c, gather_rows(c, x, d, idx, NULL), x, "index_select",
                           index_select_backward, &node);
  if (node) {
    node->iv[0] = d;
    node->saved[0] = idx;
  } else {
    lt_release(idx);
  }
  return out;
}

/* ---- cat / stack ---- */
static int cat_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  int d = (int)n->iv[0];
  int64_t start = 0;
  for (int i = 0; i < n->nin; i++) {
    int64_t len = n->in[i]->shape[d];
    if (n->in[i]->requires_grad && !(gin[i] = lt_narrow(c, g, d, start, len))) return -1;
    start += len;
  }
  return 0;
}

lt_tensor *lt_cat(lt_ctx *c, int n, lt_tensor **xs, int64_t dim) {
  if (n <= 0) return lt_fail(c, "cat: expected a non-empty list of tensors");
  const lt_tensor *x0 = xs[0];
  if (x0->ndim == 0) return lt_fail(c, "cat: zero-dimensional tensor (index 1) cannot be concatenated");
  int d = lt_wrap_dim(c, "cat", dim, x0->ndim);
  if (d < 0) return NULL;
  int64_t sh[LT_MAXDIM];
  memcpy(sh, x0->shape, sizeof sh);
  sh[d] = 0;
  for (int i = 0; i < n; i++) {
    const lt_tensor *x = xs[i];
    int ok = x->ndim == x0->ndim && x->dtype == x0->dtype;
    for (int k = 0; ok && k < x->ndim; k++) ok = k == d || x->shape[k] == x0->shape[k];
    if (!ok)
      return lt_fail(c, "cat: tensor %d has shape %s (%s) but tensor 1 has shape %s (%s); "
                        "all must match except in dim %d",
                     i + 1, LT_SHAPE(x), lt_dtype_name(x->dtype), LT_SHAPE(x0),
                     lt_dtype_name(x0->dtype), d);
    sh[d] += x->shape[d];
  }
  lt_tensor *out = lt_empty(c, x0->dtype, x0->ndim, sh);
  if (!out) return NULL;
  int64_t start = 0;
  for (int i = 0; i < n; i++) {
    lt_tensor *slot = lt_alias(c, out, out->ndim, out->shape, out->stride,
                               start * out->stride[d]);
    if (!slot) goto fail;
    slot->shape[d] = xs[i]->shape[d];
    int rc = lt_copy_(c, slot, xs[i]);
    lt_release(slot);
    if (rc < 0) goto fail;
    start += xs[i]->shape[d];
  }
  lt_node *node;
  if (lt_record(c, out, "cat", cat_backward, n, xs, &node) < 0) goto fail;
  if (node) node->iv[0] = d;
  return out;
fail:
  lt_release(out);
  return NULL;
}

lt_tensor *lt_stack(lt_ctx *c, int n, lt_tensor **xs, int64_t dim) {
  if (n <= 0) return lt_fail(c, "stack: expected a non-empty list of tensors");
  for (int i = 1; i < n; i++)
    if (!lt_same_shape(xs[i], xs[0]))
      return lt_fail(c, "stack: tensor %d has shape %s but tensor 1 has shape %s", i + 1,
                     LT_SHAPE(xs[i]), LT_SHAPE(xs[0]));
  int d = lt_wrap_dim(c, "stack", dim, xs[0]->ndim + 1);
  if (d < 0) return NULL;
  lt_tensor **us = calloc((size_t)n, sizeof *us);
  if (!us) return lt_fail(c, "stack: not enough memory");
  lt_tensor *out = NULL;
  int i = 0;
  for (; i < n; i++)
    if (!(us[i] = lt_unsqueeze(c, xs[i], d))) break;
  if (i == n) out = lt_cat(c, n, us, d);
  for (int k = 0; k < i; k++) lt_release(us[k]);
  free(us);
  return out;
}
