/* luaopen_lurn: the context, tensor creation functions, grad mode, and the Lua library
 * compiled into the binary (lua/lurn/...), registered in package.preload. */
#define _POSIX_C_SOURCE 200809L /* isatty, clock_gettime */
#include <math.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "lurn_lua_sources.h"

#define LURN_VERSION "lurn 0.1.0"

static int ctx_gc(lua_State *L) {
  lt_ctx **pc = lua_touserdata(L, 1);
  lt_ctx_free(*pc);
  *pc = NULL;
  return 0;
}

/* dtype and requires_grad from a trailing argument: nil, "int64" or {dtype=, requires_grad=} */
typedef struct { int has_dtype; lt_dtype dtype; int requires_grad; } opts_t;

static opts_t check_opts(lua_State *L, int idx) {
  opts_t o = {0, LT_F32, 0};
  if (lua_isnoneornil(L, idx)) return o;
  if (lua_type(L, idx) == LUA_TSTRING) {
    o.has_dtype = 1, o.dtype = lb_check_dtype(L, idx);
    return o;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  if (lua_getfield(L, idx, "dtype") != LUA_TNIL) {
    o.has_dtype = 1;
    o.dtype = lb_check_dtype(L, lua_gettop(L));
  }
  lua_getfield(L, idx, "requires_grad");
  o.requires_grad = lua_toboolean(L, -1);
  lua_pop(L, 2);
  if (lua_gettop(L) > idx) luaL_argerror(L, idx + 1, "unexpected argument after options");
  return o;
}

static int finish(lua_State *L, lb_box *b, opts_t o) {
  lb_done(L, b);
  if (o.requires_grad) {
    if (b->t->dtype != LT_F32)
      return luaL_error(L, "requires_grad: only float32 tensors can require gradients");
    b->t->requires_grad = 1;
  }
  return 1;
}

static int create(lua_State *L, double fill, int kind) {
  int n;
  int64_t shape[LT_MAXDIM];
  int next = lb_check_shape(L, 1, &n, shape);
  opts_t o = check_opts(L, next);
  lt_ctx *c = lb_ctx(L);
  if (kind && o.has_dtype && o.dtype != LT_F32)
    return luaL_error(L, "%s: only float32 is supported", kind == 1 ? "rand" : "randn");
  lb_box *b = lb_newbox(L);
  b->t = kind == 1 ? lt_rand(c, n, shape)
         : kind == 2 ? lt_randn(c, n, shape)
         : isnan(fill) ? lt_empty(c, o.dtype, n, shape)
                       : lt_full(c, o.dtype, n, shape, fill);
  return finish(L, b, o);
}
static int l_zeros(lua_State *L) { return create(L, 0.0, 0); }
static int l_ones(lua_State *L) { return create(L, 1.0, 0); }
/* lurn.empty: uninitialised memory, as torch.empty (nothing in lurn reads it before
 * writing; sanitizer builds fill new tensors with 0xFF to prove it) */
static int l_empty(lua_State *L) { return create(L, NAN, 0); }
static int l_rand(lua_State *L) { return create(L, 0, 1); }
static int l_randn(lua_State *L) { return create(L, 0, 2); }

static int l_full(lua_State *L) {
  int n;
  int64_t shape[LT_MAXDIM];
  luaL_checktype(L, 1, LUA_TTABLE);
  lb_check_shape(L, 1, &n, shape);
  lt_num v = lua_isboolean(L, 2) ? lt_num_i(lua_toboolean(L, 2)) : lb_check_num(L, 2);
  opts_t o = check_opts(L, 3);
  if (!o.has_dtype)
    o.dtype = lua_isboolean(L, 2) ? LT_BOOL : lua_isinteger(L, 2) ? LT_I64 : LT_F32;
  lb_box *b = lb_newbox(L);
  b->t = lt_full_num(lb_ctx(L), o.dtype, n, shape, v);
  return finish(L, b, o);
}

static int like(lua_State *L, int kind) {
  lt_tensor *x = lb_check(L, 1);
  int arg = 2;
  lt_num v = lt_num_i(kind == 0 ? 0 : 1);
  if (kind == 4) v = lua_isboolean(L, 2) ? lt_num_i(lua_toboolean(L, 2)) : lb_check_num(L, 2), arg = 3;
  opts_t o = check_opts(L, arg);
  if (!o.has_dtype) o.dtype = x->dtype;
  lt_ctx *c = lb_ctx(L);
  lb_box *b = lb_newbox(L);
  b->t = kind == 2 ? lt_rand(c, x->ndim, x->shape)
         : kind == 3 ? lt_randn(c, x->ndim, x->shape)
                     : lt_full_num(c, o.dtype, x->ndim, x->shape, v);
  return finish(L, b, o);
}
static int l_zeros_like(lua_State *L) { return like(L, 0); }
static int l_ones_like(lua_State *L) { return like(L, 1); }
static int l_rand_like(lua_State *L) { return like(L, 2); }
static int l_randn_like(lua_State *L) { return like(L, 3); }
static int l_full_like(lua_State *L) { return like(L, 4); }

static int l_arange(lua_State *L) {
  int nnum = 0, all_int = 1;
  lt_num v[3];
  while (nnum < 3 && lua_type(L, nnum + 1) == LUA_TNUMBER) {
    all_int &= lua_isinteger(L, nnum + 1);
    v[nnum] = lb_check_num(L, nnum + 1);
    nnum++;
  }
  if (nnum == 0) return luaL_argerror(L, 1, "arange expects (end), (start, end) or (start, end, step)");
  opts_t o = check_opts(L, nnum + 1);
  if (!o.has_dtype) o.dtype = all_int ? LT_I64 : LT_F32;
  lt_num start = nnum == 1 ? lt_num_i(0) : v[0], end = nnum == 1 ? v[0] : v[1],
         step = nnum == 3 ? v[2] : lt_num_i(1);
  lb_box *b = lb_newbox(L);
  /* integers into int64 in integer arithmetic (exact past 2^53); anything else in double */
  b->t = all_int && o.dtype == LT_I64 ? lt_arange_i64(lb_ctx(L), start.i, end.i, step.i)
                                      : lt_arange(lb_ctx(L), start.d, end.d, step.d, o.dtype);
  return finish(L, b, o);
}

static int l_randint(lua_State *L) {
  int64_t lo = 0, hi;
  int idx;
  if (lua_type(L, 2) == LUA_TNUMBER) lo = lb_check_int(L, 1), hi = lb_check_int(L, 2), idx = 3;
  else hi = lb_check_int(L, 1), idx = 2;
  int n;
  int64_t shape[LT_MAXDIM];
  if (lua_type(L, idx) != LUA_TTABLE) return luaL_typeerror(L, idx, "shape table");
  int next = lb_check_shape(L, idx, &n, shape);
  opts_t o = check_opts(L, next);
  lb_box *b = lb_newbox(L);
  b->t = lt_randint(lb_ctx(L), lo, hi, n, shape);
  if (b->t && o.has_dtype && o.dtype != LT_I64) {
    lt_tensor *conv = lt_to_dtype_raw(lb_ctx(L), b->t, o.dtype);
    lt_release(b->t);
    b->t = conv;
  }
  return finish(L, b, o);
}

/* ---- lurn.tensor(nested tables) ---- */
typedef struct { int ndim; int64_t shape[LT_MAXDIM]; int nfloat, nint, nbool; } infer_t;

static void infer(lua_State *L, int idx, int d, infer_t *in) {
  int t = lua_type(L, idx);
  if (t == LUA_TTABLE) {
    if (d >= LT_MAXDIM) luaL_error(L, "tensor: nesting deeper than %d dims", LT_MAXDIM);
    int64_t len = (int64_t)lua_rawlen(L, idx);
    if (d == in->ndim) {
      if (in->nfloat + in->nint + in->nbool > 0)
        luaL_error(L, "tensor: ragged nesting (a list where a number was expected at depth %d)", d + 1);
      in->shape[in->ndim++] = len;
    } else if (in->shape[d] != len) {
      luaL_error(L, "tensor: ragged nesting: expected length %I at depth %d, got %I",
                 (lua_Integer)in->shape[d], d + 1, (lua_Integer)len);
    }
    luaL_checkstack(L, 2, "tensor: nesting too deep");
    for (int64_t i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, i);
      infer(L, lua_gettop(L), d + 1, in);
      lua_pop(L, 1);
    }
    return;
  }
  if (d != in->ndim)
    luaL_error(L, "tensor: ragged nesting: a %s at depth %d where a list was expected",
               lua_typename(L, t), d + 1);
  if (t == LUA_TNUMBER) {
    if (lua_isinteger(L, idx)) in->nint++;
    else in->nfloat++;
  } else if (t == LUA_TBOOLEAN) {
    in->nbool++;
  } else {
    luaL_error(L, "tensor: elements must be numbers or booleans, got %s", lua_typename(L, t));
  }
}

