/* Neural-network ops with fused kernels: linear (one GEMM + a bias pass) and the
 * negative log-likelihood that cross-entropy is built on. */
#include "core.h"
#include "simd.h"

#include <math.h>
#include <string.h>

/* x viewed as [M, in]: a contiguous 2-D alias (copying only when x is not contiguous) */
static lt_tensor *as_rows(lt_ctx *c, const lt_tensor *x) {
  lt_tensor *xc = lt_contiguous_raw(c, x);
  if (!xc) return NULL;
  int64_t in = x->ndim ? x->shape[x->ndim - 1] : 1;
  int64_t sh[2] = {in ? lt_numel(x) / in : 0, in}, st[2] = {in, 1};
  lt_tensor *r = lt_alias(c, xc, 2, sh, st, xc->offset);
  lt_release(xc);
  return r;
}

/* gradients of y = x W^T + b given g2 = dL/dy as (M, out) rows */
static int linear_grads(lt_ctx *c, lt_node *n, lt_tensor *g2, lt_tensor **gin) {
  lt_tensor *x = n->in[0], *W = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
  int rc = 0;
  if (x->requires_grad) { /* dx = g W: (M, out) @ (out, in) */
    int64_t sh[2] = {g2->shape[0], W->shape[1]};
    lt_tensor *gx = lt_empty(c, LT_F32, 2, sh);
    if (!gx || lt_gemm(c, g2, W, gx, 0.f) < 0) rc = -1;
    if (gx && rc == 0) {
      gin[0] = lt_reshape(c, gx, x->ndim, x->shape, 0);
      if (!gin[0]) rc = -1;
    }
    lt_release(gx);
  }
  if (rc == 0 && W->requires_grad) { /* dW = g^T x: (out, M) @ (M, in); frozen: skipped */
    lt_tensor *x2 = as_rows(c, x);
    lt_tensor *gT = x2 ? lt_transpose(c, g2, 0, 1) : NULL;
    gin[1] = gT ? lt_grad_buffer(c, W) : NULL;
    if (!gin[1] || lt_gemm(c, gT, x2, gin[1], 0.f) < 0) rc = -1;
    lt_release(x2), lt_release(gT);
  }
  if (rc == 0 && b && b->requires_grad) { /* db = column sums of g */
    gin[2] = lt_grad_buffer(c, b); /* summed in PyTorch's order */
    if (!gin[2]) rc = -1;
    else lt_cascade_sum_rows(lt_f32(g2), g2->shape[0], g2->shape[1], lt_f32(gin[2]));
  }
  return rc;
}

static int linear_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *g2 = as_rows(c, g); /* (M, out) */
  if (!g2) return -1;
  int rc = linear_grads(c, n, g2, gin);
  lt_release(g2);
  return rc;
}

/* relu backward as ATen's threshold_backward: g where the output is > 0, else 0 */
LT_SIMD static void relu_mask(float *o, const float *g, const float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = y[i] > 0.f ? g[i] : 0.f;
}

static int linear_relu_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *y = n->saved[0]; /* the output, contiguous */
  lt_tensor *gc = lt_contiguous_raw(c, g);
  lt_tensor *gpre = gc ? lt_empty(c, LT_F32, y->ndim, y->shape) : NULL;
  if (gpre) relu_mask(lt_f32(gpre), lt_f32(gc), lt_f32(y), lt_numel(y));
  lt_release(gc);
  lt_tensor *g2 = gpre ? as_rows(c, gpre) : NULL;
  lt_release(gpre);
  if (!g2) return -1;
  int rc = linear_grads(c, n, g2, gin);
  lt_release(g2);
  return rc;
}

/* the bias pass, fused with the activation: y = max(y + b, 0) for relu */
LT_SIMD static void bias_act(float *y, const float *b, int64_t M, int64_t out, int relu) {
  for (int64_t i = 0; i < M; i++) {
    float *row = y + i * out;
    if (b && relu)
      for (int64_t j = 0; j < out; j++) {
        float v = row[j] + b[j];
        row[j] = v > 0.f ? v : 0.f;
      }
    else if (b)
      for (int64_t j = 0; j < out; j++) row[j] += b[j];
    else
      for (int64_t j = 0; j < out; j++) row[j] = row[j] > 0.f ? row[j] : 0.f;
  }
}

