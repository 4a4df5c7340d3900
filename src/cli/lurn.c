/* The lurn executable: runs a script (like `lua script.lua`), -e code, or a REPL.
 * Structured like lua.c: all Lua work runs inside a protected main (pmain), errors get
 * a traceback from msghandler, and SIGINT is turned into a Lua error by a hook. */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int luaopen_lurn(lua_State *L);

static const char *progname = "lurn";
static lua_State *global_L = NULL; /* only for the signal handler */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void laction(int sig) {
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process */
  lua_sethook(global_L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -i        enter interactive mode after executing 'script'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -v        show version information\n"
          "  -h        show this help\n"
          "  --        stop handling options\n"
          "  -         stop handling options and execute stdin\n",
          progname);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  global_L = L;
  signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

/* arg table: script at 0, its arguments at 1.., interpreter and options below 0 */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  lua_createtable(L, argc - (script + 1), script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = 0;
    lua_getglobal(L, "arg");
    if (lua_type(L, -1) == LUA_TTABLE) {
      n = (int)luaL_len(L, -1);
      luaL_checkstack(L, n + 3, "too many arguments to script");
      for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
      lua_remove(L, -n - 1);
    } else {
      lua_pop(L, 1);
    }
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* ---- a minimal REPL (line editing and completion live in repl.c when built) ---- */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= 5 && strcmp(msg + lmsg - 5, "<eof>") == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

static int readline_plain(const char *prompt, char *buf, size_t n) {
  if (isatty(STDIN_FILENO)) {
    fputs(prompt, stdout);
    fflush(stdout);
  }
  return fgets(buf, (int)n, stdin) != NULL;
}

static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    fprintf(stderr, "%s: error calling 'print' (%s)\n", progname, lua_tostring(L, -1)), lua_pop(L, 1);
}

static void repl(lua_State *L) {
  char line[4096];
  for (;;) {
    lua_settop(L, 0);
    if (!readline_plain("> ", line, sizeof line)) break;
    lua_pushstring(L, line);
    /* try it as an expression first, so `x + 1` prints its value */
    const char *ret = lua_pushfstring(L, "return %s", line);
    int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
    if (status != LUA_OK) {
      lua_pop(L, 2); /* error and the 'return' line */
      for (;;) {
        size_t len;
        const char *code = lua_tolstring(L, 1, &len);
        status = luaL_loadbuffer(L, code, len, "=stdin");
        if (!incomplete(L, status)) break;
        if (!readline_plain(">> ", line, sizeof line)) break;
        lua_pushstring(L, line);
        lua_concat(L, 2);
      }
    } else {
      lua_remove(L, -2);
    }
    lua_remove(L, 1); /* the source line(s) */
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L);
    else report(L, status);
  }
  lua_settop(L, 0);
  if (isatty(STDIN_FILENO)) fputs("\n", stdout);
}

typedef struct { int argc; char **argv; } args_t;

static int pmain(lua_State *L) {
  args_t *a = lua_touserdata(L, 1);
  int argc = a->argc;
  char **argv = a->argv;
  luaL_openlibs(L);
  luaL_requiref(L, "lurn", luaopen_lurn, 0);
  lua_pop(L, 1);
  int interactive = 0, has_e = 0, script = argc, i;
  for (i = 1; i < argc; i++) { /* first pass: check options */
    const char *o = argv[i];
    if (o[0] != '-' || strcmp(o, "-") == 0) { script = i; break; }
    if (strcmp(o, "--") == 0) { script = i + 1; break; }
    if (strcmp(o, "-i") == 0) interactive = 1;
    else if (strcmp(o, "-v") == 0) {}
    else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) { usage(); lua_pushinteger(L, 0); return 1; }
    else if (strcmp(o, "-e") == 0 || strcmp(o, "-l") == 0) {
      if (strcmp(o, "-e") == 0) has_e = 1;
      if (++i >= argc) { fprintf(stderr, "%s: '%s' needs argument\n", progname, o); usage(); lua_pushinteger(L, 2); return 1; }
    } else { fprintf(stderr, "%s: unrecognized option '%s'\n", progname, o); usage(); lua_pushinteger(L, 2); return 1; }
  }
  createargtable(L, argv, argc, script);
  for (i = 1; i < script && i < argc; i++) { /* second pass: run -e, -l, -v in order */
    const char *o = argv[i];
    if (strcmp(o, "--") == 0) break;
    if (strcmp(o, "-v") == 0) { puts(LUA_RELEASE " with lurn"); continue; }
    if (strcmp(o, "-e") == 0) {
      const char *code = argv[++i];
      if (dochunk(L, luaL_loadbuffer(L, code, strlen(code), "=(command line)")) != LUA_OK) { lua_pushinteger(L, 1); return 1; }
    } else if (strcmp(o, "-l") == 0) {
      const char *mod = argv[++i];
      lua_getglobal(L, "require");
      lua_pushstring(L, mod);
      if (report(L, docall(L, 1, 1)) != LUA_OK) { lua_pushinteger(L, 1); return 1; }
      lua_setglobal(L, mod);
    }
  }
  int vonly = 0;
  for (i = 1; i < script && i < argc; i++) if (strcmp(argv[i], "-v") == 0) vonly = 1;
  if (script < argc && handle_script(L, argv + script) != LUA_OK) { lua_pushinteger(L, 1); return 1; }
  if (interactive || (script >= argc && !has_e && !vonly)) {
    if (script >= argc && !interactive && !isatty(STDIN_FILENO)) {
      /* `lurn < file.lua`: run stdin as a script, like lua */
      if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) { lua_pushinteger(L, 1); return 1; }
    } else {
      /* the REPL has the library at hand */
      lua_getglobal(L, "require");
      lua_pushstring(L, "lurn");
      lua_call(L, 1, 1);
      lua_setglobal(L, "lurn");
      if (isatty(STDIN_FILENO)) printf("lurn (%s)  Ctrl-D to exit\n", LUA_RELEASE);
      repl(L);
    }
  }
  lua_pushinteger(L, 0);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return 1;
  }
  args_t a = {argc, argv};
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, 1, 1, 0);
  int code = 1;
  if (status == LUA_OK) code = (int)lua_tointeger(L, -1);
  else report(L, status);
  lua_close(L);
  return code;
}
