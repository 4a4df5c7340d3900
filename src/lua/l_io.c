/* lurn.save and lurn.load: safetensors checkpoints (src/core/safetensors.c).
 *
 * No C allocation may outlive a Lua error: save checks every argument and gathers them
 * into userdata (collected by Lua) before the core call, which itself runs no Lua code;
 * load boxes the loaded file in a userdata with __gc before filling the result tables,
 * so an out-of-memory error half way frees whatever was not handed over yet. */
#include <string.h>

#include "binding.h"
#include "../core/safetensors.h"

#define FILE_MT "lurn.safetensors_file"

static size_t count_entries(lua_State *L, int idx) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) n++, lua_pop(L, 1);
  return n;
}

/* A string key at -2 (left unconverted: lua_next needs it intact), or an error. */
static const char *check_key(lua_State *L, const char *what) {
  if (lua_type(L, -2) != LUA_TSTRING) {
    const char *k = luaL_tolstring(L, -2, NULL); /* a converted copy, pushed */
    luaL_error(L, "save: %s keys must be strings, found the %s key %s", what,
               luaL_typename(L, -3), k);
  }
  size_t len;
  const char *k = lua_tolstring(L, -2, &len);
  if (strlen(k) != len) luaL_error(L, "save: %s key '%s...' contains a NUL byte", what, k);
  return k;
}

/* lurn.save(tensors, path [, {metadata = {key = "value"}}]): tensors is a table of
 * name -> tensor; names are kept verbatim ("fc1.weight"). */
static int l_save(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *path = luaL_checkstring(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "metadata"))
        return luaL_argerror(L, 3, "unknown option (the options are {metadata = {key = \"value\"}})");
      lua_pop(L, 1);
    }
    lua_getfield(L, 3, "metadata");
  } else {
    lua_pushnil(L);
  }
  int meta = 4; /* the metadata table or nil */
  if (!lua_isnil(L, meta) && !lua_istable(L, meta))
    return luaL_error(L, "save: metadata must be a table of strings, got a %s", luaL_typename(L, meta));

  size_t n = count_entries(L, 1);
  const char **names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0);
  lt_tensor **ts = lua_newuserdatauv(L, (n ? n : 1) * sizeof *ts, 0);
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, 1) && i < n) {
    const char *name = check_key(L, "tensor");
    lt_tensor *t = lb_totensor(L, -1);
    if (!t) return luaL_error(L, "save: '%s' is a %s, expected a tensor", name, luaL_typename(L, -1));
    names[i] = name, ts[i++] = t; /* the strings stay alive as keys of table 1 */
    lua_pop(L, 1);
  }

  size_t nm = lua_istable(L, meta) ? count_entries(L, meta) : 0;
  const char **keys = lua_newuserdatauv(L, (nm ? nm : 1) * sizeof *keys, 0);
  const char **vals = lua_newuserdatauv(L, (nm ? nm : 1) * sizeof *vals, 0);
  size_t j = 0;
  if (nm) {
    lua_pushnil(L);
    while (lua_next(L, meta) && j < nm) {
      const char *k = check_key(L, "metadata");
      size_t len;
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "save: metadata '%s' is a %s, expected a string", k, luaL_typename(L, -1));
      const char *v = lua_tolstring(L, -1, &len);
      if (strlen(v) != len) return luaL_error(L, "save: metadata '%s' contains a NUL byte", k);
      keys[j] = k, vals[j++] = v;
      lua_pop(L, 1);
    }
  }
  if (lt_st_save(lb_ctx(L), path, i, names, ts, j, keys, vals) < 0) return lb_raise(L);
  return 0;
}

static int file_gc(lua_State *L) {
  lt_st_file **pf = luaL_checkudata(L, 1, FILE_MT);
  lt_st_free(*pf);
  *pf = NULL;
  return 0;
}

/* lurn.load(path) -> {name = tensor, ...}, {metadata key = value, ...} */
static int l_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lt_st_file **pf = lua_newuserdatauv(L, sizeof *pf, 0);
  *pf = NULL;
  if (luaL_newmetatable(L, FILE_MT)) {
    lua_pushcfunction(L, file_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lt_st_file *f = *pf = lt_st_load(lb_ctx(L), path);
  if (!f) return lb_raise(L);
  lua_createtable(L, 0, f->n < 1 << 20 ? (int)f->n : 1 << 20);
  for (size_t i = 0; i < f->n; i++) {
    lb_box *b = lb_newbox(L);
    b->t = f->tensors[i].t; /* handed over: the box frees it from now on */
    f->tensors[i].t = NULL;
    lua_setfield(L, -2, f->tensors[i].name);
  }
  lua_createtable(L, 0, f->nmeta < 1 << 20 ? (int)f->nmeta : 1 << 20);
  for (size_t i = 0; i < f->nmeta; i++) {
    lua_pushstring(L, f->meta[i].value);
    lua_setfield(L, -2, f->meta[i].key);
  }
  lt_st_free(f); /* names and metadata are copied into Lua strings now */
  *pf = NULL;
  lb_gc_pressure(L);
  return 2;
}

const luaL_Reg lb_io_funcs[] = {{"save", l_save}, {"load", l_load}, {NULL, NULL}};