lt_tensor *lt_linear_act(lt_ctx *c, lt_tensor *x, lt_tensor *W, lt_tensor *b, int relu) {
  if (x->dtype != LT_F32 || W->dtype != LT_F32 || (b && b->dtype != LT_F32))
    return lt_fail(c, "linear: expected float32 input and parameters, got input of dtype %s",
                   lt_dtype_name(x->dtype));
  if (W->ndim != 2 || (b && (b->ndim != 1 || b->shape[0] != W->shape[0])))
    return lt_fail(c, "linear: weight must be [out, in] and bias [out] (got %s and %s)",
                   LT_SHAPE(W), b ? LT_SHAPE(b) : "none");
  int64_t in = W->shape[1], out = W->shape[0];
  if (x->ndim == 0 || x->shape[x->ndim - 1] != in)
    return lt_fail(c, "linear: input has shape %s, expected [*, %lld]", LT_SHAPE(x),
                   (long long)in);
  lt_tensor *x2 = as_rows(c, x);
  if (!x2) return NULL;
  int64_t M = x2->shape[0], osh[LT_MAXDIM];
  memcpy(osh, x->shape, sizeof osh);
  osh[x->ndim - 1] = out;
  lt_tensor *y = lt_empty(c, LT_F32, x->ndim, osh);
  lt_tensor *WT = y ? lt_transpose(c, W, 0, 1) : NULL; /* a view: BLAS reads it as Trans */
  int64_t y2sh[2] = {M, out}, y2st[2] = {out, 1};
  lt_tensor *y2 = WT ? lt_alias(c, y, 2, y2sh, y2st, 0) : NULL;
  int rc = y2 ? lt_gemm(c, x2, WT, y2, 0.f) : -1;
  lt_release(x2), lt_release(WT), lt_release(y2);
  if (rc < 0) {
    lt_release(y);
    return NULL;
  }
  if (b || relu) {
    /* 1-d parameters are contiguous unless a view */
    lt_tensor *bc = b && !lt_is_contiguous(b) ? lt_contiguous_raw(c, b) : b;
    if (b && !bc) goto fail;
    bias_act(lt_f32(y), bc ? lt_f32(bc) : NULL, M, out, relu);
    if (bc != b) lt_release(bc);
  }
  lt_node *node;
  lt_tensor *ins[3] = {x, W, b};
  if (lt_record(c, y, relu ? "linear_relu" : "linear", relu ? linear_relu_backward : linear_backward,
                b ? 3 : 2, ins, &node) < 0)
    goto fail;
  if (node && relu && !(node->saved[0] = lt_detach(c, y))) goto fail;
  return y;
fail:
  lt_release(y);
  return NULL;
}

lt_tensor *lt_linear(lt_ctx *c, lt_tensor *x, lt_tensor *W, lt_tensor *b) {
  return lt_linear_act(c, x, W, b, 0);
}

/* ---- negative log-likelihood ---- */
static int nll_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  const lt_tensor *logp = n->in[0], *target = n->in[1];
  const lt_tensor *weight = n->nin > 2 ? n->in[2] : NULL;
  int reduction = (int)n->iv[0];
  int64_t ignore = n->iv[1];
  double denom = n->dv[0];
  lt_tensor *gx = lt_full(c, LT_F32, logp->ndim, logp->shape, 0.0);
  lt_tensor *gc = gx ? lt_contiguous_raw(c, g) : NULL;
  lt_tensor *tc = gc ? lt_contiguous_raw(c, target) : NULL;
  lt_tensor *wc = tc && weight ? lt_contiguous_raw(c, weight) : NULL;
  if (!tc || (weight && !wc)) {
    lt_release(gx), lt_release(gc), lt_release(tc);
    return -1;
  }
  int64_t N = logp->ndim == 2 ? logp->shape[0] : 1, C = logp->shape[logp->ndim - 1];
  const int64_t *pt = lt_i64(tc);
  const float *pg = lt_f32(gc);
  float *po = lt_f32(gx);
  for (int64_t i = 0; i < N; i++) {
    int64_t t = pt[i];
    if (t == ignore) continue;
    double w = wc ? lt_f32(wc)[t] : 1.0;
    double gi = reduction == 0 ? pg[i] : reduction == 1 ? pg[0] / denom : pg[0];
    po[i * C + t] = (float)(-w * gi);
  }
  lt_release(gc), lt_release(tc), lt_release(wc);
  gin[0] = gx;
  return 0;
}

