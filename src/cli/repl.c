/* The interactive loop, after lua.c's doREPL: a line is first tried as `return <line>;`
 * so expressions print their values; a statement that ends in <eof> is incomplete and
 * continues on a ">>" prompt. On a terminal, lines come from libedit (BSD-licensed, unlike
 * GNU readline) with history and tab completion; otherwise from stdin, without prompts,
 * so `lurn -i < file` reads statements line by line. Values are shown by lurn.repl.show. */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifdef LURN_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#define REPL_KEY "lurn.cli.repl" /* registry: the lurn.repl module */

enum { LINE_EOF, LINE_OK, LINE_INTR };

static int tty;

/* ---- line input ---- */
#ifdef LURN_HAVE_LIBEDIT
static lua_State *comp_L; /* the session tab completion looks into */
static char **comp_list;
static int comp_n, comp_i;
static char history_path[4096];

/* readline calls this with state 0 first, then until it returns NULL; it frees what we
 * return */
static char *comp_next(const char *text, int state) {
  if (state == 0) {
    for (int i = comp_i; i < comp_n; i++) free(comp_list[i]);
    free(comp_list);
    comp_n = cli_complete(comp_L, text, &comp_list);
    comp_i = 0;
  }
  if (comp_i < comp_n) return comp_list[comp_i++];
  free(comp_list);
  comp_list = NULL;
  comp_n = comp_i = 0;
  return NULL;
}

static char **comp_attempt(const char *text, int start, int end) {
  (void)start, (void)end;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  return rl_completion_matches(text, comp_next);
}

static void history_open(void) {
  const char *env = getenv("LURN_HISTORY"), *home = getenv("HOME");
  if (env) snprintf(history_path, sizeof history_path, "%s", env); /* "" turns it off */
  else if (home && *home) snprintf(history_path, sizeof history_path, "%s/.lurn_history", home);
  using_history();
  stifle_history(1000);
  if (*history_path) read_history(history_path); /* a missing file is a fresh start */
}

/* every entry is written at once, so a killed session keeps its history; a file that
 * cannot be written costs nothing but the history */
static void history_add(const char *line) {
  static char *last; /* a statement repeated at once is kept once */
  if (!tty || !*line || (last && strcmp(last, line) == 0)) return;
  free(last);
  last = strdup(line);
  add_history(line);
  if (*history_path) write_history(history_path);
}

static void edit_init(lua_State *L) {
  comp_L = L;
  rl_readline_name = "lurn"; /* for $if lurn in ~/.editrc */
  rl_catch_signals = 0;      /* Ctrl-C is ours: see cli_prompt_signals */
  rl_attempted_completion_function = comp_attempt;
  /* '.' and ':' are part of a completion word: "model.fc" completes as a whole */
  static char breaks[] = " \t\n\"'`@$><=;|&{}()[],+-*/%^~#!?";
  rl_basic_word_break_characters = breaks;
  rl_completer_word_break_characters = breaks;
  rl_completion_append_character = '\0';
  history_open();
}
#else
static void history_add(const char *line) { (void)line; }
static void edit_init(lua_State *L) { (void)L; }
#endif

/* one line without its newline (malloc'd) in *out */
static int read_line(const char *prompt, char **out) {
  *out = NULL;
  cli_take_interrupt(); /* a Ctrl-C from before this prompt is spent */
  cli_prompt_signals(1);
#ifdef LURN_HAVE_LIBEDIT
  if (tty) {
    *out = readline(prompt);
    cli_prompt_signals(0);
    if (cli_take_interrupt()) {
      free(*out);
      *out = NULL;
      fputs("^C\n", stdout);
      return LINE_INTR;
    }
    return *out ? LINE_OK : LINE_EOF;
  }
#endif
  if (tty) {
    fputs(prompt, stdout);
    fflush(stdout);
  }
  size_t cap = 0;
  ssize_t n = getline(out, &cap, stdin);
  cli_prompt_signals(0);
  if (cli_take_interrupt()) {
    clearerr(stdin);
    fputs("\n", stdout);
    free(*out);
    *out = NULL;
    return LINE_INTR;
  }
  if (n < 0) {
    free(*out);
    *out = NULL;
    return LINE_EOF;
  }
  if (n > 0 && (*out)[n - 1] == '\n') (*out)[--n] = '\0';
  return LINE_OK;
}

/* pushes the next line; LINE_EOF and LINE_INTR push nothing */
static int pushline(lua_State *L, int first) {
  char *line;
  int st = read_line(first ? "> " : ">> ", &line);
  if (st == LINE_OK) lua_pushstring(L, line);
  free(line);
  return st;
}

/* a syntax error at <eof>: the statement goes on in the next line */
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

static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2); /* the 'return' line */
    history_add(line);
  } else {
    lua_pop(L, 2);
  }
  return status;
}

/* Reads continuation lines until the chunk compiles or fails for another reason.
 * Returns -1 when Ctrl-C abandoned the statement. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *code = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, code, len, "=stdin");
    if (!incomplete(L, status)) {
      history_add(code);
      return status;
    }
    int st = pushline(L, 0);
    if (st == LINE_INTR) return -1;
    if (st == LINE_EOF) { /* report the incomplete statement, as lua does */
      status = luaL_loadbuffer(L, code, len, "=stdin");
      history_add(code);
      return status;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* the values on the stack, through lurn.repl.show_results */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, 3, "too many results to print");
  lua_getfield(L, LUA_REGISTRYINDEX, REPL_KEY);
  lua_getfield(L, -1, "show_results");
  lua_remove(L, -2);
  lua_insert(L, 1);
  if (cli_docall(L, n, 1) == LUA_OK) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    fwrite(s, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    lua_pop(L, 1);
  } else {
    fputs("lurn: error while printing the result:\n", stderr);
    cli_report(L, LUA_ERRRUN);
  }
}

void cli_repl(lua_State *L, int banner) {
  tty = isatty(STDIN_FILENO);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lurn.repl");
  lua_call(L, 1, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, REPL_KEY);
  lua_getfield(L, -1, "globals");
  lua_pushglobaltable(L);
  if (cli_report(L, cli_docall(L, 1, 1)) == LUA_OK) { /* else go on without them */
    if (banner)
      printf("Globals: %s. Tab completes, Ctrl-C interrupts, Ctrl-D exits.\n",
             lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (tty) edit_init(L);
  for (;;) {
    lua_settop(L, 0);
    int st = pushline(L, 1);
    if (st == LINE_EOF) break;
    if (st == LINE_INTR) continue;
    int status = addreturn(L);
    if (status != LUA_OK) status = multiline(L);
    if (status == -1) continue; /* Ctrl-C on a ">>" line drops the statement */
    lua_remove(L, 1);           /* the source line(s) */
    if (status == LUA_OK) status = cli_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) {
      print_results(L);
    } else {
      const char *msg = lua_tostring(L, -1);
      if (tty && msg && strncmp(msg, "interrupted", 11) == 0) fputc('\n', stderr); /* after ^C */
      cli_report(L, status);
    }
  }
  lua_settop(L, 0);
  if (tty) fputc('\n', stdout);
  fflush(stdout);
}
