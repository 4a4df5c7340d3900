/* The lurn executable: runs a script (like `lua script.lua`), -e code, or a REPL.
 * Structured like lua.c: all Lua work runs inside a protected main (pmain), errors get
 * a traceback from lb_traceback, and SIGINT becomes the Lua error "interrupted", both
 * through a hook (Lua code) and through a flag the context's kernels poll (C loops).
 * The flag lives here, in the program: the library keeps no globals, its context only
 * points at it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lua/binding.h"
#include "cli.h"

int luaopen_lurn(lua_State *L);

static const char *progname = "lurn";

/* ---- Ctrl-C ---- */
static volatile sig_atomic_t interrupted; /* read by kernels through ctx->interrupt */
static lua_State *signal_L;                /* only for the signal handler */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (interrupted) { /* a kernel may have taken it already and raised */
    interrupted = 0;
    luaL_error(L, "interrupted");
  }
}

/* lua.c's laction: the hook stops Lua code at the next instruction; a second Ctrl-C,
 * with the default action back, kills a process stuck where nothing polls */
static void laction(int sig) {
  signal(sig, SIG_DFL);
  interrupted = 1;
  lua_sethook(signal_L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void flag_only(int sig) {
  (void)sig;
  interrupted = 1;
}

int cli_take_interrupt(void) {
  int was = interrupted != 0;
  interrupted = 0;
  return was;
}

/* At a prompt Ctrl-C only sets the flag; without SA_RESTART the read returns (EINTR)
 * and the REPL clears the line. */
void cli_prompt_signals(int on) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on ? flag_only : SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

/* ---- protected calls ---- */
int cli_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, lb_traceback);
  lua_insert(L, base);
  signal_L = L;
  interrupted = 0;
  signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_sethook(L, NULL, 0, 0); /* a Ctrl-C that came too late to stop anything */
  interrupted = 0;
  lua_remove(L, base);
  return status;
}

int cli_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = cli_docall(L, 0, 0);
  return cli_report(L, status);
}

/* ---- options ---- */
static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "Runs a Lua 5.4 script with lurn, or starts the REPL when there is none.\n"
          "Options:\n"
          "  -e stat       execute string 'stat'\n"
          "  -i            enter interactive mode after running 'script'\n"
          "  -l mod        require library 'mod' into global 'mod'\n"
          "  -l g=mod      require library 'mod' into global 'g'\n"
          "  -v            show version information\n"
          "  -W            turn warnings on\n"
          "  --threads N   use N threads in BLAS and lurn's loops (default: LURN_NUM_THREADS)\n"
          "  --seed N      seed lurn.manual_seed and lurn.random.seed with N before anything runs\n"
          "  -h, --help    show this help\n"
          "  --            stop handling options\n"
          "  -             stop handling options and execute stdin\n"
          "Environment:\n"
          "  LURN_NUM_THREADS  thread count when --threads is not given\n"
          "  LURN_HISTORY      REPL history file (default ~/.lurn_history; empty: none)\n"
          "Exit status: 0 on success, 1 on an error in Lua code, 2 on bad usage.\n",
          progname);
}

typedef struct {
  int interactive, version, has_e, warnings, help;
  int script; /* index of the script in argv, or argc */
  long threads, seed;
  int has_threads, has_seed;
} opts_t;

/* parses a decimal in [lo, hi] */
static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int bad_usage(const char *fmt, const char *arg) {
  fprintf(stderr, "%s: ", progname);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  usage(stderr);
  return 0;
}

/* A long option with a value: "--threads N" or "--threads=N". */
static const char *long_value(char **argv, int argc, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != '\0') return NULL;
  if (*i + 1 >= argc) return "";
  return argv[++*i];
}

/* First pass, as lua.c's collectargs: check every option before running anything. */
static int collect(int argc, char **argv, opts_t *o) {
  memset(o, 0, sizeof *o);
  o->script = argc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (a[0] != '-' || strcmp(a, "-") == 0) { o->script = i; return 1; }
    if (strcmp(a, "--") == 0) { o->script = i + 1; return 1; }
    if (strcmp(a, "-i") == 0) o->interactive = 1;
    else if (strcmp(a, "-v") == 0) o->version = 1;
    else if (strcmp(a, "-W") == 0) o->warnings = 1;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) o->help = 1;
    else if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
      if (a[1] == 'e') o->has_e = 1;
      if (++i >= argc) return bad_usage("'%s' needs an argument", a);
    } else if ((a[1] == 'e' || a[1] == 'l') && a[2]) { /* -estat, -lmod as lua allows */
      if (a[1] == 'e') o->has_e = 1;
    } else if ((v = long_value(argv, argc, &i, "--threads"))) {
      if (!parse_long(v, 1, 4096, &o->threads))
        return bad_usage("--threads needs a thread count in 1..4096, got '%s'", v);
      o->has_threads = 1;
    } else if ((v = long_value(argv, argc, &i, "--seed"))) {
      if (!parse_long(v, 0, 0xffffffffL, &o->seed))
        return bad_usage("--seed needs an integer in [0, 2^32), got '%s'", v);
      o->has_seed = 1;
    } else {
      return bad_usage("unrecognized option '%s'", a);
    }
  }
  return 1;
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

