/* CSV reader (dialect and guarantees in csv.h).
 *
 * One pass over the file image: each record is split into fields (pointers into the
 * image, unescaped only when their text is needed), checked against the column count,
 * and its selected cells are parsed straight into a growing float buffer. */
#define _POSIX_C_SOURCE 200809L /* newlocale, uselocale, strdup */
#include "csv.h"

#include <float.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define MAX_NUMBER 128 /* a longer cell is not a number anyone wrote */

typedef struct {
  const uint8_t *s; /* the text, without its quotes */
  size_t n;
  int quoted;       /* "" inside stands for " */
  int64_t line;     /* where it starts */
} field;

typedef struct {
  lt_ctx *c;
  const char *name;
  const uint8_t *p, *end;
  char delim;
  int64_t line; /* the current line, 1-based */
  field *f;     /* the fields of the current record */
  size_t nf, capf;
  char **hnames; /* every header name (with a header) */
  size_t nh;
  float *data;   /* rows x nsel, growing */
  size_t rows, caprows;
} reader;

static int bad(reader *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lt_vfail_file(r->c, "read_csv", r->name, fmt, ap);
  va_end(ap);
  return -1;
}

/* ", column 3 ('price')" or ", column 3" for messages. */
static const char *colname(const reader *r, size_t j, char *buf, size_t n) {
  if (j < r->nh) {
    char q[80];
    lt_quote_bytes(q, sizeof q, r->hnames[j], strlen(r->hnames[j]));
    snprintf(buf, n, "column %zu ('%s')", j + 1, q);
  } else {
    snprintf(buf, n, "column %zu", j + 1);
  }
  return buf;
}

/* The field's text with "" unescaped, into out (cap bytes, NUL-terminated); returns its
 * length, or (size_t)-1 when it does not fit. */
static size_t text(const field *f, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < f->n; i++) {
    if (o + 1 >= cap) return (size_t)-1;
    out[o++] = (char)f->s[i];
    if (f->quoted && f->s[i] == '"') i++; /* the second quote of "" */
  }
  out[o] = 0;
  return o;
}

/* The next field at r->p; *last is set when it ends the record. */
static int read_field(reader *r, field *f, int *last) {
  f->line = r->line;
  if (r->p < r->end && *r->p == '"') {
    const uint8_t *q = r->p + 1;
    f->s = q, f->quoted = 1;
    for (;;) {
      q = memchr(q, '"', (size_t)(r->end - q));
      if (!q) return bad(r, "line %lld: unterminated quoted field (the file ends inside it)", (long long)f->line);
      if (q + 1 < r->end && q[1] == '"') q += 2;
      else break;
    }
    f->n = (size_t)(q - f->s);
    for (const uint8_t *x = f->s; x < q; x++) r->line += *x == '\n';
    r->p = q + 1;
    if (r->p < r->end && *r->p != (uint8_t)r->delim && *r->p != '\n' && *r->p != '\r') {
      char q2[40], cn[160];
      size_t k = (size_t)(r->end - r->p) < 20 ? (size_t)(r->end - r->p) : 20;
      return bad(r, "line %lld, %s: unexpected text after the closing quote: '%s'", (long long)r->line,
                 colname(r, r->nf, cn, sizeof cn), lt_quote_bytes(q2, sizeof q2, r->p, k));
    }
  } else {
    const uint8_t *q = r->p;
    while (q < r->end && *q != (uint8_t)r->delim && *q != '\n' && *q != '\r') q++;
    f->s = r->p, f->n = (size_t)(q - r->p), f->quoted = 0;
    r->p = q;
  }
  if (r->p >= r->end) return *last = 1, 0;
  if (*r->p == (uint8_t)r->delim) return r->p++, *last = 0, 0;
  if (*r->p++ == '\r' && r->p < r->end && *r->p == '\n') r->p++; /* CRLF, LF or a lone CR */
  r->line++;
  return *last = 1, 0;
}

/* The next non-empty record into r->f / r->nf; returns 0 at the end of the file. */
static int read_record(reader *r) {
  while (r->p < r->end && (*r->p == '\n' || *r->p == '\r')) { /* empty lines */
    if (*r->p++ == '\r' && r->p < r->end && *r->p == '\n') r->p++;
    r->line++;
  }
  if (r->p >= r->end) return 0;
  r->nf = 0;
  for (int last = 0; !last;) {
    if (r->nf == r->capf) {
      size_t cap = r->capf ? 2 * r->capf : 64;
      field *f = realloc(r->f, cap * sizeof *f);
      if (!f) return bad(r, "not enough memory");
      r->f = f, r->capf = cap;
    }
    if (read_field(r, &r->f[r->nf], &last) < 0) return -1;
    r->nf++;
  }
  return 1;
}

/* The cell [s, e) as float32 without strtof, when that is exactly right: a decimal
 * m * 10^k with m <= 2^53 and |k| <= 22 is one correctly rounded double operation
 * (Clinger's fast path), and rounding that double to float gives strtof's answer
 * unless it sits exactly on a midpoint between two floats, or is subnormal or out of
 * range as a float. Returns 0 when strtof must decide (also for inf, nan, hex, junk).
 * test_data_formats checks it against strtof bit for bit. */
