/* lurn core: tensors, kernels and autograd in pure C11.
 *
 * Never includes lua.h. Every function that can fail returns NULL (or -1) and leaves a
 * message naming the op and the shapes in ctx->err; the binding raises it as a Lua error.
 * Ownership: a function returning lt_tensor* hands the caller one reference; arguments
 * are borrowed. */
#ifndef LURN_CORE_H
#define LURN_CORE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define LT_MAXDIM 8

typedef enum { LT_F32 = 0, LT_I64 = 1, LT_BOOL = 2 } lt_dtype;

/* A number from the host language: its value as a double and, when the host had an
 * integer, the exact int64 too (Lua's integers are 64-bit: math.maxinteger or 2^53 + 1 do
 * not survive a trip through a double). int64 tensors take the integer, float32 tensors
 * the double. */
typedef struct { double d; int64_t i; int is_int; } lt_num;
static inline lt_num lt_num_f(double v) { lt_num n = {v, 0, 0}; return n; }
static inline lt_num lt_num_i(int64_t v) { lt_num n = {(double)v, v, 1}; return n; }

typedef struct lt_ctx lt_ctx;
typedef struct lt_node lt_node;

typedef struct lt_storage {
  int refs;
  size_t nbytes;
  void *data;
  lt_ctx *ctx;   /* holds a reference: tensors may outlive the state that made them */
  int borrowed;  /* data belongs to the host (lt_from_borrowed): never freed here */
} lt_storage;

typedef struct lt_tensor {
  int refs;
  lt_dtype dtype;
  int ndim;
  int64_t shape[LT_MAXDIM];
  int64_t stride[LT_MAXDIM]; /* in elements */
  int64_t offset;            /* in elements */
  lt_storage *st;
  int requires_grad;
  struct lt_tensor *grad; /* leaf gradient, accumulated by backward */
  /* a dropped gradient kept for the next backward to write into (lt_drop_grad): a
   * parameter's gradient buffer is reused step after step, not re-allocated */
  struct lt_tensor *grad_spare;
  lt_node *grad_fn;       /* NULL for leaves and for tensors made without a tape */
} lt_tensor;

/* MT19937, the generator NumPy's legacy RandomState uses. */
typedef struct lt_rng {
  uint32_t mt[624];
  int mti;
  int has_gauss;
  double gauss;
} lt_rng;

typedef struct lt_spare_list {
  void *head;
  int n;
} lt_spare_list;
enum { LT_SPARE_TENSOR, LT_SPARE_STORAGE };
#define LT_CACHE_CLASSES 64 /* alloc.c: size classes of buffers up to 8 MiB */
struct lt_ctx {
  char err[1024];
  int grad_enabled;
  lt_rng rng;          /* lurn.manual_seed: creation functions, init, dropout, shuffling */
  lt_rng np_rng;       /* lurn.random: NumPy's legacy global RandomState */
  size_t live_bytes;   /* bytes held by tensor storages now */
  size_t peak_bytes;
  size_t gc_debt;      /* bytes allocated, less those freed, since the host's last GC */
  int refs;            /* the owner's reference plus one per live storage */
  /* Set asynchronously by the host (a SIGINT handler, lurn_interrupt); long kernels poll
   * it and fail with "interrupted". A pointer, so the flag lives with the host and the
   * core keeps no globals. NULL: never interrupted. */
  volatile sig_atomic_t *interrupt;
  int num_threads;     /* for our own loops; 0 = the default (lt_set_num_threads) */
  /* lurn.detect_anomaly: every op checks its float output, and backward each gradient,
   * for NaN/Inf and fails naming the op (autograd.c). Off: one branch per op. */
  int detect_anomaly;
  size_t max_bytes;    /* a cap on live_bytes (0: none): a bigger tensor is refused */
  void *buffer_cache[LT_CACHE_CLASSES]; /* freed buffers by size class (alloc.c) */
  size_t cached_bytes;
  lt_spare_list spare[2]; /* dropped tensor and storage structs (alloc.c) */
  struct lt_pool *pool;   /* worker threads for our own loops (parallel.c), made on use */
};

/* ---- context and errors (tensor.c) ---- */
lt_ctx *lt_ctx_new(void);
/* lt_ctx_free drops the creator's reference; the context itself goes with the last
 * storage made from it, so a tensor a host still holds stays valid. */
void lt_ctx_free(lt_ctx *c);
void lt_ctx_retain(lt_ctx *c);