lt_tensor *lt_nll_loss(lt_ctx *c, const char *name, lt_tensor *logp, lt_tensor *target,
                       lt_tensor *weight, int64_t ignore_index, int reduction) {
  if (logp->dtype != LT_F32 || (logp->ndim != 1 && logp->ndim != 2))
    return lt_fail(c, "%s: input must be float32 [N, C] or [C] (got %s %s)", name,
                   lt_dtype_name(logp->dtype), LT_SHAPE(logp));
  if (target->dtype != LT_I64)
    return lt_fail(c, "%s: target must be int64 class indices (got %s %s); use :long(), or "
                      "pass class probabilities of the input's shape",
                   name, lt_dtype_name(target->dtype), LT_SHAPE(target));
  int64_t N = logp->ndim == 2 ? logp->shape[0] : 1, C = logp->shape[logp->ndim - 1];
  if (target->ndim != logp->ndim - 1 || (logp->ndim == 2 && target->shape[0] != N))
    return lt_fail(c, "%s: input of shape %s needs a target of shape [%lld], got %s", name,
                   LT_SHAPE(logp), (long long)N, LT_SHAPE(target));
  if (weight && (weight->dtype != LT_F32 || weight->ndim != 1 || weight->shape[0] != C))
    return lt_fail(c, "%s: class weight must be float32 [%lld], got %s %s", name, (long long)C,
                   lt_dtype_name(weight->dtype), LT_SHAPE(weight));
  lt_tensor *lc = lt_contiguous_raw(c, logp), *tc = lc ? lt_contiguous_raw(c, target) : NULL;
  lt_tensor *wc = tc && weight ? lt_contiguous_raw(c, weight) : NULL;
  lt_tensor *out = NULL;
  if (!tc || (weight && !wc)) goto done;
  const int64_t *pt = lt_i64(tc);
  for (int64_t i = 0; i < N; i++)
    if (pt[i] != ignore_index && (pt[i] < 0 || pt[i] >= C)) {
      lt_fail(c, "%s: target class %lld at position %lld is out of range for %lld classes "
                 "(expected 0..%lld)",
              name, (long long)pt[i], (long long)i, (long long)C, (long long)(C - 1));
      goto done;
    }
  int64_t osh[1] = {N};
  out = reduction == 0 ? lt_empty(c, LT_F32, logp->ndim - 1, osh) : lt_scalar(c, LT_F32, 0);
  if (!out) goto done;
  const float *pl = lt_f32(lc);
  double total = 0, denom = 0;
  for (int64_t i = 0; i < N; i++) {
    int64_t t = pt[i];
    double w = t == ignore_index ? 0.0 : wc ? lt_f32(wc)[t] : 1.0;
    double li = t == ignore_index ? 0.0 : -w * pl[i * C + t];
    if (reduction == 0) lt_f32(out)[i] = (float)li;
    total += li, denom += w;
  }
  if (reduction == 1) lt_f32(out)[0] = (float)(total / denom); /* all ignored: nan, as PyTorch */
  else if (reduction == 2) lt_f32(out)[0] = (float)total;
  lt_node *node;
  lt_tensor *ins[3] = {logp, target, weight};
  if (lt_record(c, out, name, nll_backward, weight ? 3 : 2, ins, &node) < 0) {
    lt_release(out);
    out = NULL;
  } else if (node) {
    node->iv[0] = reduction, node->iv[1] = ignore_index, node->dv[0] = denom;
  }
done:
  lt_release(lc), lt_release(tc), lt_release(wc);
  return out;
}

/* ---- binary cross-entropy on probabilities (PyTorch's formulas, logs clamped at -100
 * so p = 0 or 1 gives a finite loss) ---- */