static void fill_from(lua_State *L, int idx, lt_tensor *t, int64_t *flat) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, idx); i <= n; i++) {
      lua_rawgeti(L, idx, i);
      fill_from(L, lua_gettop(L), t, flat);
      lua_pop(L, 1);
    }
    return;
  }
  int64_t at = (*flat)++;
  if (t->dtype == LT_I64 && lua_isinteger(L, idx)) lt_i64(t)[at] = lua_tointeger(L, idx);
  else lt_set(t, at, lua_isboolean(L, idx) ? lua_toboolean(L, idx) : lua_tonumber(L, idx));
}

static int l_tensor(lua_State *L) {
  lt_ctx *c = lb_ctx(L);
  lt_tensor *src = lb_totensor(L, 1);
  opts_t o = check_opts(L, 2);
  if (src) {
    lb_box *b = lb_newbox(L);
    b->t = lt_to_dtype_raw(c, src, o.has_dtype ? o.dtype : src->dtype);
    return finish(L, b, o);
  }
  int t = lua_type(L, 1);
  if (t != LUA_TTABLE && t != LUA_TNUMBER && t != LUA_TBOOLEAN)
    return luaL_typeerror(L, 1, "table of numbers, number, boolean or tensor");
  infer_t in = {0};
  infer(L, 1, 0, &in);
  if (in.nbool && (in.nint || in.nfloat))
    return luaL_error(L, "tensor: mixed booleans and numbers");
  if (!o.has_dtype) o.dtype = in.nbool ? LT_BOOL : (in.nfloat || !in.nint) ? LT_F32 : LT_I64;
  lb_box *b = lb_newbox(L);
  b->t = lt_empty(c, o.dtype, in.ndim, in.shape);
  if (!b->t) return lb_raise(L);
  int64_t flat = 0;
  fill_from(L, 1, b->t, &flat);
  return finish(L, b, o);
}