static int fast_number(const char *s, const char *e, float *out) {
#if FLT_EVAL_METHOD == 0 /* x87 extended precision would round twice */
  static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char *p = s;
  int neg = 0, nd = 0, frac = 0, any = 0, ex = 0, eneg = 0;
  uint64_t m = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
  for (int part = 0; part < 2; part++) { /* digits, then the fraction's */
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
      any = 1, frac += part;
      if (!m && *p == '0') continue; /* leading zeros carry no digit */
      if (nd++ == 19) return 0;
      m = m * 10 + (uint64_t)(*p - '0');
    }
    if (part == 0 && p < e && *p == '.') p++;
    else break;
  }
  if (!any) return 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p >= e || *p < '0' || *p > '9') return 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++)
      if (ex < 10000) ex = ex * 10 + (*p - '0');
  }
  if (p != e) return 0;
  int k = (eneg ? -ex : ex) - frac;
  if (m == 0) return *out = neg ? -0.0f : 0.0f, 1;
  if (m > (uint64_t)1 << 53 || k < -22 || k > 22) return 0;
  double d = k < 0 ? (double)m / p10[-k] : (double)m * p10[k];
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  if (d < FLT_MIN || d > FLT_MAX || (b & 0x1fffffff) == 0x10000000) return 0;
  *out = neg ? -(float)d : (float)d;
  return 1;
#else
  (void)s, (void)e, (void)out;
  return 0;
#endif
}

/* A selected cell as float32. */
static int number(reader *r, size_t j, float *out) {
  const field *f = &r->f[j];
  char buf[MAX_NUMBER + 1], cn[160], q[100];
  size_t n = text(f, buf, sizeof buf);
  if (n == (size_t)-1) {
    snprintf(buf, sizeof buf, "%.*s", (int)(f->n < 40 ? f->n : 40), (const char *)f->s);
    return bad(r, "line %lld, %s: '%s...' (%zu characters) is not a number", (long long)f->line,
               colname(r, j, cn, sizeof cn), lt_quote_bytes(q, 60, buf, strlen(buf)), f->n);
  }
  char *s = buf, *e = buf + n;
  while (s < e && (*s == ' ' || *s == '\t')) s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
  *e = 0;
  if (s == e) return bad(r, "line %lld, %s: empty cell", (long long)f->line, colname(r, j, cn, sizeof cn));
  if (fast_number(s, e, out)) return 0;
  char *stop;
  float v = strtof(s, &stop);
  /* strtof also takes hex ("0x1p3"): not what a CSV number means */
  if (stop != e || strpbrk(s, "xX"))
    return bad(r, "line %lld, %s: '%s' is not a number", (long long)f->line,
               colname(r, j, cn, sizeof cn), lt_quote_bytes(q, sizeof q, s, (size_t)(e - s)));
  *out = v; /* out of range: +-inf or 0, as strtof rounds */
  return 0;
}

static void free_reader(reader *r) {
  for (size_t i = 0; i < r->nh; i++) free(r->hnames[i]);
  free(r->hnames);
  free(r->f);
  free(r->data);
}

void lt_csv_free(lt_csv *res) {
  if (!res) return;
  lt_release(res->t);
  for (size_t i = 0; res->names && i < res->ncols; i++) free(res->names[i]);
  free(res->names);
  free(res);
}

/* The header record's names, unescaped. */
static int take_header(reader *r) {
  if (!(r->hnames = calloc(r->nf, sizeof *r->hnames))) return bad(r, "not enough memory");
  for (size_t j = 0; j < r->nf; j++) {
    size_t cap = r->f[j].n + 1;
    if (!(r->hnames[j] = malloc(cap))) return bad(r, "not enough memory");
    r->nh = j + 1;
    text(&r->f[j], r->hnames[j], cap);
  }
  return 0;
}

/* The selected columns as 0-based indices into sel (nsel entries). */
static int resolve(reader *r, const lt_csv_opts *o, size_t ncols, size_t *sel, size_t nsel) {
  char q[100];
  for (size_t k = 0; k < nsel; k++) {
    if (!o->ncols) {
      sel[k] = k;
      continue;
    }
    const lt_csv_col *col = &o->cols[k];
    if (!col->name) {
      if (col->index < 0 || (uint64_t)col->index >= ncols)
        return bad(r, "column %lld is out of range (the file has %zu columns)", (long long)col->index + 1, ncols);
      sel[k] = (size_t)col->index;
      continue;
    }
    if (!r->nh) return bad(r, "column '%s' is selected by name, but there is no header (header = false)",
                           lt_quote_bytes(q, sizeof q, col->name, strlen(col->name)));
    size_t found = ncols;
    for (size_t j = 0; j < ncols; j++) {
      if (strcmp(r->hnames[j], col->name)) continue;
      if (found < ncols)
        return bad(r, "column name '%s' is ambiguous: columns %zu and %zu have it (select by index)",
                   lt_quote_bytes(q, sizeof q, col->name, strlen(col->name)), found + 1, j + 1);
      found = j;
    }
    if (found == ncols) {
      char list[300];
      size_t o2 = 0;
      for (size_t j = 0; j < ncols && o2 + 4 < sizeof list; j++) {
        char qq[60];
        int w = snprintf(list + o2, sizeof list - o2, "%s'%s'", j ? ", " : "",
                         lt_quote_bytes(qq, sizeof qq, r->hnames[j], strlen(r->hnames[j])));
        o2 = w < 0 || (size_t)w >= sizeof list - o2 ? sizeof list : o2 + (size_t)w;
      }
      if (o2 >= sizeof list) memcpy(list + sizeof list - 4, "...", 4);
      return bad(r, "no column named '%s' (the columns are %s)",
                 lt_quote_bytes(q, sizeof q, col->name, strlen(col->name)), list);
    }
    sel[k] = found;
  }
  return 0;
}