static int bce_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  const lt_tensor *x = n->in[0], *y = n->in[1], *w = n->nin > 2 ? n->in[2] : NULL;
  int reduction = (int)n->iv[0];
  lt_tensor *xc = lt_contiguous_raw(c, x), *yc = xc ? lt_contiguous_raw(c, y) : NULL;
  lt_tensor *gc = yc ? lt_contiguous_raw(c, g) : NULL;
  lt_tensor *gx = gc ? lt_empty(c, LT_F32, x->ndim, x->shape) : NULL;
  if (gx) {
    const float *px = lt_f32(xc), *py = lt_f32(yc), *pg = lt_f32(gc), *pw = w ? lt_f32(w) : NULL;
    float *po = lt_f32(gx), numel = (float)lt_numel(x);
    for (int64_t i = 0, m = lt_numel(x); i < m; i++) {
      float gi = reduction == 0 ? pg[i] : pg[0], xi = px[i], d = (1.f - xi) * xi;
      float v = gi * (xi - py[i]) / (d > 1e-12f ? d : 1e-12f);
      if (pw) v *= pw[i];
      po[i] = reduction == 1 ? v / numel : v;
    }
  }
  lt_release(xc), lt_release(yc), lt_release(gc);
  gin[0] = gx;
  return gx ? 0 : -1;
}

lt_tensor *lt_bce(lt_ctx *c, const char *name, lt_tensor *x, lt_tensor *y, lt_tensor *w,
                  int reduction) {
  if (x->dtype != LT_F32 || y->dtype != LT_F32 || !lt_same_shape(x, y))
    return lt_fail(c, "%s: input (%s %s) and target (%s %s) must be float32 of one shape", name,
                   lt_dtype_name(x->dtype), LT_SHAPE(x), lt_dtype_name(y->dtype), LT_SHAPE(y));
  lt_tensor *wc = NULL;
  if (w) { /* the weight broadcasts to the input; keep a contiguous expanded copy */
    if (w->dtype != LT_F32) return lt_fail(c, "%s: weight must be float32", name);
    lt_tensor *we = lt_expand(c, w, x->ndim, x->shape);
    if (!we) return lt_fail(c, "%s: weight of shape %s does not broadcast to input %s", name,
                            LT_SHAPE(w), LT_SHAPE(x));
    wc = lt_to_dtype_raw(c, we, LT_F32);
    lt_release(we);
    if (!wc) return NULL;
  }
  lt_tensor *xc = lt_contiguous_raw(c, x), *yc = xc ? lt_contiguous_raw(c, y) : NULL, *out = NULL;
  if (!yc) goto done;
  const float *px = lt_f32(xc), *py = lt_f32(yc), *pw = wc ? lt_f32(wc) : NULL;
  int64_t m = lt_numel(x);
  for (int64_t i = 0; i < m; i++)
    if (!(px[i] >= 0.f && px[i] <= 1.f)) {
      lt_fail(c, "%s: input must be probabilities in [0, 1] (element %lld is %g); apply "
                 "sigmoid first, or use BCEWithLogitsLoss on logits", name, (long long)i, px[i]);
      goto done;
    }
  out = reduction == 0 ? lt_empty(c, LT_F32, x->ndim, x->shape) : lt_scalar(c, LT_F32, 0);
  if (!out) goto done;
  double total = 0;
  for (int64_t i = 0; i < m; i++) {
    float l1 = log1pf(-px[i]), l0 = logf(px[i]);
    float l = (py[i] - 1.f) * (l1 > -100.f ? l1 : -100.f) - py[i] * (l0 > -100.f ? l0 : -100.f);
    if (pw) l *= pw[i];
    if (reduction == 0) lt_f32(out)[i] = l;
    total += l;
  }
  if (reduction == 1) lt_f32(out)[0] = (float)(total / (double)m);
  else if (reduction == 2) lt_f32(out)[0] = (float)total;
  lt_node *node;
  lt_tensor *ins[3] = {x, y, wc};
  if (lt_record(c, out, name, bce_backward, wc ? 3 : 2, ins, &node) < 0) {
    lt_release(out);
    out = NULL;
  } else if (node) {
    node->iv[0] = reduction;
  }
done:
  lt_release(xc), lt_release(yc), lt_release(wc);
  return out;
}