/* ---- lists of tensors ---- */
static int gather_list(lua_State *L, int idx, lt_tensor ***out) {
  luaL_checktype(L, idx, LUA_TTABLE);
  int n = (int)lua_rawlen(L, idx);
  lt_tensor **v = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *v, 0); /* freed by GC */
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    v[i] = lb_totensor(L, -1);
    if (!v[i]) luaL_error(L, "expected a list of tensors, element %d is a %s", i + 1, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  *out = v;
  return n;
}

static int l_cat(lua_State *L) {
  lt_tensor **v;
  lua_settop(L, 2); /* gather_list pushes its array: keep it off the dim argument's slot */
  int n = gather_list(L, 1, &v);
  int64_t d = lua_isnoneornil(L, 2) ? 0 : lb_check_int(L, 2);
  LB_RETURN(L, lt_cat(lb_ctx(L), n, v, d));
}

static int l_stack(lua_State *L) {
  lt_tensor **v;
  lua_settop(L, 2); /* gather_list pushes its array: keep it off the dim argument's slot */
  int n = gather_list(L, 1, &v);
  int64_t d = lua_isnoneornil(L, 2) ? 0 : lb_check_int(L, 2);
  LB_RETURN(L, lt_stack(lb_ctx(L), n, v, d));
}

/* a tensor argument, or a number turned into a 0-d tensor (boxed on the stack) */
static lt_tensor *tensor_or_number(lua_State *L, int idx, lt_dtype like) {
  lt_tensor *t = lb_totensor(L, idx);
  if (t) return t;
  lt_num v = lb_check_num(L, idx);
  lt_dtype d = (like != LT_F32 && v.is_int) ? LT_I64 : LT_F32;
  lb_box *b = lb_newbox(L);
  if (!(b->t = lt_scalar_num(lb_ctx(L), d, v))) lb_raise(L);
  return b->t;
}

