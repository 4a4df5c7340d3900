/* Matrix products through cblas_sgemm. Transposed views are passed to BLAS as
 * transposes, never copied. */
#include "core.h"

#include <cblas.h>
#include <string.h>

/* How BLAS can read a 2-D view: row-major (NoTrans) or as the transpose of a row-major
 * matrix (Trans). Returns 0 when the strides allow neither. */
static int blas_layout(const lt_tensor *t, CBLAS_TRANSPOSE *tr, int *ld) {
  int64_t rows = t->shape[0], cols = t->shape[1], s0 = t->stride[0], s1 = t->stride[1];
  int64_t cmax = cols > 1 ? cols : 1, rmax = rows > 1 ? rows : 1;
  if ((s1 == 1 || cols == 1) && (rows == 1 || s0 >= cmax)) {
    *tr = CblasNoTrans;
    *ld = (int)(rows == 1 ? cmax : s0);
    return 1;
  }
  if ((s0 == 1 || rows == 1) && (cols == 1 || s1 >= rmax)) {
    *tr = CblasTrans;
    *ld = (int)(cols == 1 ? rmax : s1);
    return 1;
  }
  return 0;
}

int lt_gemm(lt_ctx *c, const lt_tensor *a, const lt_tensor *b, lt_tensor *out, float beta) {
  int64_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
  if (M == 0 || N == 0) return 0;
  if (K == 0) {
    if (beta == 0.f) lt_fill_(c, out, 0.0);
    return 0;
  }
  if (M > 0x7fffffff || N > 0x7fffffff || K > 0x7fffffff) {
    lt_fail(c, "matmul: dimensions too large for BLAS");
    return -1;
  }
  const lt_tensor *ac = a, *bc = b;
  CBLAS_TRANSPOSE ta = CblasNoTrans, tb = CblasNoTrans;
  int lda = 1, ldb = 1;
  if (!blas_layout(a, &ta, &lda)) {
    if (!(ac = lt_contiguous_raw(c, a))) return -1;
    blas_layout(ac, &ta, &lda);
  }
  if (!blas_layout(b, &tb, &ldb)) {
    if (!(bc = lt_contiguous_raw(c, b))) {
      if (ac != a) lt_release((lt_tensor *)ac);
      return -1;
    }
    blas_layout(bc, &tb, &ldb);
  }
  int ldc = (int)(M == 1 ? N : out->stride[0]);
  cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)K, 1.0f, lt_f32(ac), lda,
              lt_f32(bc), ldb, beta, lt_f32(out), ldc);
  if (ac != a) lt_release((lt_tensor *)ac);
  if (bc != b) lt_release((lt_tensor *)bc);
  return 0;
}

/* 2-D view of batch element `i` of a batched tensor (last two dims) */
static void batch_view(const lt_tensor *t, int64_t off, lt_tensor *v) {
  *v = *t;
  v->ndim = 2;
  v->shape[0] = t->shape[t->ndim - 2], v->shape[1] = t->shape[t->ndim - 1];
  v->stride[0] = t->stride[t->ndim - 2], v->stride[1] = t->stride[t->ndim - 1];
  v->offset = t->offset + off;
}

static int matmul_backward(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin) {
  lt_tensor *a = n->in[0], *b = n->in[1];
  int rc = 0;
  if (a->requires_grad) { /* dA = g @ B^T, reduced over broadcast batch dims */
    lt_tensor *bt = lt_transpose(c, b, -1, -2);
    lt_tensor *p = bt ? lt_matmul(c, g, bt) : NULL;
    gin[0] = p ? lt_sum_to(c, p, a->ndim, a->shape) : NULL;
    lt_release(bt), lt_release(p);
    if (!gin[0]) rc = -1;
  }
  if (rc == 0 && b->requires_grad) { /* dB = A^T @ g */
    lt_tensor *at = lt_transpose(c, a, -1, -2);
    lt_tensor *p = at ? lt_matmul(c, at, g) : NULL;
    gin[1] = p ? lt_sum_to(c, p, b->ndim, b->shape) : NULL;
    lt_release(at), lt_release(p);
    if (!gin[1]) rc = -1;
  }
  return rc;
}