/* ---- tensor buffers (alloc.c): 64-byte aligned, recycled through a per-context cache ---- */
void *lt_buffer_alloc(lt_ctx *c, size_t nbytes);
void lt_buffer_free(lt_ctx *c, void *p, size_t nbytes);
void lt_cache_trim(lt_ctx *c); /* frees every cached buffer and spare struct */
void *lt_struct_alloc(lt_ctx *c, int kind, size_t size); /* LT_SPARE_TENSOR / _STORAGE */
void lt_struct_free(lt_ctx *c, int kind, void *p);

/* ---- our own loops on several threads (parallel.c) ---- */
#define LT_MAX_THREADS 64
/* below this many elements a loop stays on one thread: waking a worker costs more */
#define LT_PARALLEL_GRAIN ((int64_t)1 << 19)
typedef void (*lt_range_fn)(void *arg, int64_t begin, int64_t end);
/* fn(arg, b, e) over [0, n) in up to lt_get_num_threads(c) parts of >= grain elements */
void lt_parallel_for(lt_ctx *c, int64_t n, int64_t grain, lt_range_fn fn, void *arg);
void lt_pool_free(lt_ctx *c); /* joins the workers (context teardown) */
/* 1 when the host asked to stop: sets "interrupted" in c->err and clears the flag (so a
 * Lua hook that fires later does not raise a second time). */
int lt_stop(lt_ctx *c);
static inline int lt_interrupted(lt_ctx *c) {
  return c && c->interrupt && *c->interrupt && lt_stop(c);
}
/* OpenBLAS's thread count (process-wide) and ours; n >= 1 (threads.c) */
void lt_set_num_threads(lt_ctx *c, int n);
int lt_get_num_threads(const lt_ctx *c);
void *lt_fail(lt_ctx *c, const char *fmt, ...);   /* sets c->err, returns NULL */
const char *lt_dtype_name(lt_dtype d);
size_t lt_dtype_size(lt_dtype d);
/* "[2, 3]" into buf (returns buf) */
char *lt_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
#define LT_SHAPE(t) lt_shape_str((char[128]){0}, 128, (t)->ndim, (t)->shape)

/* ---- creation and lifetime (tensor.c) ---- */
lt_tensor *lt_empty(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape);
lt_tensor *lt_full(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape, double v);
lt_tensor *lt_scalar(lt_ctx *c, lt_dtype d, double v);          /* 0-d */
/* the same for a host number, exact for int64 (lt_num below) */
lt_tensor *lt_full_num(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape, lt_num v);
lt_tensor *lt_scalar_num(lt_ctx *c, lt_dtype d, lt_num v);
lt_tensor *lt_arange(lt_ctx *c, double start, double end, double step, lt_dtype d);
/* int64 from integers, in integer arithmetic: exact over the whole int64 range */
lt_tensor *lt_arange_i64(lt_ctx *c, int64_t start, int64_t end, int64_t step);
lt_tensor *lt_rand(lt_ctx *c, int ndim, const int64_t *shape);  /* U[0,1) */
lt_tensor *lt_randn(lt_ctx *c, int ndim, const int64_t *shape);
lt_tensor *lt_randint(lt_ctx *c, int64_t lo, int64_t hi, int ndim, const int64_t *shape);
/* A contiguous tensor over host memory that is never freed here: data must stay valid
 * (and writable, if anything writes to the tensor) until the last reference is gone. */
lt_tensor *lt_from_borrowed(lt_ctx *c, lt_dtype d, int ndim, const int64_t *shape, void *data);
lt_tensor *lt_uniform(lt_ctx *c, int ndim, const int64_t *shape, double lo, double hi);
/* the same from a given generator (lurn.random keeps its own, NumPy-compatible) */
lt_tensor *lt_uniform_r(lt_ctx *c, lt_rng *r, int ndim, const int64_t *shape, double lo,
                        double hi);
lt_tensor *lt_randn_r(lt_ctx *c, lt_rng *r, int ndim, const int64_t *shape);
lt_tensor *lt_randint_r(lt_ctx *c, lt_rng *r, int64_t lo, int64_t hi, int ndim,
                        const int64_t *shape);
void lt_retain(lt_tensor *t);
/* 1 when t is a float32 tensor only its holder sees: one reference, a storage of its own
 * (not the host's) that it fills exactly; such a tensor can be taken over, not copied */
int lt_is_sole_float(const lt_tensor *t);
/* t.grad = nil: the gradient goes, its buffer is kept for the next backward when no one
 * else holds it */