static int dolibrary(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = cli_docall(L, 1, 1);
  if (status != LUA_OK) return cli_report(L, status);
  if (eq) lua_pushlstring(L, spec, (size_t)(eq - spec));
  else lua_pushstring(L, mod);
  lua_insert(L, -2);
  lua_setglobal(L, lua_tostring(L, -2));
  lua_pop(L, 1);
  return LUA_OK;
}

/* Second pass: -e, -l and -W in the order given. */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0 || strcmp(a, "--") == 0) break;
    if (strcmp(a, "-W") == 0) { lua_warning(L, "@on", 0); continue; }
    if (a[1] != 'e' && a[1] != 'l') {
      if (strncmp(a, "--threads", 9) == 0 || strncmp(a, "--seed", 6) == 0)
        if (!strchr(a, '=')) i++; /* skip the value */
      continue;
    }
    const char *v = a[2] ? a + 2 : argv[++i];
    int status;
    if (a[1] == 'e') status = dochunk(L, luaL_loadbuffer(L, v, strlen(v), "=(command line)"));
    else status = dolibrary(L, v);
    if (status != LUA_OK) return 0;
  }
  return 1;
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
    status = cli_docall(L, n, LUA_MULTRET);
  }
  return cli_report(L, status);
}

/* --threads / LURN_NUM_THREADS, --seed: before any Lua code runs. Returns 0, or the
 * exit status of a failure (2: a bad LURN_NUM_THREADS is bad usage). */
static int settings(lua_State *L, const opts_t *o) {
  lt_ctx *c = lb_state_ctx(L);
  long n = o->threads;
  const char *env = getenv("LURN_NUM_THREADS");
  if (!o->has_threads && env && *env && !parse_long(env, 1, 4096, &n)) {
    fprintf(stderr, "%s: LURN_NUM_THREADS must be a thread count in 1..4096, got '%s'\n",
            progname, env);
    return 2;
  }
  if (n > 0) lt_set_num_threads(c, (int)n);
  if (o->has_seed) {
    static const char seed[] =
      "local n = ...; local lurn = require 'lurn'; lurn.manual_seed(n)\n"
      "if lurn.random and lurn.random.seed then lurn.random.seed(n) end";
    int status = luaL_loadbuffer(L, seed, sizeof seed - 1, "=(--seed)");
    if (status == LUA_OK) {
      lua_pushinteger(L, o->seed);
      status = cli_docall(L, 1, 0);
    }
    if (cli_report(L, status) != LUA_OK) return 1;
  }
  return 0;
}

static void print_version(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "lurn");
  lua_getfield(L, -1, "_VERSION");
  printf("%s (%s%s)\n", lua_tostring(L, -1), LUA_RELEASE,
#ifdef LURN_HAVE_LIBEDIT
         ", line editing by libedit"
#else
         ""
#endif
  );
  fflush(stdout);
  lua_pop(L, 3);
}

#define EXIT(code) return lua_pushinteger(L, code), 1

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  opts_t o;
  if (!collect(argc, argv, &o)) EXIT(2);
  if (o.help) {
    usage(stdout);
    EXIT(0);
  }
  luaL_checkversion(L);
  luaL_openlibs(L);
  luaL_requiref(L, "lurn", luaopen_lurn, 0);
  lua_pop(L, 1);
  lb_state_ctx(L)->interrupt = &interrupted;
  if (o.version) print_version(L);
  int code = settings(L, &o);
  if (code) EXIT(code);
  createargtable(L, argv, argc, o.script);
  if (!runargs(L, argv, o.script)) EXIT(1);
  if (o.script < argc && handle_script(L, argv + o.script) != LUA_OK) {
    if (!o.interactive) EXIT(1);
    code = 1; /* -i: look around after the error, then exit with it */
  }
  if (o.interactive) {
    cli_repl(L, 0);
  } else if (o.script == argc && !o.has_e && !o.version) {
    if (isatty(STDIN_FILENO)) {
      print_version(L);
      cli_repl(L, 1);
    } else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) { /* `lurn < file.lua` */
      EXIT(1);
    }
  }
  EXIT(code);
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return 1;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int code = status == LUA_OK ? (int)lua_tointeger(L, -1) : (cli_report(L, status), 1);
  lua_close(L);
  return code;
}
