/* A main() for a libFuzzer target without libFuzzer: runs LLVMFuzzerTestOneInput on every
 * file named on the command line and on every file in the directories named (in name
 * order), so the normal test suite replays a fuzz corpus with any compiler. A crash, a
 * sanitizer report or an abort() in the target fails the test.
 *   usage: replay_<target> corpus-dir-or-file... */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return perror(path), -1;
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0, k;
  do {
    if (n == cap && !(buf = realloc(buf, cap = 2 * cap + 4096))) abort();
    k = fread(buf + n, 1, cap - n, f);
    n += k;
  } while (k > 0);
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return perror(path), -1;
  }
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  int count = 0, failed = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      perror(argv[i]);
      failed = 1;
      continue;
    }
    if (!S_ISDIR(sb.st_mode)) {
      failed |= run_file(argv[i]) != 0;
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) {
      perror(argv[i]);
      failed = 1;
      continue;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      if (n == cap && !(names = realloc(names, (cap = 2 * cap + 64) * sizeof *names))) abort();
      size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
      if (!(names[n] = malloc(len))) abort();
      snprintf(names[n++], len, "%s/%s", argv[i], e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    for (size_t j = 0; j < n; j++) {
      if (stat(names[j], &sb) == 0 && S_ISREG(sb.st_mode)) {
        failed |= run_file(names[j]) != 0;
        count++;
      }
      free(names[j]);
    }
    free(names);
  }
  printf("replayed %d inputs\n", count);
  if (count == 0) fprintf(stderr, "no inputs found\n");
  return failed || count == 0;
}