void lt_drop_grad(lt_tensor *t);
/* a float32 buffer of t's shape for t's next gradient: the kept one, or a new one */
lt_tensor *lt_grad_buffer(lt_ctx *c, lt_tensor *t);
void lt_release(lt_tensor *t);
/* A tensor sharing t's storage with the given geometry (no autograd edge). */
lt_tensor *lt_alias(lt_ctx *c, const lt_tensor *t, int ndim, const int64_t *shape,
                    const int64_t *stride, int64_t offset);
lt_tensor *lt_detach(lt_ctx *c, const lt_tensor *t);

int64_t lt_numel(const lt_tensor *t);
int64_t lt_shape_numel(int ndim, const int64_t *shape);
int lt_is_contiguous(const lt_tensor *t);
void lt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);
static inline char *lt_ptr(const lt_tensor *t) {
  return (char *)t->st->data + t->offset * (int64_t)lt_dtype_size(t->dtype);
}
static inline float *lt_f32(const lt_tensor *t) { return (float *)lt_ptr(t); }
static inline int64_t *lt_i64(const lt_tensor *t) { return (int64_t *)lt_ptr(t); }
static inline uint8_t *lt_u8(const lt_tensor *t) { return (uint8_t *)lt_ptr(t); }
int lt_same_shape(const lt_tensor *a, const lt_tensor *b);
/* Normalise a possibly negative dim against ndim; -1 and an error when out of range. */
int lt_wrap_dim(lt_ctx *c, const char *op, int64_t dim, int ndim);

/* double -> int64 without undefined behaviour: NaN and values out of range give INT64_MIN,
 * as x86's conversion instruction does (and so NumPy and PyTorch) */
static inline int64_t lt_to_i64(double v) {
  return v >= -0x1p63 && v < 0x1p63 ? (int64_t)v : INT64_MIN;
}

/* as an int64: the integer itself, else the double converted as lt_to_i64 does */
static inline int64_t lt_num_to_i64(lt_num n) { return n.is_int ? n.i : lt_to_i64(n.d); }
/* "%lld" of an integer, "%g" of a double, into buf (returns buf) */
char *lt_num_str(char *buf, size_t n, lt_num v);
#define LT_NUM(v) lt_num_str((char[32]){0}, 32, (v))

/* element access by flat row-major index, as double */
double lt_get(const lt_tensor *t, int64_t flat);
void lt_set(lt_tensor *t, int64_t flat, double v);

/* copies and conversions (copy.c) */
int lt_copy_(lt_ctx *c, lt_tensor *dst, const lt_tensor *src);   /* broadcasts src */
/* byte strides of t viewed at an ndim-dim broadcast shape (0 on broadcast dims); -1 if
 * t cannot be broadcast to it */
int lt_broadcast_strides(const lt_tensor *t, int ndim, const int64_t *shape, int64_t *bs);
int lt_fill_(lt_ctx *c, lt_tensor *t, double v);
int lt_fill_num_(lt_ctx *c, lt_tensor *t, lt_num v);   /* exact for int64 */
lt_tensor *lt_contiguous_raw(lt_ctx *c, const lt_tensor *t);      /* no tape */
lt_tensor *lt_to_dtype_raw(lt_ctx *c, const lt_tensor *t, lt_dtype d); /* contiguous */

/* Strided iteration: calls fn once per innermost run of n elements, with one base
 * pointer and one byte stride per operand. Dims that are contiguous for all operands
 * are merged first, so contiguous tensors make one call. */
typedef void (*lt_inner_fn)(char **p, const int64_t *s, int64_t n, void *ud);
void lt_foreach(int ndim, const int64_t *shape, int nop, char **base,
                int64_t (*bstride)[LT_MAXDIM], lt_inner_fn fn, void *ud);
/* The same, polling c's interrupt flag between runs: -1 (c->err set) when interrupted,
 * leaving the output partly written. */
int lt_foreach_c(lt_ctx *c, int ndim, const int64_t *shape, int nop, char **base,
                 int64_t (*bstride)[LT_MAXDIM], lt_inner_fn fn, void *ud);

/* ---- random numbers (rng.c) ---- */
void lt_rng_seed(lt_rng *r, uint32_t seed);
uint32_t lt_rng_u32(lt_rng *r);
double lt_rng_double(lt_rng *r);     /* [0, 1), 53 bits, as NumPy */
double lt_rng_gauss(lt_rng *r);      /* NumPy legacy polar method */
uint64_t lt_rng_interval(lt_rng *r, uint64_t max); /* [0, max], NumPy legacy masking */

