/* The Lua library under lua/lurn/, embedded at build time (cmake/embed_lua.cmake). */
#ifndef LURN_LUA_SOURCES_H
#define LURN_LUA_SOURCES_H
#include <stddef.h>

typedef struct {
  const char *name; /* module name: "lurn", "lurn.nn", ... */
  const char *path; /* source path, for error messages */
  const char *data;
  size_t len;
} lb_lua_source;

extern const lb_lua_source lb_lua_sources[]; /* ends with a NULL name */

#endif
