/* lurn.random: NumPy's legacy RandomState (MT19937) so that np.random.seed(42) followed
 * by rand/randint/permutation gives the same numbers in lurn. lurn.random.rand(...) uses
 * the global generator; lurn.random.RandomState(seed) makes an independent one with the
 * same methods (as sklearn's random_state does). Values are drawn as float64 and stored
 * as float32, as torch.tensor(np_array, dtype=torch.float32) would. */
#include <stdlib.h>

#include "binding.h"

#define RS_MT "lurn.RandomState"

/* the generator and the index of the first real argument */
static lt_rng *get_rng(lua_State *L, int *arg) {
  lt_rng *r = luaL_testudata(L, 1, RS_MT);
  *arg = r ? 2 : 1;
  return r ? r : &lb_ctx(L)->np_rng;
}

static uint32_t check_seed(lua_State *L, int idx) {
  int64_t s = lb_check_int(L, idx);
  if (s < 0 || s > 0xffffffffLL) luaL_argerror(L, idx, "seed must be in [0, 2^32)");
  return (uint32_t)s;
}

static int r_seed(lua_State *L) {
  int a;
  lt_rng *r = get_rng(L, &a);
  lt_rng_seed(r, check_seed(L, a));
  return 0;
}

static int r_new(lua_State *L) {
  uint32_t s = lua_isnoneornil(L, 1) ? 5489u : check_seed(L, 1);
  lt_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
  luaL_setmetatable(L, RS_MT);
  lt_rng_seed(r, s);
  return 1;
}

static int draw(lua_State *L, int normal) {
  int a, n;
  lt_rng *r = get_rng(L, &a);
  int64_t shape[LT_MAXDIM];
  lb_check_shape(L, a, &n, shape);
  LB_RETURN(L, normal ? lt_randn_r(lb_ctx(L), r, n, shape)
                      : lt_uniform_r(lb_ctx(L), r, n, shape, 0.0, 1.0));
}
static int r_rand(lua_State *L) { return draw(L, 0); }
static int r_randn(lua_State *L) { return draw(L, 1); }

/* uniform(lo, hi, shape) and normal(loc, scale, shape) */
static int r_uniform(lua_State *L) {
  int a, n;
  lt_rng *r = get_rng(L, &a);
  double lo = luaL_optnumber(L, a, 0.0), hi = luaL_optnumber(L, a + 1, 1.0);
  int64_t shape[LT_MAXDIM];
  lb_check_shape(L, a + 2, &n, shape);
  LB_RETURN(L, lt_uniform_r(lb_ctx(L), r, n, shape, lo, hi));
}

static int r_normal(lua_State *L) {
  int a, n;
  lt_rng *r = get_rng(L, &a);
  double loc = luaL_optnumber(L, a, 0.0), scale = luaL_optnumber(L, a + 1, 1.0);
  int64_t shape[LT_MAXDIM];
  lb_check_shape(L, a + 2, &n, shape);
  lb_box *b = lb_newbox(L);
  b->t = lt_randn_r(lb_ctx(L), r, n, shape);
  if (b->t) {
    float *p = lt_f32(b->t);
    for (int64_t i = 0, m = lt_numel(b->t); i < m; i++) p[i] = (float)(loc + scale * p[i]);
  }
  return lb_done(L, b);
}

/* randint(high, shape) or randint(low, high, shape); no shape: a 0-d tensor */
static int r_randint(lua_State *L) {
  int a, n = 0;
  lt_rng *r = get_rng(L, &a);
  int64_t lo = 0, hi, shape[LT_MAXDIM];
  if (lua_type(L, a + 1) == LUA_TNUMBER) lo = lb_check_int(L, a), hi = lb_check_int(L, a + 1), a += 2;
  else hi = lb_check_int(L, a), a += 1;
  if (!lua_isnoneornil(L, a)) lb_check_shape(L, a, &n, shape);
  LB_RETURN(L, lt_randint_r(lb_ctx(L), r, lo, hi, n, shape));
}

