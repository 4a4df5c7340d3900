/* lurn.Tensor: the userdata, its metamethods, properties and methods. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* ---- boxes ---- */
lt_ctx *lb_ctx(lua_State *L) { return *(lt_ctx **)lua_touserdata(L, lua_upvalueindex(1)); }

int lb_raise(lua_State *L) { return luaL_error(L, "%s", lb_ctx(L)->err); }

/* Lua cannot see tensor memory, so dead tensors would wait for a collection that Lua's
 * own (small) allocations rarely trigger (Torch7 scripts called collectgarbage()). Once
 * LB_GC_EVERY bytes of tensors, plus four times the Lua heap, were made since the last
 * collection and not freed since (core's gc_debt), collect fully: garbage tensors stay
 * bounded by that much, and the collection (its cost grows with the Lua heap) is paid
 * once per megabytes of tensor work; temporaries that C or t:free() release at once do
 * not count.
 * Charging each tensor as an incremental step instead ran a whole GC cycle every step
 * or two of a small MLP: 40% of its time. */
#define LB_GC_EVERY ((size_t)2 << 20)

void lb_gc_pressure(lua_State *L) {
  lt_ctx *c = lb_ctx(L);
  if (c->gc_debt >= LB_GC_EVERY) {
    size_t heap = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024;
    if (c->gc_debt >= LB_GC_EVERY + 4 * heap) {
      c->gc_debt = 0;
      lua_gc(L, LUA_GCCOLLECT);
    }
  }
}

/* The tensor metatable is also kept in the registry under this address: every tensor
 * argument of every call checks it, and a lookup by address is cheaper than by name. */
static const char tensor_mt_key = 0;
static void push_tensor_mt(lua_State *L) { lua_rawgetp(L, LUA_REGISTRYINDEX, &tensor_mt_key); }

lb_box *lb_newbox(lua_State *L) {
  lb_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->t = NULL;
  push_tensor_mt(L);
  lua_setmetatable(L, -2);
  return b;
}

int lb_done(lua_State *L, lb_box *b) {
  if (!b->t) return lb_raise(L);
  lb_gc_pressure(L);
  return 1;
}

lt_tensor *lb_totensor(lua_State *L, int idx) {
  lb_box *b = lua_touserdata(L, idx);
  if (!b || !lua_getmetatable(L, idx)) return NULL;
  push_tensor_mt(L);
  int is_tensor = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  if (!is_tensor) return NULL;
  if (!b->t) luaL_error(L, "tensor has been freed (after :free() or a <close> scope)");
  return b->t;
}

lt_tensor *lb_check(lua_State *L, int idx) {
  lt_tensor *t = lb_totensor(L, idx);
  if (!t) luaL_typeerror(L, idx, "tensor");
  return t;
}

int64_t lb_check_int(lua_State *L, int idx) {
  int isint;
  lua_Integer v = lua_tointegerx(L, idx, &isint);
  if (!isint) {
    if (lua_type(L, idx) == LUA_TNUMBER) luaL_argerror(L, idx, "number has no integer representation");
    luaL_typeerror(L, idx, "integer");
  }
  return (int64_t)v;
}

lt_num lb_check_num(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER && lua_isinteger(L, idx))
    return lt_num_i((int64_t)lua_tointeger(L, idx)); /* never through a double */
  return lt_num_f(luaL_checknumber(L, idx));
}

int lb_check_shape(lua_State *L, int idx, int *ndim, int64_t *shape) {
  int n = 0;
  if (lua_type(L, idx) == LUA_TTABLE && !luaL_testudata(L, idx, LB_TENSOR_MT)) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
    if (len > LT_MAXDIM) luaL_argerror(L, idx, "too many dims (at most 8)");
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, i);
      shape[n++] = lb_check_int(L, -1);
      lua_pop(L, 1);
    }
    *ndim = n;
    return idx + 1;
  }
  while (lua_type(L, idx + n) == LUA_TNUMBER) {
    if (n == LT_MAXDIM) luaL_argerror(L, idx + n, "too many dims (at most 8)");
    shape[n] = lb_check_int(L, idx + n);
    n++;
  }
  *ndim = n;
  return idx + n;
}

lt_dtype lb_check_dtype(lua_State *L, int idx) {
  static const char *names[] = {"float32", "float", "int64", "long", "bool", NULL};
  static const lt_dtype ds[] = {LT_F32, LT_F32, LT_I64, LT_I64, LT_BOOL};
  return ds[luaL_checkoption(L, idx, NULL, names)];
}