static int l_where(lua_State *L) {
  lt_tensor *cond = lb_check(L, 1);
  lt_tensor *ta = lb_totensor(L, 2), *tb = lb_totensor(L, 3);
  lt_dtype like = ta ? ta->dtype : tb ? tb->dtype : LT_F32;
  lt_tensor *a = tensor_or_number(L, 2, like), *b = tensor_or_number(L, 3, like);
  LB_RETURN(L, lt_where(lb_ctx(L), cond, a, b));
}

/* ---- state ---- */
static int l_manual_seed(lua_State *L) {
  int64_t s = lb_check_int(L, 1);
  if (s < 0 || s > 0xffffffffLL) return luaL_argerror(L, 1, "seed must be in [0, 2^32)");
  lt_rng_seed(&lb_ctx(L)->rng, (uint32_t)s);
  return 0;
}

static int l_is_tensor(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, LB_TENSOR_MT) != NULL);
  return 1;
}

static int l_is_grad_enabled(lua_State *L) {
  lua_pushboolean(L, lt_grad_enabled(lb_ctx(L)));
  return 1;
}

static int l_set_grad_enabled(lua_State *L) {
  luaL_checkany(L, 1);
  lt_ctx *c = lb_ctx(L);
  lua_pushboolean(L, lt_grad_enabled(c));
  lt_set_grad_enabled(c, lua_toboolean(L, 1));
  return 1;
}

/* lurn.isatty(fd = 1): whether stdout (or fd) is a terminal, for progress bars */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
  return 1;
}

/* lurn.clock(): monotonic wall time in seconds (os.clock is CPU time, which counts
 * every BLAS thread) */
static int l_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
  return 1;
}

static int l_memory(lua_State *L) {
  lt_ctx *c = lb_ctx(L);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)c->live_bytes);
  lua_setfield(L, -2, "live_bytes");
  lua_pushinteger(L, (lua_Integer)c->peak_bytes);
  lua_setfield(L, -2, "peak_bytes");
  lua_pushinteger(L, (lua_Integer)c->cached_bytes);
  lua_setfield(L, -2, "cached_bytes");
  lua_pushinteger(L, (lua_Integer)c->max_bytes);
  lua_setfield(L, -2, "limit_bytes");
  return 1;
}

/* lurn.empty_cache(): give the freed tensor buffers kept for reuse back to the system */
static int l_empty_cache(lua_State *L) {
  lt_cache_trim(lb_ctx(L));
  return 0;
}

/* lurn.set_memory_limit(bytes | nil): tensors that would take live tensor memory past
 * the limit fail with "not enough memory"; nil or 0 removes it */
static int l_set_memory_limit(lua_State *L) {
  lua_Integer n = luaL_opt(L, luaL_checkinteger, 1, 0);
  luaL_argcheck(L, n >= 0, 1, "the limit must be a byte count >= 0");
  lb_ctx(L)->max_bytes = (size_t)n;
  return 0;
}