/* NumPy's legacy shuffle order: for i = n-1 .. 1, swap i with a draw in [0, i] */
static void shuffle_indices(lt_rng *r, int64_t *p, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)lt_rng_interval(r, (uint64_t)i), t = p[i];
    p[i] = p[j], p[j] = t;
  }
}

static lt_tensor *perm_tensor(lua_State *L, lt_rng *r, int64_t n) {
  lt_tensor *p = lt_arange_i64(lb_ctx(L), 0, n, 1);
  if (p) shuffle_indices(r, lt_i64(p), n);
  return p;
}

/* permutation(n) -> int64 [n]; permutation(t) -> t's rows in a shuffled order */
static int r_permutation(lua_State *L) {
  int a;
  lt_rng *r = get_rng(L, &a);
  lt_tensor *t = lb_totensor(L, a);
  if (!t) {
    int64_t n = lb_check_int(L, a);
    if (n < 0) return luaL_argerror(L, a, "n must be >= 0");
    LB_RETURN(L, perm_tensor(L, r, n));
  }
  if (t->ndim == 0) return luaL_argerror(L, a, "cannot permute a 0-d tensor");
  lb_box *idx = lb_newbox(L);
  if (!(idx->t = perm_tensor(L, r, t->shape[0]))) return lb_raise(L);
  LB_RETURN(L, lt_index_select(lb_ctx(L), t, 0, idx->t));
}

/* shuffle(t): t's rows shuffled in place */
static int r_shuffle(lua_State *L) {
  int a;
  lt_rng *r = get_rng(L, &a);
  lt_tensor *t = lb_check(L, a);
  if (t->ndim == 0) return luaL_argerror(L, a, "cannot shuffle a 0-d tensor");
  lb_box *idx = lb_newbox(L), *rows = lb_newbox(L);
  if (!(idx->t = perm_tensor(L, r, t->shape[0]))) return lb_raise(L);
  int was = lt_grad_enabled(lb_ctx(L));
  lt_set_grad_enabled(lb_ctx(L), 0);
  rows->t = lt_index_select(lb_ctx(L), t, 0, idx->t);
  lt_set_grad_enabled(lb_ctx(L), was);
  if (!rows->t || lt_copy_(lb_ctx(L), t, rows->t) < 0) return lb_raise(L);
  return 0;
}

/* lurn.randperm(n): a permutation from the lurn.manual_seed generator (DataLoader) */
static int l_randperm(lua_State *L) {
  int64_t n = lb_check_int(L, 1);
  if (n < 0) return luaL_argerror(L, 1, "n must be >= 0");
  LB_RETURN(L, perm_tensor(L, &lb_ctx(L)->rng, n));
}

static const luaL_Reg rs_methods[] = {
  {"seed", r_seed}, {"rand", r_rand}, {"randn", r_randn}, {"uniform", r_uniform},
  {"normal", r_normal}, {"randint", r_randint}, {"permutation", r_permutation},
  {"shuffle", r_shuffle}, {NULL, NULL}};

/* stack: module table, ctx box; sets module.random and pops the ctx box */
void lb_open_random(lua_State *L) {
  int ctx = lua_gettop(L);
  luaL_newmetatable(L, RS_MT);
  lua_newtable(L);
  lua_pushvalue(L, ctx);
  luaL_setfuncs(L, rs_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_newtable(L); /* lurn.random */
  lua_pushvalue(L, ctx);
  luaL_setfuncs(L, rs_methods, 1);
  lua_pushcfunction(L, r_new);
  lua_setfield(L, -2, "RandomState");
  lua_setfield(L, ctx - 1, "random");
  lua_pushcclosure(L, l_randperm, 1); /* takes the ctx box as its upvalue */
  lua_setfield(L, -2, "randperm");
}