/* ---- metamethods ---- */
static int t_gc(lua_State *L) {
  lb_box *b = luaL_checkudata(L, 1, LB_TENSOR_MT);
  lt_release(b->t);
  b->t = NULL;
  return 0;
}

static int t_tostring(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  char *s = lt_format(lb_ctx(L), t);
  if (!s) return lb_raise(L);
  lua_pushstring(L, s);
  free(s);
  return 1;
}

static int t_len(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "len() of a 0-d tensor");
  lua_pushinteger(L, t->shape[0]);
  return 1;
}

static void push_shape(lua_State *L, const lt_tensor *t) {
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static void push_tensor_ref(lua_State *L, lt_tensor *t) {
  lb_box *b = lb_newbox(L);
  lt_retain(t);
  b->t = t;
}

static int t_index(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  /* methods first: x:dim(), x:backward() are the common case */
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  if (k) {
    if (!strcmp(k, "shape")) return push_shape(L, t), 1;
    if (!strcmp(k, "dtype")) return lua_pushstring(L, lt_dtype_name(t->dtype)), 1;
    if (!strcmp(k, "requires_grad")) return lua_pushboolean(L, t->requires_grad), 1;
    if (!strcmp(k, "grad")) {
      if (t->grad) push_tensor_ref(L, t->grad);
      else lua_pushnil(L);
      return 1;
    }
    if (!strcmp(k, "is_leaf")) return lua_pushboolean(L, t->grad_fn == NULL), 1;
    if (!strcmp(k, "ndim")) return lua_pushinteger(L, t->ndim), 1;
    if (!strcmp(k, "grad_fn")) {
      if (t->grad_fn) lua_pushstring(L, t->grad_fn->op);
      else lua_pushnil(L);
      return 1;
    }
  }
  lua_pushnil(L);
  return 1;
}

static void set_requires_grad(lua_State *L, lt_tensor *t, int on) {
  if (on && t->dtype != LT_F32)
    luaL_error(L, "requires_grad: only float32 tensors can require gradients (this one is %s)",
               lt_dtype_name(t->dtype));
  if (t->grad_fn && !on)
    luaL_error(L, "requires_grad: can only change the flag of leaf tensors; use "
                  ":detach() to get a tensor without history");
  if (!t->grad_fn) t->requires_grad = on;
}

static int t_newindex(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (!strcmp(k, "requires_grad")) {
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    set_requires_grad(L, t, lua_toboolean(L, 3));
  } else if (!strcmp(k, "grad")) {
    if (lua_isnil(L, 3)) {
      lt_drop_grad(t); /* the buffer stays for the next backward (zero_grad every step) */
      return 0;
    }
    lt_tensor *g = lb_check(L, 3);
    if (!lt_same_shape(g, t) || g->dtype != LT_F32)
      return luaL_error(L, "grad: assigned %s tensor of shape %s to a tensor of shape %s",
                        lt_dtype_name(g->dtype), LT_SHAPE(g), LT_SHAPE(t));
    /* a detached alias (same data, no history, no grad of its own): keeping g itself
     * could close a reference cycle (x.grad = x, or x.grad = x * 2 whose node holds x) */
    lt_tensor *d = lt_detach(lb_ctx(L), g);
    if (!d) return lb_raise(L);
    lt_release(t->grad);
    t->grad = d;
  } else {
    return luaL_error(L, "cannot set field '%s' of a tensor", k);
  }
  return 0;
}

/* ---- arithmetic ---- */
static const char *binop_names[] = {"add", "sub", "mul", "div", "pow",
                                    "eq",  "ne",  "lt",  "le",  "gt", "ge"};

static int binop(lua_State *L, lt_binop op) {
  lt_ctx *c = lb_ctx(L);
  lt_tensor *a = lb_totensor(L, 1), *b = lb_totensor(L, 2);
  if (a && b) LB_RETURN(L, lt_binary(c, op, a, b));
  if (a && lua_type(L, 2) == LUA_TNUMBER)
    LB_RETURN(L, lt_binary_num(c, op, a, lb_check_num(L, 2), 0));
  if (b && lua_type(L, 1) == LUA_TNUMBER)
    LB_RETURN(L, lt_binary_num(c, op, b, lb_check_num(L, 1), 1));
  return luaL_error(L, "%s: expected tensors or numbers, got %s and %s", binop_names[op],
                    luaL_typename(L, 1), luaL_typename(L, 2));
}

static int t_add(lua_State *L) { return binop(L, LT_ADD); }
static int t_sub(lua_State *L) { return binop(L, LT_SUB); }
static int t_mul(lua_State *L) { return binop(L, LT_MUL); }
static int t_div(lua_State *L) { return binop(L, LT_DIV); }
static int t_pow(lua_State *L) { return binop(L, LT_POW); }
static int t_eq(lua_State *L) { return binop(L, LT_EQ); }
static int t_ne(lua_State *L) { return binop(L, LT_NE); }
static int t_lt(lua_State *L) { return binop(L, LT_LT); }
static int t_le(lua_State *L) { return binop(L, LT_LE); }
static int t_gt(lua_State *L) { return binop(L, LT_GT); }
static int t_ge(lua_State *L) { return binop(L, LT_GE); }

#define UNARY(NAME, OP) \
  static int t_##NAME(lua_State *L) { LB_RETURN(L, lt_unary(lb_ctx(L), OP, lb_check(L, 1))); }
UNARY(neg, LT_NEG)
UNARY(exp, LT_EXP)
UNARY(log, LT_LOG)
UNARY(sqrt, LT_SQRT)
UNARY(abs, LT_ABS)
UNARY(relu, LT_RELU)
UNARY(sigmoid, LT_SIGMOID)
UNARY(tanh, LT_TANH)
UNARY(round, LT_ROUND)

static int t_unm(lua_State *L) { return t_neg(L); }

static int t_clamp(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  lt_num lo = lt_num_f(-INFINITY), hi = lt_num_f(INFINITY); /* no bound */
  if (lua_type(L, 2) == LUA_TTABLE) {
    if (lua_getfield(L, 2, "min") != LUA_TNIL) lo = lb_check_num(L, -1);
    if (lua_getfield(L, 2, "max") != LUA_TNIL) hi = lb_check_num(L, -1);
    lua_pop(L, 2);
  } else {
    if (!lua_isnoneornil(L, 2)) lo = lb_check_num(L, 2);
    if (!lua_isnoneornil(L, 3)) hi = lb_check_num(L, 3);
  }
  LB_RETURN(L, lt_clamp_num(lb_ctx(L), x, lo, hi));
}

static int t_softmax(lua_State *L) {
  LB_RETURN(L, lt_softmax(lb_ctx(L), lb_check(L, 1), lb_check_int(L, 2), 0));
}
static int t_log_softmax(lua_State *L) {
  LB_RETURN(L, lt_softmax(lb_ctx(L), lb_check(L, 1), lb_check_int(L, 2), 1));
}
static int t_matmul(lua_State *L) {
  LB_RETURN(L, lt_matmul(lb_ctx(L), lb_check(L, 1), lb_check(L, 2)));
}

/* ---- reductions ---- */
static int reduce_sum(lua_State *L, int mean) {
  lt_ctx *c = lb_ctx(L);
  lt_tensor *x = lb_check(L, 1);
  int keepdim = lua_toboolean(L, 3);
  if (lua_isnoneornil(L, 2)) LB_RETURN(L, mean ? lt_mean_all(c, x) : lt_sum_all(c, x));
  if (lua_type(L, 2) != LUA_TTABLE) {
    int64_t d = lb_check_int(L, 2);
    LB_RETURN(L, mean ? lt_mean_dim(c, x, d, keepdim) : lt_sum_dim(c, x, d, keepdim));
  }
  /* several dims: reduce from the highest so the others keep their positions */
  int n, seen[LT_MAXDIM] = {0};
  int64_t dims[LT_MAXDIM];
  lb_check_shape(L, 2, &n, dims);
  for (int i = 0; i < n; i++) {
    int d = lt_wrap_dim(c, mean ? "mean" : "sum", dims[i], x->ndim);
    if (d < 0) return lb_raise(L);
    if (seen[d]++) return luaL_error(L, "%s: dim %d appears twice", mean ? "mean" : "sum", d);
  }
  push_tensor_ref(L, x);
  for (int d = x->ndim - 1; d >= 0; d--) {
    if (!seen[d]) continue;
    lt_tensor *cur = lb_check(L, -1);
    lb_box *b = lb_newbox(L);
    b->t = mean ? lt_mean_dim(c, cur, d, keepdim) : lt_sum_dim(c, cur, d, keepdim);
    lb_done(L, b);
    lua_remove(L, -2);
  }
  return 1;
}
static int t_sum(lua_State *L) { return reduce_sum(L, 0); }
static int t_mean(lua_State *L) { return reduce_sum(L, 1); }

static int reduce_ext(lua_State *L, int is_max) {
  lt_ctx *c = lb_ctx(L);
  lt_tensor *x = lb_check(L, 1);
  if (lua_isnoneornil(L, 2)) LB_RETURN(L, lt_maxmin_all(c, x, is_max));
  int64_t d = lb_check_int(L, 2);
  int keepdim = lua_toboolean(L, 3);
  lb_box *v = lb_newbox(L), *i = lb_newbox(L);
  if (lt_maxmin_dim(c, x, d, keepdim, is_max, &v->t, &i->t) < 0) return lb_raise(L);
  lb_gc_pressure(L);
  return 2;
}
static int t_max(lua_State *L) { return reduce_ext(L, 1); }
static int t_min(lua_State *L) { return reduce_ext(L, 0); }

static int arg_ext(lua_State *L, int is_max) {
  lt_ctx *c = lb_ctx(L);
  lt_tensor *x = lb_check(L, 1);
  if (lua_isnoneornil(L, 2)) LB_RETURN(L, lt_argmax_all(c, x, is_max));
  int64_t d = lb_check_int(L, 2);
  int keepdim = lua_toboolean(L, 3);
  lb_box *i = lb_newbox(L);
  if (lt_maxmin_dim(c, x, d, keepdim, is_max, NULL, &i->t) < 0) return lb_raise(L);
  return lb_done(L, i);
}
static int t_argmax(lua_State *L) { return arg_ext(L, 1); }
static int t_argmin(lua_State *L) { return arg_ext(L, 0); }
static int t_all(lua_State *L) { LB_RETURN(L, lt_all_any(lb_ctx(L), lb_check(L, 1), 1)); }
static int t_any(lua_State *L) { LB_RETURN(L, lt_all_any(lb_ctx(L), lb_check(L, 1), 0)); }

/* ---- shape ops ---- */
static int t_view_impl(lua_State *L, int view_only) {
  lt_tensor *x = lb_check(L, 1);
  int n;
  int64_t shape[LT_MAXDIM];
  lb_check_shape(L, 2, &n, shape);
  LB_RETURN(L, lt_reshape(lb_ctx(L), x, n, shape, view_only));
}
static int t_view(lua_State *L) { return t_view_impl(L, 1); }
static int t_reshape(lua_State *L) { return t_view_impl(L, 0); }

static int t_unsqueeze(lua_State *L) {
  LB_RETURN(L, lt_unsqueeze(lb_ctx(L), lb_check(L, 1), lb_check_int(L, 2)));
}
static int t_squeeze(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int all = lua_isnoneornil(L, 2);
  LB_RETURN(L, lt_squeeze(lb_ctx(L), x, all ? 0 : lb_check_int(L, 2), all));
}
static int t_transpose(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int64_t a = lb_check_int(L, 2), b = lb_check_int(L, 3);
  LB_RETURN(L, lt_transpose(lb_ctx(L), x, a, b));
}
static int t_t(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  if (x->ndim > 2)
    return luaL_error(L, "t: expects a tensor with <= 2 dims, got shape %s; use transpose",
                      LT_SHAPE(x));
  if (x->ndim < 2) return push_tensor_ref(L, x), 1;
  LB_RETURN(L, lt_transpose(lb_ctx(L), x, 0, 1));
}
static int t_permute(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int n;
  int64_t p[LT_MAXDIM];
  lb_check_shape(L, 2, &n, p);
  LB_RETURN(L, lt_permute(lb_ctx(L), x, n, p));
}
static int t_narrow(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int64_t d = lb_check_int(L, 2), s = lb_check_int(L, 3), n = lb_check_int(L, 4);
  LB_RETURN(L, lt_narrow(lb_ctx(L), x, d, s, n));
}
static int t_expand(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int n;
  int64_t shape[LT_MAXDIM];
  lt_tensor *other = lb_totensor(L, 2);
  if (other) n = other->ndim, memcpy(shape, other->shape, sizeof shape);
  else lb_check_shape(L, 2, &n, shape);
  LB_RETURN(L, lt_expand(lb_ctx(L), x, n, shape));
}
static int t_index_select(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  int64_t d = lb_check_int(L, 2);
  LB_RETURN(L, lt_index_select(lb_ctx(L), x, d, lb_check(L, 3)));
}
static int t_contiguous(lua_State *L) { LB_RETURN(L, lt_contiguous(lb_ctx(L), lb_check(L, 1))); }
static int t_clone(lua_State *L) { LB_RETURN(L, lt_clone(lb_ctx(L), lb_check(L, 1))); }
static int t_detach(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  LB_RETURN(L, lt_detach(lb_ctx(L), x));
}

/* nonzero(): indices of the nonzero elements, int64 [k] for a 1-d tensor and [k, ndim]
 * otherwise (PyTorch's layout); x:index_select(0, mask:nonzero()) selects rows by mask */
static int t_nonzero(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  lt_ctx *c = lb_ctx(L);
  lb_box *xb = lb_newbox(L), *out = lb_newbox(L);
  if (!(xb->t = lt_to_dtype_raw(c, x, LT_BOOL))) return lb_raise(L);
  const uint8_t *p = lt_u8(xb->t);
  int64_t n = lt_numel(x), k = 0;
  for (int64_t i = 0; i < n; i++) k += p[i] != 0;
  int64_t shape[2] = {k, x->ndim};
  if (!(out->t = lt_empty(c, LT_I64, x->ndim == 1 ? 1 : 2, shape))) return lb_raise(L);
  int64_t *o = lt_i64(out->t), rowstride[LT_MAXDIM];
  lt_contiguous_strides(x->ndim, x->shape, rowstride);
  for (int64_t i = 0; i < n; i++) {
    if (!p[i]) continue;
    for (int d = 0; d < x->ndim; d++) *o++ = (i / rowstride[d]) % x->shape[d];
  }
  return lb_done(L, out);
}

/* ---- dtype ---- */
static int t_float(lua_State *L) { LB_RETURN(L, lt_to_dtype(lb_ctx(L), lb_check(L, 1), LT_F32)); }
static int t_long(lua_State *L) { LB_RETURN(L, lt_to_dtype(lb_ctx(L), lb_check(L, 1), LT_I64)); }
static int t_bool(lua_State *L) { LB_RETURN(L, lt_to_dtype(lb_ctx(L), lb_check(L, 1), LT_BOOL)); }
static int t_to(lua_State *L) {
  lt_tensor *x = lb_check(L, 1);
  LB_RETURN(L, lt_to_dtype(lb_ctx(L), x, lb_check_dtype(L, 2)));
}

/* ---- in place ---- */
static void check_inplace(lua_State *L, lt_tensor *t, const char *op) {
  if (t->requires_grad && t->grad_fn == NULL && lt_grad_enabled(lb_ctx(L)))
    luaL_error(L, "%s: a leaf tensor that requires grad is used in an in-place operation; "
                  "do it inside lurn.no_grad", op);
}

static int t_copy_(lua_State *L) {
  lt_tensor *dst = lb_check(L, 1), *src = lb_check(L, 2);
  check_inplace(L, dst, "copy_");
  if (lt_copy_(lb_ctx(L), dst, src) < 0) return lb_raise(L);
  lua_settop(L, 1);
  return 1;
}
static int t_fill_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  lt_num v = lua_isboolean(L, 2) ? lt_num_i(lua_toboolean(L, 2)) : lb_check_num(L, 2);
  check_inplace(L, t, "fill_");
  lt_fill_num_(lb_ctx(L), t, v);
  lua_settop(L, 1);
  return 1;
}
/* in-place random initialisers (nn.init style); float32 only */
static int fill_random(lua_State *L, int normal) {
  lt_tensor *t = lb_check(L, 1);
  double a = luaL_optnumber(L, 2, 0.0), b = luaL_optnumber(L, 3, 1.0); /* lo, hi or mean, std */
  check_inplace(L, t, normal ? "normal_" : "uniform_");
  if (t->dtype != LT_F32) return luaL_error(L, "%s: tensor must be float32", normal ? "normal_" : "uniform_");
  lt_ctx *c = lb_ctx(L);
  lb_box *tmp = lb_newbox(L);
  tmp->t = normal ? lt_randn(c, t->ndim, t->shape) : lt_uniform(c, t->ndim, t->shape, a, b);
  if (!tmp->t) return lb_raise(L);
  if (normal) {
    float *p = lt_f32(tmp->t);
    for (int64_t i = 0, n = lt_numel(tmp->t); i < n; i++) p[i] = (float)(a + b * p[i]);
  }
  lt_copy_(c, t, tmp->t);
  lua_settop(L, 1);
  return 1;
}
static int t_uniform_(lua_State *L) { return fill_random(L, 0); }
static int t_normal_(lua_State *L) { return fill_random(L, 1); }