static lt_csv *parse(reader *r, const lt_csv_opts *o) {
  lt_csv *res = NULL;
  size_t *sel = NULL;
  if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r' || o->delimiter == 0) {
    bad(r, "the delimiter cannot be a quote, a line end or NUL");
    return NULL;
  }
  if (r->end - r->p >= 3 && !memcmp(r->p, "\xef\xbb\xbf", 3)) r->p += 3; /* UTF-8 BOM */
  int got = read_record(r);
  if (got < 0) goto fail;
  if (!got) {
    bad(r, "the file is empty (no %s)", o->header ? "header" : "records");
    goto fail;
  }
  size_t ncols = r->nf, nsel = o->ncols ? o->ncols : ncols;
  int64_t first_line = r->f[0].line;
  if (o->header && take_header(r) < 0) goto fail;
  if (!(sel = malloc(nsel * sizeof *sel))) {
    bad(r, "not enough memory");
    goto fail;
  }
  if (resolve(r, o, ncols, sel, nsel) < 0) goto fail;
  for (int pending = !o->header;; pending = 0) { /* without a header, record 1 is data */
    if (!pending && (got = read_record(r)) <= 0) {
      if (got < 0) goto fail;
      break;
    }
    if (r->nf != ncols) {
      bad(r, "line %lld has %zu fields, expected %zu (as in line %lld)", (long long)r->f[0].line,
          r->nf, ncols, (long long)first_line);
      goto fail;
    }
    if (r->rows == r->caprows) {
      size_t cap = r->caprows ? 2 * r->caprows : 1024;
      float *d = cap > SIZE_MAX / sizeof(float) / nsel ? NULL : realloc(r->data, cap * nsel * sizeof(float));
      if (!d) {
        bad(r, "not enough memory for %zu rows of %zu columns", cap, nsel);
        goto fail;
      }
      r->data = d, r->caprows = cap;
    }
    float *row = r->data + r->rows * nsel;
    for (size_t k = 0; k < nsel; k++)
      if (number(r, sel[k], &row[k]) < 0) goto fail;
    r->rows++;
  }
  if (!(res = calloc(1, sizeof *res))) {
    bad(r, "not enough memory");
    goto fail;
  }
  res->ncols = nsel;
  if (o->header) {
    if (!(res->names = calloc(nsel, sizeof *res->names))) {
      bad(r, "not enough memory");
      goto fail;
    }
    for (size_t k = 0; k < nsel; k++)
      if (!(res->names[k] = strdup(r->hnames[sel[k]]))) {
        bad(r, "not enough memory");
        goto fail;
      }
  }
  int64_t shape[2] = {(int64_t)r->rows, (int64_t)nsel};
  if (!(res->t = lt_empty(r->c, LT_F32, 2, shape))) {
    char why[sizeof r->c->err];
    snprintf(why, sizeof why, "%s", r->c->err);
    bad(r, "%s", why);
    goto fail;
  }
  if (r->rows) memcpy(lt_f32(res->t), r->data, r->rows * nsel * sizeof(float));
  free(sel);
  return res;
fail:
  free(sel);
  lt_csv_free(res);
  return NULL;
}

lt_csv *lt_csv_parse(lt_ctx *c, const char *name, const uint8_t *buf, size_t len,
                     const lt_csv_opts *o) {
  reader r = {.c = c, .name = name, .p = buf, .end = buf + len, .delim = o->delimiter, .line = 1};
  /* numbers use '.' whatever locale the host set (uselocale is per thread) */
  locale_t cl = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  locale_t old = cl ? uselocale(cl) : (locale_t)0;
  lt_csv *res = parse(&r, o);
  if (cl) uselocale(old), freelocale(cl);
  free_reader(&r);
  return res;
}

lt_csv *lt_csv_load(lt_ctx *c, const char *path, const lt_csv_opts *o) {
  char label[400];
  uint8_t *buf;
  size_t len;
  if (lt_read_file(c, lt_file_label(label, sizeof label, "read_csv", path), path, &buf, &len) < 0)
    return NULL;
  lt_csv *res = lt_csv_parse(c, path, buf, len, o);
  free(buf);
  return res;
}