/* ---- operations (each records a tape node when grad mode is on) ---- */
typedef enum {
  LT_ADD, LT_SUB, LT_MUL, LT_DIV, LT_POW,
  LT_EQ, LT_NE, LT_LT, LT_LE, LT_GT, LT_GE
} lt_binop;
typedef enum {
  LT_NEG, LT_EXP, LT_LOG, LT_SQRT, LT_ABS, LT_RELU, LT_SIGMOID, LT_TANH, LT_ROUND
} lt_unop;

lt_tensor *lt_binary(lt_ctx *c, lt_binop op, lt_tensor *a, lt_tensor *b);
lt_tensor *lt_binary_scalar(lt_ctx *c, lt_binop op, lt_tensor *a, double s, int scalar_first);
/* a host number: an integer keeps an int64 (or bool) tensor's arithmetic exact */
lt_tensor *lt_binary_num(lt_ctx *c, lt_binop op, lt_tensor *a, lt_num s, int scalar_first);
lt_tensor *lt_unary(lt_ctx *c, lt_unop op, lt_tensor *x);
lt_tensor *lt_clamp(lt_ctx *c, lt_tensor *x, double lo, double hi); /* +-INFINITY = none */
lt_tensor *lt_clamp_num(lt_ctx *c, lt_tensor *x, lt_num lo, lt_num hi); /* exact for int64 */
lt_tensor *lt_where(lt_ctx *c, lt_tensor *cond, lt_tensor *a, lt_tensor *b);
lt_tensor *lt_to_dtype(lt_ctx *c, lt_tensor *x, lt_dtype d);  /* float()/long()/bool() */
lt_tensor *lt_clone(lt_ctx *c, lt_tensor *x);
lt_tensor *lt_contiguous(lt_ctx *c, lt_tensor *x);
int lt_broadcast_shape(lt_ctx *c, const char *op, const lt_tensor *a, const lt_tensor *b,
                       int *ndim, int64_t *shape);

/* reductions (ops_reduce.c); dim < 0 after wrapping is not allowed: use the _all forms */
lt_tensor *lt_sum_all(lt_ctx *c, lt_tensor *x);
lt_tensor *lt_mean_all(lt_ctx *c, lt_tensor *x);
lt_tensor *lt_sum_dim(lt_ctx *c, lt_tensor *x, int64_t dim, int keepdim);
lt_tensor *lt_mean_dim(lt_ctx *c, lt_tensor *x, int64_t dim, int keepdim);
/* is_max: 1 for max, 0 for min. values and indices both returned (either may be NULL) */
int lt_maxmin_dim(lt_ctx *c, lt_tensor *x, int64_t dim, int keepdim, int is_max,
                  lt_tensor **values, lt_tensor **indices);
lt_tensor *lt_maxmin_all(lt_ctx *c, lt_tensor *x, int is_max);
lt_tensor *lt_argmax_all(lt_ctx *c, lt_tensor *x, int is_max);
lt_tensor *lt_all_any(lt_ctx *c, lt_tensor *x, int is_all);
lt_tensor *lt_softmax(lt_ctx *c, lt_tensor *x, int64_t dim, int log);
/* sum g down to the given shape (broadcast reduction), no tape */
lt_tensor *lt_sum_to(lt_ctx *c, lt_tensor *g, int ndim, const int64_t *shape);

/* shape ops (ops_shape.c) */
lt_tensor *lt_reshape(lt_ctx *c, lt_tensor *x, int ndim, const int64_t *shape, int view_only);
lt_tensor *lt_unsqueeze(lt_ctx *c, lt_tensor *x, int64_t dim);
lt_tensor *lt_squeeze(lt_ctx *c, lt_tensor *x, int64_t dim, int all);
lt_tensor *lt_transpose(lt_ctx *c, lt_tensor *x, int64_t d0, int64_t d1);
lt_tensor *lt_permute(lt_ctx *c, lt_tensor *x, int n, const int64_t *perm);
lt_tensor *lt_narrow(lt_ctx *c, lt_tensor *x, int64_t dim, int64_t start, int64_t len);
lt_tensor *lt_expand(lt_ctx *c, lt_tensor *x, int ndim, const int64_t *shape);
lt_tensor *lt_index_select(lt_ctx *c, lt_tensor *x, int64_t dim, lt_tensor *index);
lt_tensor *lt_cat(lt_ctx *c, int n, lt_tensor **xs, int64_t dim);
lt_tensor *lt_stack(lt_ctx *c, int n, lt_tensor **xs, int64_t dim);

