/* Tensor buffers, with a per-context cache of freed ones by size class.
 *
 * A training step frees and re-allocates the same activation and gradient sizes every
 * step. glibc serves those (KiBs to MiBs, 64-byte aligned) through memalign, which splits
 * and coalesces chunks on every call, or with a fresh mmap whose every page faults;
 * popping a buffer of the right class off a list is a few instructions. Buffers up to
 * LT_CACHE_MAX_BUFFER are kept, LT_CACHE_MAX_TOTAL bytes in all, so the cache never holds
 * much memory a process could use otherwise (parameter gradients, the big recurring
 * buffers, are reused through lt_grad_buffer instead). lt_cache_trim (lurn.empty_cache())
 * gives every cached buffer back.
 *
 * Buffers of LT_MAP_MIN bytes and more are mapped from the kernel directly and unmapped
 * when freed (unless cached). glibc would serve them from its heap once its adaptive
 * mmap threshold has grown past them, and keep freed ones resident: a Fashion-MNIST run
 * held ~50 MiB more than it used.
 *
 * Sanitizer builds bypass all of this (plain aligned_alloc and free) so that
 * use-after-free and leaks stay detectable. */
#define _DEFAULT_SOURCE /* mmap with MAP_ANONYMOUS */
#include "core.h"

#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define LT_CACHE_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define LT_CACHE_ON 0
#endif
#endif
#ifndef LT_CACHE_ON
#define LT_CACHE_ON 1
#endif

#define LT_CACHE_MAX_BUFFER ((size_t)8 << 20) /* class 60: LT_CACHE_CLASSES is enough */
#define LT_CACHE_MAX_TOTAL ((size_t)32 << 20)
#define LT_MAP_MIN ((size_t)256 << 10)

/* Classes: 256 bytes, then four per power of two (2^k + j 2^(k-2), j = 1..4), so a
 * buffer is at most 25% larger than asked. Returns the class; *size its byte size. */
static int size_class(size_t n, size_t *size) {
  if (n <= 256) {
    *size = 256;
    return 0;
  }
  int k = 63 - __builtin_clzll((unsigned long long)(n - 1)); /* 2^k < n <= 2^(k+1) */
  size_t base = (size_t)1 << k, quarter = base / 4;
  size_t j = (n - base + quarter - 1) / quarter; /* 1..4 */
  *size = base + j * quarter;
  return (k - 8) * 4 + (int)j;
}

static void *system_alloc(size_t size) {
  if (LT_CACHE_ON && size >= LT_MAP_MIN) { /* page-aligned: 64-aligned too */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
  }
  return aligned_alloc(64, size);
}

static void system_free(void *p, size_t size) {
  if (LT_CACHE_ON && size >= LT_MAP_MIN) munmap(p, size);
  else free(p);
}

/* the byte size of class cls: the inverse of size_class */
static size_t class_size(int cls) {
  if (cls == 0) return 256;
  int k = 8 + (cls - 1) / 4, j = (cls - 1) % 4 + 1;
  return ((size_t)1 << k) + (size_t)j * ((size_t)1 << (k - 2));
}

/* The class a buffer of nbytes is cached under (-1: never cached) and in *size the bytes
 * it is allocated with: its class's size, or nbytes rounded up to 64 for vector loads. */
static int buffer_class(size_t nbytes, size_t *size) {
  if (LT_CACHE_ON && nbytes <= LT_CACHE_MAX_BUFFER) return size_class(nbytes, size);
  *size = nbytes ? (nbytes + 63) & ~(size_t)63 : 64;
  return -1;
}

void *lt_buffer_alloc(lt_ctx *c, size_t nbytes) {
  size_t size;
  int cls = buffer_class(nbytes, &size);
  void *p = cls >= 0 ? c->buffer_cache[cls] : NULL;
  if (p) {
    c->buffer_cache[cls] = *(void **)p;
    c->cached_bytes -= size;
    return p;
  }
  p = system_alloc(size);
  if (!p && c->cached_bytes) { /* memory is tight: give the cache back and retry */
    lt_cache_trim(c);
    p = system_alloc(size);
  }
  return p;
}

void lt_buffer_free(lt_ctx *c, void *p, size_t nbytes) {
  size_t size;
  int cls = buffer_class(nbytes, &size);
  if (cls >= 0 && c->cached_bytes + size <= LT_CACHE_MAX_TOTAL) {
    *(void **)p = c->buffer_cache[cls];
    c->buffer_cache[cls] = p;
    c->cached_bytes += size;
    return;
  }
  system_free(p, size);
}

/* Tensor and storage structs: a few hundred are made and dropped per training step, more
 * than glibc's per-size fast caches hold, so they are kept on per-context free lists. */
#define LT_SPARE_MAX 1024

void *lt_struct_alloc(lt_ctx *c, int kind, size_t size) {
  lt_spare_list *l = &c->spare[kind];
  if (LT_CACHE_ON && l->head) {
    void *p = l->head;
    l->head = *(void **)p;
    l->n--;
    return p;
  }
  return malloc(size);
}

void lt_struct_free(lt_ctx *c, int kind, void *p) {
  lt_spare_list *l = &c->spare[kind];
  if (LT_CACHE_ON && l->n < LT_SPARE_MAX) {
    *(void **)p = l->head;
    l->head = p;
    l->n++;
    return;
  }
  free(p);
}

void lt_cache_trim(lt_ctx *c) {
  for (int k = 0; k < 2; k++) {
    while (c->spare[k].head) {
      void *p = c->spare[k].head;
      c->spare[k].head = *(void **)p;
      free(p);
    }
    c->spare[k].n = 0;
  }
  for (int i = 0; i < LT_CACHE_CLASSES; i++) {
    while (c->buffer_cache[i]) {
      void *p = c->buffer_cache[i];
      c->buffer_cache[i] = *(void **)p;
      system_free(p, class_size(i));
    }
  }
  c->cached_bytes = 0;
}