static lt_tensor *matmul_nd(lt_ctx *c, lt_tensor *a, lt_tensor *b) {
  int na = a->ndim, nb = b->ndim;
  int64_t M = a->shape[na - 2], K = a->shape[na - 1], N = b->shape[nb - 1];
  if (b->shape[nb - 2] != K)
    return lt_fail(c, "matmul: shapes %s and %s are not aligned (%lld != %lld)", LT_SHAPE(a),
                   LT_SHAPE(b), (long long)K, (long long)b->shape[nb - 2]);
  /* broadcast the batch dims */
  lt_tensor ba = {.ndim = na - 2}, bb = {.ndim = nb - 2};
  memcpy(ba.shape, a->shape, sizeof(int64_t) * (size_t)(na - 2));
  memcpy(bb.shape, b->shape, sizeof(int64_t) * (size_t)(nb - 2));
  int nbatch;
  int64_t bshape[LT_MAXDIM];
  if (lt_broadcast_shape(c, "matmul (batch dims)", &ba, &bb, &nbatch, bshape) < 0)
    return lt_fail(c, "matmul: batch dims of shapes %s and %s cannot be broadcast together",
                   LT_SHAPE(a), LT_SHAPE(b));
  if (nbatch + 2 > LT_MAXDIM) return lt_fail(c, "matmul: too many dims");
  int64_t oshape[LT_MAXDIM];
  memcpy(oshape, bshape, sizeof(int64_t) * (size_t)nbatch);
  oshape[nbatch] = M, oshape[nbatch + 1] = N;
  lt_tensor *out = lt_empty(c, LT_F32, nbatch + 2, oshape);
  if (!out) return NULL;
  int64_t sa[LT_MAXDIM], sb[LT_MAXDIM]; /* element strides of the batch dims, 0 = broadcast */
  for (int i = 0; i < nbatch; i++) {
    int ia = i - (nbatch - (na - 2)), ib = i - (nbatch - (nb - 2));
    sa[i] = ia >= 0 && a->shape[ia] != 1 ? a->stride[ia] : 0;
    sb[i] = ib >= 0 && b->shape[ib] != 1 ? b->stride[ib] : 0;
  }
  int64_t nb_total = lt_shape_numel(nbatch, bshape), idx[LT_MAXDIM] = {0};
  for (int64_t bi = 0; bi < nb_total; bi++) {
    int64_t offa = 0, offb = 0, rem = bi;
    for (int i = nbatch - 1; i >= 0; i--) {
      idx[i] = rem % bshape[i], rem /= bshape[i];
      offa += idx[i] * sa[i], offb += idx[i] * sb[i];
    }
    lt_tensor va, vb, vo;
    batch_view(a, offa, &va);
    batch_view(b, offb, &vb);
    batch_view(out, bi * M * N, &vo);
    if (lt_interrupted(c) || lt_gemm(c, &va, &vb, &vo, 0.f) < 0) {
      lt_release(out);
      return NULL;
    }
  }
  lt_node *node;
  lt_tensor *in[2] = {a, b};
  if (lt_record(c, out, "matmul", matmul_backward, 2, in, &node) < 0) {
    lt_release(out);
    return NULL;
  }
  return out;
}

lt_tensor *lt_matmul(lt_ctx *c, lt_tensor *a, lt_tensor *b) {
  if (a->dtype != LT_F32 || b->dtype != LT_F32)
    return lt_fail(c, "matmul: expected float32 tensors, got %s %s and %s %s",
                   lt_dtype_name(a->dtype), LT_SHAPE(a), lt_dtype_name(b->dtype), LT_SHAPE(b));
  if (a->ndim == 0 || b->ndim == 0)
    return lt_fail(c, "matmul: both arguments need at least 1 dim (got %s and %s)",
                   LT_SHAPE(a), LT_SHAPE(b));
  /* 1-d operands are promoted to matrices and the added dim removed afterwards */
  if (a->ndim == 1 || b->ndim == 1) {
    lt_tensor *a2 = a->ndim == 1 ? lt_unsqueeze(c, a, 0) : (lt_retain(a), a);
    lt_tensor *b2 = a2 ? (b->ndim == 1 ? lt_unsqueeze(c, b, 1) : (lt_retain(b), b)) : NULL;
    lt_tensor *p = b2 ? lt_matmul(c, a2, b2) : NULL;
    lt_release(a2), lt_release(b2);
    if (p && a->ndim == 1) {
      lt_tensor *q = lt_squeeze(c, p, p->ndim - 2, 0);
      lt_release(p);
      p = q;
    }
    if (p && b->ndim == 1) {
      lt_tensor *q = lt_squeeze(c, p, -1, 0);
      lt_release(p);
      p = q;
    }
    return p;
  }
  /* [..., M, K] @ [K, N]: one GEMM over the flattened batch (a smaller weight gradient) */
  if (a->ndim > 2 && b->ndim == 2 && lt_is_contiguous(a)) {
    int64_t flat[2] = {-1, a->shape[a->ndim - 1]};
    lt_tensor *a2 = lt_reshape(c, a, 2, flat, 0);
    lt_tensor *p = a2 ? matmul_nd(c, a2, b) : NULL;
    lt_release(a2);
    if (!p) return NULL;
    int64_t sh[LT_MAXDIM];
    memcpy(sh, a->shape, sizeof sh);
    sh[a->ndim - 1] = b->shape[1];
    lt_tensor *r = lt_reshape(c, p, a->ndim, sh, 0);
    lt_release(p);
    return r;
  }
  return matmul_nd(c, a, b);
}
