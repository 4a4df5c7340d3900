/* Tensor buffers, with a per-context cache of freed ones by size class.
 *
 * A training step frees and re-allocates the same activation and gradient sizes every
 * step. glibc serves those (KiBs, 64-byte aligned) from its general bins through
 * memalign, which splits and coalesces chunks on every call, and big ones (weight
 * gradients of a wide layer: 64 MiB) with a fresh mmap whose every page faults and is
 * zeroed by the kernel; popping a buffer of the right class off a list is a few
 * instructions. The cache holds at most max(LT_CACHE_MIN_TOTAL, half the live tensor
 * bytes): a model's gradients fit, a dataset's worth of garbage does not.
 * lt_cache_trim (lurn.empty_cache()) gives every cached buffer back.
 * Sanitizer builds bypass the cache so that use-after-free stays detectable. */
#include "core.h"

#include <stdlib.h>

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

#define LT_CACHE_MIN_TOTAL ((size_t)32 << 20)
#define LT_CACHE_MAX_BUFFER ((size_t)1 << 40) /* class 128, the last one */

/* Classes: 256 bytes, then four per power of two (2^k + j 2^(k-2), j = 1..4), so a
 * buffer is at most 25% larger than asked. Returns the class; *size its byte size.
 * Sizes are below 2^40 (lt_empty refuses more): classes < LT_CACHE_CLASSES. */
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

void *lt_buffer_alloc(lt_ctx *c, size_t nbytes) {
  size_t size = (nbytes + 63) & ~(size_t)63; /* 64-byte alignment for vector loads */
  if (size == 0) size = 64;
  if (LT_CACHE_ON && nbytes <= LT_CACHE_MAX_BUFFER) {
    int cls = size_class(nbytes, &size);
    void *p = c->buffer_cache[cls];
    if (p) {
      c->buffer_cache[cls] = *(void **)p;
      c->cached_bytes -= size;
      return p;
    }
  }
  void *p = aligned_alloc(64, size);
  if (!p && c->cached_bytes) { /* memory is tight: give the cache back and retry */
    lt_cache_trim(c);
    p = aligned_alloc(64, size);
  }
  return p;
}

void lt_buffer_free(lt_ctx *c, void *p, size_t nbytes) {
  if (LT_CACHE_ON && nbytes <= LT_CACHE_MAX_BUFFER) {
    size_t size, cap = c->live_bytes / 2 > LT_CACHE_MIN_TOTAL ? c->live_bytes / 2 : LT_CACHE_MIN_TOTAL;
    int cls = size_class(nbytes, &size);
    if (c->cached_bytes + size <= cap) {
      *(void **)p = c->buffer_cache[cls];
      c->buffer_cache[cls] = p;
      c->cached_bytes += size;
      return;
    }
  }
  free(p);
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
      free(p);
    }
  }
  c->cached_bytes = 0;
}
