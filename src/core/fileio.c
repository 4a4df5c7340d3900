/* Whole-file reads and atomic writes (see fileio.h). The write follows safetensors.c:
 * O_EXCL temporary in the target's directory (so rename is atomic), fsync before the
 * rename, best-effort fsync of the directory after it. */
#define _POSIX_C_SOURCE 200809L /* open, fsync, strndup, getpid */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lt_vfail_file(lt_ctx *c, const char *op, const char *path, const char *fmt, va_list ap) {
  char msg[800];
  vsnprintf(msg, sizeof msg, fmt, ap);
  lt_fail(c, "%s '%.300s': %s", op, path, msg);
  return -1;
}

const char *lt_file_label(char *buf, size_t n, const char *op, const char *path) {
  snprintf(buf, n, "%s '%.300s'", op, path);
  return buf;
}

char *lt_quote_bytes(char *out, size_t cap, const void *p, size_t n) {
  const uint8_t *s = p;
  size_t o = 0;
  if (cap == 0) return out;
  for (size_t i = 0; i < n; i++) {
    char tmp[8];
    int k = s[i] >= 0x20 && s[i] < 0x7f ? snprintf(tmp, sizeof tmp, "%c", s[i])
                                         : snprintf(tmp, sizeof tmp, "\\x%02x", s[i]);
    if (o + (size_t)k + 4 > cap) { /* keep room for "..." and the NUL */
      if (o + 4 <= cap) memcpy(out + o, "...", 3), o += 3;
      break;
    }
    memcpy(out + o, tmp, (size_t)k);
    o += (size_t)k;
  }
  out[o] = 0;
  return out;
}

int lt_read_file(lt_ctx *c, const char *label, const char *path, uint8_t **out, size_t *outlen) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return lt_fail(c, "%s: cannot open: %s", label, strerror(errno)), -1;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return lt_fail(c, "%s: %s", label, strerror(err)), -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return lt_fail(c, "%s: %s", label, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file"), -1;
  }
  size_t len = (size_t)st.st_size, got = 0;
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) {
    close(fd);
    return lt_fail(c, "%s: not enough memory to read %zu bytes", label, len), -1;
  }
  while (got < len) { /* short reads and EINTR are retried */
    ssize_t r = read(fd, buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      close(fd), free(buf);
      return lt_fail(c, "%s: read failed: %s", label, strerror(err)), -1;
    }
    if (r == 0) break; /* the file shrank meanwhile: the parser sees what is there */
    got += (size_t)r;
  }
  close(fd);
  *out = buf, *outlen = got;
  return 0;
}

/* fsync the directory so the rename itself survives a crash. Best effort: the data is
 * already in place, and some file systems refuse fsync on a directory. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir) return;
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) fsync(fd), close(fd);
  free(dir);
}

int lt_write_file_atomic_with(lt_ctx *c, const char *label, const char *path, lt_emit_fn emit,
                              void *ud) {
  /* Not mkstemp: it creates files 0600, and a data file should get the umask's mode. */
  size_t tlen = strlen(path) + 40;
  char *tmp = malloc(tlen);
  if (!tmp) return lt_fail(c, "%s: not enough memory", label), -1;
  int fd = -1, rc = -1;
  for (int i = 0; i < 100 && fd < 0; i++) {
    snprintf(tmp, tlen, "%s.tmp%ld-%d", path, (long)getpid(), i);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    lt_fail(c, "%s: cannot create a temporary file in its directory: %s", label, strerror(errno));
    free(tmp);
    return -1;
  }
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    lt_fail(c, "%s: %s", label, strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
  }
  if (emit(c, f, ud) < 0) { /* c->err says why, without the label */
    char why[sizeof c->err];
    snprintf(why, sizeof why, "%s", c->err);
    lt_fail(c, "%s: %s", label, why);
  } else if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
    lt_fail(c, "%s: write failed: %s", label, strerror(errno));
  } else {
    rc = 0;
  }
  if (fclose(f) != 0 && rc == 0) {
    lt_fail(c, "%s: write failed: %s", label, strerror(errno));
    rc = -1;
  }
  if (rc == 0 && rename(tmp, path) != 0) {
    lt_fail(c, "%s: cannot replace the file: %s", label, strerror(errno));
    rc = -1;
  }
  if (rc < 0) unlink(tmp); /* the target, if any, is untouched */
  else sync_dir(path);
  free(tmp);
  return rc;
}

typedef struct {
  const lt_span *parts;
  int n;
} spans_ud;

static int emit_spans(lt_ctx *c, FILE *f, void *ud) {
  const spans_ud *s = ud;
  for (int i = 0; i < s->n; i++) {
    errno = 0;
    if (s->parts[i].n && fwrite(s->parts[i].p, 1, s->parts[i].n, f) != s->parts[i].n) {
      lt_fail(c, "write failed: %s", strerror(errno ? errno : EIO));
      return -1;
    }
  }
  return 0;
}

int lt_write_file_atomic(lt_ctx *c, const char *label, const char *path, const lt_span *parts,
                         int nparts) {
  spans_ud ud = {parts, nparts};
  return lt_write_file_atomic_with(c, label, path, emit_spans, &ud);
}
