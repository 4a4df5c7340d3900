/* The lurn executable's parts: lurn.c (options, scripts, protected calls, Ctrl-C),
 * repl.c (the interactive loop) and complete.c (tab completion). */
#ifndef LURN_CLI_H
#define LURN_CLI_H

#include <lua.h>

/* lua_pcall with a traceback, and Ctrl-C turned into the Lua error "interrupted" */
int cli_docall(lua_State *L, int narg, int nres);
/* prints the error at the top of the stack (if status is an error) and pops it */
int cli_report(lua_State *L, int status);
/* the SIGINT flag lurn.c owns; the context's kernels and the REPL prompt read it */
int cli_take_interrupt(void);
void cli_prompt_signals(int on); /* at a prompt, Ctrl-C only sets the flag */

/* the REPL; returns when input ends (Ctrl-D). banner: say what is at hand */
void cli_repl(lua_State *L, int banner);

/* Completions of `word` (e.g. "model.fc", "x:ma", "pri") in L, as full words, sorted and
 * unique: a malloc'd array of malloc'd strings in *out; returns the count. */
int cli_complete(lua_State *L, const char *word, char ***out);

#endif