static int t_zero_(lua_State *L) {
  lua_settop(L, 1);
  lua_pushinteger(L, 0);
  t_fill_(L);
  lua_settop(L, 1);
  return 1;
}

/* ---- values out ---- */
static void push_elem(lua_State *L, const lt_tensor *t, int64_t i) {
  double v = lt_get(t, i);
  if (t->dtype == LT_I64 && lt_is_contiguous(t)) lua_pushinteger(L, lt_i64(t)[i]); /* exact */
  else if (t->dtype == LT_I64) lua_pushinteger(L, (lua_Integer)lt_to_i64(v));
  else if (t->dtype == LT_BOOL) lua_pushboolean(L, v != 0);
  else lua_pushnumber(L, v);
}

static int t_item(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (lt_numel(t) != 1)
    return luaL_error(L, "item: tensor with %I elements (shape %s) cannot be converted to a "
                         "number; only one-element tensors can",
                      (lua_Integer)lt_numel(t), LT_SHAPE(t));
  if (t->dtype == LT_I64) {
    int64_t off = t->offset;
    lua_pushinteger(L, ((int64_t *)t->st->data)[off]); /* exact, no double round trip */
  } else {
    push_elem(L, t, 0);
  }
  return 1;
}

static void totable_rec(lua_State *L, const lt_tensor *t, int d, int64_t *flat) {
  luaL_checkstack(L, 4, "tensor too deep");
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t k = 0; k < t->shape[d]; k++) {
    if (d == t->ndim - 1) push_elem(L, t, (*flat)++);
    else totable_rec(L, t, d + 1, flat);
    lua_rawseti(L, -2, k + 1);
  }
}