static const luaL_Reg funcs[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones}, {"empty", l_empty},
  {"full", l_full}, {"arange", l_arange}, {"rand", l_rand}, {"randn", l_randn},
  {"randint", l_randint}, {"zeros_like", l_zeros_like}, {"ones_like", l_ones_like},
  {"rand_like", l_rand_like}, {"randn_like", l_randn_like}, {"full_like", l_full_like},
  {"cat", l_cat}, {"stack", l_stack}, {"where", l_where}, {"manual_seed", l_manual_seed},
  {"is_tensor", l_is_tensor}, {"is_grad_enabled", l_is_grad_enabled},
  {"set_grad_enabled", l_set_grad_enabled}, {"memory", l_memory},
  {"set_memory_limit", l_set_memory_limit}, {"empty_cache", l_empty_cache},
  {"isatty", l_isatty}, {"clock", l_clock}, {NULL, NULL}};

/* ---- the embedded Lua library ---- */
static int load_embedded(lua_State *L, const lb_lua_source *s) {
  char chunk[256];
  snprintf(chunk, sizeof chunk, "@%s", s->path);
  if (luaL_loadbufferx(L, s->data, s->len, chunk, "t") != LUA_OK) return lua_error(L);
  return 0;
}

static int preload_loader(lua_State *L) {
  const lb_lua_source *s = lua_touserdata(L, lua_upvalueindex(1));
  load_embedded(L, s);
  lua_pushvalue(L, 1); /* module name, as require passes it */
  lua_call(L, 1, 1);
  return 1;
}

int luaopen_lurn(lua_State *L) {
  /* package.preload for every embedded module except lurn itself */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const lb_lua_source *s = lb_lua_sources; s->name; s++) {
    if (!strcmp(s->name, "lurn")) continue;
    lua_pushlightuserdata(L, (void *)s);
    lua_pushcclosure(L, preload_loader, 1);
    lua_setfield(L, -2, s->name);
  }
  lua_pop(L, 1);

  lt_ctx **pc = lua_newuserdatauv(L, sizeof *pc, 0);
  *pc = NULL;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  if (!(*pc = lt_ctx_new())) return luaL_error(L, "not enough memory");
  int ctx = lua_gettop(L);

  lua_newtable(L); /* the module */
  int mod = lua_gettop(L);
  lua_pushvalue(L, ctx);
  luaL_setfuncs(L, funcs, 1);
  lua_pushvalue(L, ctx);
  luaL_setfuncs(L, lb_io_funcs, 1);
  lua_pushvalue(L, ctx);
  luaL_setfuncs(L, lb_data_funcs, 1);
  lua_pushvalue(L, ctx);
  lb_open_nn(L);
  lua_pushvalue(L, ctx);
  lb_open_random(L);
  lua_pushvalue(L, ctx);
  lb_open_runtime(L);
  lua_pushvalue(L, ctx);
  lb_open_tensor(L); /* pushes ctx copy's methods: stack ... mod ctx methods */
  lua_pushvalue(L, mod);
  lua_pushvalue(L, -2);
  lb_tensor_funcs(L);
  lua_pop(L, 2);
  lua_setfield(L, mod, "Tensor"); /* the methods table: add methods from Lua here */
  lua_pop(L, 1);                  /* ctx copy */
  static const char *const dtypes[][2] = {{"float32", "float32"}, {"float", "float32"},
                                          {"int64", "int64"}, {"long", "int64"},
                                          {"bool", "bool"}};
  for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++) {
    lua_pushstring(L, dtypes[i][1]);
    lua_setfield(L, mod, dtypes[i][0]);
  }
  lua_pushstring(L, LURN_VERSION);
  lua_setfield(L, mod, "_VERSION");

  /* lua/lurn/init.lua completes the module in Lua */
  for (const lb_lua_source *s = lb_lua_sources; s->name; s++) {
    if (strcmp(s->name, "lurn")) continue;
    load_embedded(L, s);
    lua_pushvalue(L, mod);
    lua_call(L, 1, 0);
  }
  lua_pushvalue(L, mod);
  return 1;
}