/* matmul (ops_matmul.c): 2-D @ 2-D, 3-D @ 3-D (batch broadcast of 1), 3-D @ 2-D */
lt_tensor *lt_matmul(lt_ctx *c, lt_tensor *a, lt_tensor *b);
/* out[M,N] = op(a) op(b) (+ beta*out); plain sgemm on 2-D views, any strides */
int lt_gemm(lt_ctx *c, const lt_tensor *a, const lt_tensor *b, lt_tensor *out, float beta);

/* float sums in PyTorch's order (cascade_sum.c): of n contiguous values, and the column
 * sums of a contiguous [rows, cols] matrix */
float lt_cascade_sum(const float *x, int64_t n);
void lt_cascade_sum_rows(const float *x, int64_t rows, int64_t cols, float *out);

/* nn ops (ops_nn.c). reduction: 0 none, 1 mean, 2 sum */
lt_tensor *lt_linear(lt_ctx *c, lt_tensor *x, lt_tensor *W, lt_tensor *b); /* b may be NULL */
/* relu(linear(x, W, b)) in one pass over the output and one autograd node (relu != 0) */
lt_tensor *lt_linear_act(lt_ctx *c, lt_tensor *x, lt_tensor *W, lt_tensor *b, int relu);
lt_tensor *lt_nll_loss(lt_ctx *c, const char *name, lt_tensor *logp, lt_tensor *target,
                       lt_tensor *weight, int64_t ignore_index, int reduction);
/* binary cross-entropy of probabilities x against targets y; w (optional) broadcasts */
lt_tensor *lt_bce(lt_ctx *c, const char *name, lt_tensor *x, lt_tensor *y, lt_tensor *w,
                  int reduction);

/* optimizer updates (optim.c), in place; PyTorch's rules */
typedef struct { double lr, momentum, dampening, weight_decay; int nesterov; } lt_sgd_opts;
typedef struct { double lr, beta1, beta2, eps, weight_decay; int decoupled; } lt_adam_opts;
/* buf: momentum buffer (NULL without momentum); first: the buffer's first step */
int lt_sgd_step(lt_ctx *c, lt_tensor *p, lt_tensor *g, lt_tensor *buf, const lt_sgd_opts *o,
                int first);
/* vmax: the amsgrad running max (NULL without amsgrad); step counts from 1 */
int lt_adam_step(lt_ctx *c, lt_tensor *p, lt_tensor *g, lt_tensor *m, lt_tensor *v,
                 lt_tensor *vmax, const lt_adam_opts *o, int64_t step);

/* ---- autograd (autograd.c) ---- */
typedef int (*lt_backward_fn)(lt_ctx *c, lt_node *n, lt_tensor *g, lt_tensor **gin);

#define LT_NODE_INLINE 4
struct lt_node {
  int refs;
  const char *op;
  lt_backward_fn backward;
  int nin;
  lt_tensor **in;              /* edges (and values) of the inputs */
  lt_tensor *inl[LT_NODE_INLINE];
  lt_tensor *saved[2];         /* extra saved tensors (e.g. the output, indices) */
  int64_t iv[2 * LT_MAXDIM];   /* integer parameters of the op */
  double dv[2];                /* real parameters of the op */
  int out_ndim;
  int64_t out_shape[LT_MAXDIM];
  lt_tensor *gacc;             /* gradient of the output, accumulated during backward */
  int released;                /* saved values freed by a backward without retain_graph */
  int mark;
};

int lt_grad_enabled(const lt_ctx *c);
void lt_set_grad_enabled(lt_ctx *c, int on);
/* If grad mode is on and some input requires grad, attach a node to out and return it
 * in *node (else *node = NULL). Every op calls it once out is computed, grad or not:
 * it is also where detect_anomaly checks out. Returns -1 (c->err set) on allocation
 * failure or an anomaly. */
int lt_record(lt_ctx *c, lt_tensor *out, const char *op, lt_backward_fn fn, int nin,
              lt_tensor **in, lt_node **node);
/* "nan" or "inf" when a float tensor holds one (NaN first), else NULL */
const char *lt_nonfinite(const lt_tensor *t);
void lt_node_release(lt_node *n);
/* Run backward from root. grad may be NULL for a one-element root. */
int lt_backward(lt_ctx *c, lt_tensor *root, lt_tensor *grad, int retain_graph);
/* Add g into *acc (creating it as a contiguous copy of g when NULL). */
int lt_accumulate(lt_ctx *c, lt_tensor **acc, lt_tensor *g);

/* ---- printing (format.c) ---- */
/* PyTorch-style text of t; returns malloc'd string or NULL */
char *lt_format(lt_ctx *c, const lt_tensor *t);

#endif