static int t_totable(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  int64_t flat = 0;
  if (t->dtype == LT_I64) { /* read int64 exactly (not through a double): a contiguous copy */
    lb_box *b = lb_newbox(L);
    b->t = lt_contiguous_raw(lb_ctx(L), t);
    lb_done(L, b);
    t = b->t;
  }
  if (t->ndim == 0) push_elem(L, t, 0);
  else totable_rec(L, t, 0, &flat);
  return 1;
}

/* ---- autograd ---- */
static int t_backward(lua_State *L) {
  lt_tensor *t = lb_check(L, 1), *g = NULL;
  int retain = 0, opts = 0;
  if (lua_type(L, 2) == LUA_TTABLE && !lb_totensor(L, 2)) opts = 2;
  else if (!lua_isnoneornil(L, 2)) g = lb_check(L, 2);
  if (!opts && lua_type(L, 3) == LUA_TTABLE) opts = 3;
  if (opts) {
    lua_getfield(L, opts, "retain_graph");
    retain = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (lt_backward(lb_ctx(L), t, g, retain) < 0) return lb_raise(L);
  return 0;
}

static int t_requires_grad_(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  set_requires_grad(L, t, lua_isnone(L, 2) ? 1 : lua_toboolean(L, 2));
  lua_settop(L, 1);
  return 1;
}

/* ---- geometry ---- */
static int t_numel(lua_State *L) { return lua_pushinteger(L, lt_numel(lb_check(L, 1))), 1; }
static int t_dim(lua_State *L) { return lua_pushinteger(L, lb_check(L, 1)->ndim), 1; }
static int t_is_contiguous(lua_State *L) {
  return lua_pushboolean(L, lt_is_contiguous(lb_check(L, 1))), 1;
}
static int t_size(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  if (lua_isnoneornil(L, 2)) return push_shape(L, t), 1;
  int d = lt_wrap_dim(lb_ctx(L), "size", lb_check_int(L, 2), t->ndim);
  if (d < 0) return lb_raise(L);
  lua_pushinteger(L, t->ndim ? t->shape[d] : 1);
  return 1;
}
static int t_free(lua_State *L) {
  lb_box *b = luaL_checkudata(L, 1, LB_TENSOR_MT);
  lt_release(b->t);
  b->t = NULL;
  return 0;
}

const luaL_Reg lb_tensor_methods[] = {
  {"add", t_add}, {"sub", t_sub}, {"mul", t_mul}, {"div", t_div}, {"pow", t_pow},
  {"eq", t_eq}, {"ne", t_ne}, {"lt", t_lt}, {"le", t_le}, {"gt", t_gt}, {"ge", t_ge},
  {"neg", t_neg}, {"exp", t_exp}, {"log", t_log}, {"sqrt", t_sqrt}, {"abs", t_abs},
  {"relu", t_relu}, {"sigmoid", t_sigmoid}, {"tanh", t_tanh}, {"round", t_round},
  {"clamp", t_clamp}, {"softmax", t_softmax}, {"log_softmax", t_log_softmax},
  {"matmul", t_matmul}, {"mm", t_matmul},
  {"sum", t_sum}, {"mean", t_mean}, {"max", t_max}, {"min", t_min},
  {"argmax", t_argmax}, {"argmin", t_argmin}, {"all", t_all}, {"any", t_any},
  {"view", t_view}, {"reshape", t_reshape}, {"unsqueeze", t_unsqueeze},
  {"squeeze", t_squeeze}, {"transpose", t_transpose}, {"t", t_t}, {"permute", t_permute},
  {"narrow", t_narrow}, {"expand", t_expand}, {"expand_as", t_expand},
  {"index_select", t_index_select}, {"nonzero", t_nonzero}, {"contiguous", t_contiguous}, {"clone", t_clone},
  {"detach", t_detach}, {"float", t_float}, {"long", t_long}, {"bool", t_bool}, {"to", t_to},
  {"copy_", t_copy_}, {"fill_", t_fill_}, {"zero_", t_zero_},
  {"uniform_", t_uniform_}, {"normal_", t_normal_},
  {"item", t_item}, {"totable", t_totable}, {"backward", t_backward},
  {"requires_grad_", t_requires_grad_}, {"numel", t_numel}, {"dim", t_dim},
  {"size", t_size}, {"is_contiguous", t_is_contiguous}, {"free", t_free},
  {NULL, NULL}};

/* math that is also a module function: lurn.exp(x), lurn.matmul(a, b), ... */
static const char *const module_funcs[] = {
  "add", "sub", "mul", "div", "pow", "eq", "ne", "lt", "le", "gt", "ge", "neg", "exp",
  "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "round", "clamp", "softmax",
  "log_softmax", "matmul", "mm", "sum", "mean", "max", "min", "argmax", "argmin", "all",
  "any", "reshape", "unsqueeze", "squeeze", "transpose", "t", "permute", "narrow",
  "index_select", "clone", "detach", NULL};

void lb_tensor_funcs(lua_State *L) {
  /* stack: module, methods */
  for (int i = 0; module_funcs[i]; i++) {
    lua_getfield(L, -1, module_funcs[i]);
    lua_setfield(L, -3, module_funcs[i]);
  }
}

void lb_open_tensor(lua_State *L) {
  int ctx = lua_gettop(L);
  luaL_newmetatable(L, LB_TENSOR_MT);
  int mt = lua_gettop(L);
  lua_pushvalue(L, mt);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tensor_mt_key);
  lua_newtable(L); /* methods */
  int methods = lua_gettop(L);
  lua_pushvalue(L, ctx);
  luaL_setfuncs(L, lb_tensor_methods, 1);
  static const luaL_Reg meta[] = {
    {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div},
    {"__pow", t_pow}, {"__unm", t_unm}, {"__newindex", t_newindex},
    {"__tostring", t_tostring}, {"__len", t_len}, {"__gc", t_gc}, {"__close", t_gc},
    {NULL, NULL}};
  lua_pushvalue(L, mt);
  lua_pushvalue(L, ctx);
  luaL_setfuncs(L, meta, 1);
  lua_pop(L, 1);
  lua_pushvalue(L, ctx);
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, t_index, 2);
  lua_setfield(L, mt, "__index");
  lua_pushstring(L, "lurn.Tensor");
  lua_setfield(L, mt, "__name");
  lua_remove(L, mt); /* leaves: ctx, methods */
}
