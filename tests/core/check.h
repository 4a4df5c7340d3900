/* The C tests' one assertion: CHECK(cond, fmt, ...) reports the file, line, condition
 * and a message, counts the failure and goes on, so one run shows every broken check.
 * main returns non-zero when `failures` is. */
#ifndef LURN_TEST_CHECK_H
#define LURN_TEST_CHECK_H
#include <stdio.h>

static int failures = 0;
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      failures++;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
    }                                                                          \
  } while (0)

#endif
