/* lurn.read_npy, lurn.save_npy, lurn.read_idx, lurn.read_csv: the data file readers and
 * writers of src/core (npy.c, idx.c, csv.c). lua/lurn's data module re-exports them.
 *
 * Arguments are all checked before the core call; results are boxed before it (the
 * tensor box, and for CSV a box with __gc for the column names), so a Lua error at any
 * point frees everything. */
#include <string.h>

#include "binding.h"
#include "../core/csv.h"
#include "../core/idx.h"
#include "../core/npy.h"

#define CSV_MT "lurn.csv_result"

static const char *check_path(lua_State *L, int idx) {
  size_t len;
  const char *p = luaL_checklstring(L, idx, &len);
  if (strlen(p) != len) luaL_argerror(L, idx, "the path contains a NUL byte");
  return p;
}

/* Every key of the options table at idx must be one of the NULL-terminated names. */
static void check_keys(lua_State *L, int idx, const char *fn, const char *const *names,
                       const char *usage) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int known = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (const char *const *n = names; *n; n++) known |= !strcmp(lua_tostring(L, -2), *n);
    if (!known) {
      const char *k = luaL_tolstring(L, -2, NULL);
      luaL_error(L, "%s: unknown option %s (the options are %s)", fn, k, usage);
    }
    lua_pop(L, 1);
  }
}

/* lurn.read_npy(path) -> tensor */
static int l_read_npy(lua_State *L) {
  const char *path = check_path(L, 1);
  LB_RETURN(L, lt_npy_load(lb_ctx(L), path));
}

/* lurn.save_npy(tensor, path): float32, int64 or bool, as np.save writes them */
static int l_save_npy(lua_State *L) {
  lt_tensor *t = lb_check(L, 1);
  const char *path = check_path(L, 2);
  if (lt_npy_save(lb_ctx(L), path, t) < 0) return lb_raise(L);
  return 0;
}

/* lurn.read_idx(path [, {dtype = "float32"}]) -> tensor: int64 for integer data (MNIST
 * pixels and labels), float32 for float data; dtype = "float32" reads integers as
 * float32 directly (half the memory of int64 for images). */
static int l_read_idx(lua_State *L) {
  static const char *const keys[] = {"dtype", NULL};
  const char *path = check_path(L, 1);
  int as = LT_IDX_NATURAL;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, "read_idx", keys, "{dtype = \"float32\" | \"int64\"}");
    lua_getfield(L, 2, "dtype");
    const char *d = lua_tostring(L, -1);
    if (d && (!strcmp(d, "float32") || !strcmp(d, "float"))) as = LT_F32;
    else if (d && (!strcmp(d, "int64") || !strcmp(d, "long"))) as = LT_I64;
    else if (!lua_isnil(L, -1))
      return luaL_error(L, "read_idx: dtype must be \"float32\" or \"int64\", got %s",
                        luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
  }
  LB_RETURN(L, lt_idx_load(lb_ctx(L), path, as));
}

static int csv_gc(lua_State *L) {
  lt_csv **pr = luaL_checkudata(L, 1, CSV_MT);
  lt_csv_free(*pr);
  *pr = NULL;
  return 0;
}

/* lurn.read_csv(path [, {header = true, columns = {"name" | index, ...}, delimiter = ","}])
 * -> float32 tensor [rows, columns], names (a list; nil when header = false).
 * Column indices are 1-based, like the line and column numbers in error messages. */
static int l_read_csv(lua_State *L) {
  static const char *const keys[] = {"header", "columns", "delimiter", NULL};
  const char *path = check_path(L, 1);
  lt_csv_opts o = {.header = 1, .delimiter = ','};
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_istable(L, 2)) {
    check_keys(L, 2, "read_csv", keys, "header, columns, delimiter");
    lua_getfield(L, 2, "header");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
      return luaL_error(L, "read_csv: header must be a boolean, got a %s", luaL_typename(L, -1));
    if (lua_isboolean(L, -1)) o.header = lua_toboolean(L, -1);
    lua_getfield(L, 2, "delimiter");
    if (!lua_isnil(L, -1)) {
      size_t len;
      const char *d = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
      if (!d || len != 1 || *d == '"' || *d == '\n' || *d == '\r' || *d == 0)
        return luaL_error(L, "read_csv: delimiter must be one character (not a quote or a line end)");
      o.delimiter = *d;
    }
    lua_pop(L, 2);
  }
  /* the selected columns; their name strings stay alive in the table at index 3 */
  if (lua_istable(L, 2)) lua_getfield(L, 2, "columns");
  else lua_pushnil(L);
  if (!lua_isnil(L, 3)) {
    if (!lua_istable(L, 3))
      return luaL_error(L, "read_csv: columns must be a list of names or 1-based indices, got a %s",
                        luaL_typename(L, 3));
    size_t n = (size_t)luaL_len(L, 3);
    if (n == 0) return luaL_error(L, "read_csv: columns is empty (leave it out to read every column)");
    lt_csv_col *cols = lua_newuserdatauv(L, n * sizeof *cols, 0);
    for (size_t k = 0; k < n; k++) {
      lua_geti(L, 3, (lua_Integer)k + 1);
      int isint;
      lua_Integer i = lua_tointegerx(L, -1, &isint);
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        cols[k].name = lua_tolstring(L, -1, &len);
        if (strlen(cols[k].name) != len) return luaL_error(L, "read_csv: column name %d contains a NUL byte", (int)k + 1);
      } else if (lua_type(L, -1) == LUA_TNUMBER && isint && i >= 1) {
        cols[k].name = NULL, cols[k].index = (int64_t)(i - 1);
      } else {
        return luaL_error(L, "read_csv: columns[%d] must be a column name or a 1-based index, got %s",
                          (int)k + 1, luaL_tolstring(L, -1, NULL));
      }
      lua_pop(L, 1);
    }
    o.ncols = n, o.cols = cols;
  }
  lt_csv **pr = lua_newuserdatauv(L, sizeof *pr, 0);
  *pr = NULL;
  if (luaL_newmetatable(L, CSV_MT)) {
    lua_pushcfunction(L, csv_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lb_box *box = lb_newbox(L);
  lt_csv *r = *pr = lt_csv_load(lb_ctx(L), path, &o);
  if (!r) return lb_raise(L);
  box->t = r->t; /* handed over: the box frees it from now on */
  r->t = NULL;
  if (r->names) {
    lua_createtable(L, r->ncols < 1 << 20 ? (int)r->ncols : 1 << 20, 0);
    for (size_t k = 0; k < r->ncols; k++) {
      lua_pushstring(L, r->names[k]);
      lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
  } else {
    lua_pushnil(L);
  }
  lt_csv_free(r); /* the names are Lua strings now */
  *pr = NULL;
  lb_gc_pressure(L);
  return 2;
}

const luaL_Reg lb_data_funcs[] = {{"read_npy", l_read_npy},
                                  {"save_npy", l_save_npy},
                                  {"read_idx", l_read_idx},
                                  {"read_csv", l_read_csv},
                                  {NULL, NULL}};
