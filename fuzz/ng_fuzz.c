/*
 * ng_fuzz.c - libFuzzer target for the C ABI (native/include/nativegrad.h).
 *
 * An input is a small program: up to 8 calls, each a byte choosing the entry point followed by bytes for its
 * arguments (dtype, op code, sizes, strides, pointers, scalars, index values) and the data. Sizes are mostly
 * small but are often negative, enormous or overflowing; pointers are sometimes NULL; outputs sometimes alias
 * inputs exactly (in place, where the header allows it) or partly (never allowed).
 *
 * The harness models the header's contract independently of the library: for every call it knows whether the
 * arguments are valid, and if so it allocates each buffer at exactly the size the call may touch (so
 * AddressSanitizer flags any access past it). Then it checks
 *  - invalid arguments give NG_ERR_INVALID_ARGUMENT with a message, and the library touched nothing out of
 *    bounds (small real buffers are passed);
 *  - valid arguments give NG_OK, or NG_ERR_INDEX exactly when an index is out of range;
 *  - results that must be exact (copies, selections, comparisons, max/min, +, -, *, /, sqrt) match a plain
 *    reference or the scalar kernel path bit for bit (every NaN equal to every NaN), and in-place calls match
 *    out-of-place ones.
 * Any mismatch aborts, which libFuzzer reports as a crash. fuzz/replay.c runs saved inputs without libFuzzer.
 */
#include "nativegrad.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP_ELEMS (1 << 19) /* largest buffer (elements) a valid call gets; larger valid calls are skipped */
#define SMALL_ELEMS 16      /* buffers passed to invalid calls whose real size is unknown or too large */
#define MAX_CALLS 8

#define FAIL(...)                                                                                     \
    do {                                                                                              \
        fprintf(stderr, "ng_fuzz: " __VA_ARGS__);                                                     \
        fprintf(stderr, "\n");                                                                        \
        abort();                                                                                      \
    } while (0)

/* ------------------------------------------------------------------------------------ input reader */
typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t u8(reader *r) {
    if (r->n == 0) return 0;
    r->n--;
    return *r->p++;
}
static uint64_t u64(reader *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | u8(r);
    return v;
}
static int chance(reader *r, int in256) { return u8(r) < in256; }

static const int64_t HUGE_SIZES[] = {INT64_MAX,         INT64_MAX - 1,     INT64_MAX / 2, INT64_MAX / 3,
                                     INT64_MAX / 8 + 1, (int64_t)1 << 62,  (int64_t)1 << 61, (int64_t)1 << 40,
                                     (int64_t)1 << 32,  ((int64_t)1 << 31) + 7, 3037000500, 4294967297};

/* A size or stride: mostly small, sometimes medium, negative, huge or raw. */
static int64_t size_val(reader *r, int64_t small) {
    const uint8_t b = u8(r);
    if (b < 170) return (int64_t)(u8(r) % (uint64_t)(small + 1));
    if (b < 200) return 1 + (int64_t)(u8(r) % 64) * (1 + (int64_t)(u8(r) % 16));
    if (b < 206) return 1 + (int64_t)((u8(r) << 8 | u8(r)) % 70000);
    if (b < 222) return b & 1 ? -1 - (int64_t)u8(r) : INT64_MIN + (int64_t)u8(r);
    if (b < 246) return HUGE_SIZES[u8(r) % (sizeof HUGE_SIZES / sizeof HUGE_SIZES[0])];
    return (int64_t)u64(r);
}

static const double SPECIALS[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.5, 1e-310, -1e-310, 1e-45, 3.4e38, -3.4e38,
                                  1e308, -1e308, 88.7, -88.7, 710.0, 20.0, 1e-8, 3.0};
static double scalar_val(reader *r) {
    const uint8_t b = u8(r);
    if (b < 140) return SPECIALS[u8(r) % (sizeof SPECIALS / sizeof SPECIALS[0])];
    if (b < 160) return NAN;
    if (b < 175) return INFINITY;
    if (b < 190) return -INFINITY;
    if (b < 230) return ((double)(int8_t)u8(r)) / 16.0;
    uint64_t bits = u64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static int dtype_val(reader *r) {
    const uint8_t b = u8(r);
    if (b < 120) return NG_F32;
    if (b < 244) return NG_F64;
    return b & 1 ? (int)(b - 240) : -(int)(b - 240); /* 2..15 or -4..-15 */
}
static int dtype_ok(int dt) { return dt == NG_F32 || dt == NG_F64; }
static size_t esize(int dt) { return dt == NG_F32 ? 4 : 8; }

static int op_val(reader *r, int count) {
    const uint8_t b = u8(r);
    if (b < 236) return (int)(u8(r) % (uint32_t)count);
    return b & 1 ? count + (b & 7) : -1 - (b & 7);
}

/* ------------------------------------------------------------------------------------ arithmetic */
/* a*b for a, b >= 0; -1 on overflow or when either is negative (-1 propagates) */
static int64_t smul(int64_t a, int64_t b) {
    if (a < 0 || b < 0) return -1;
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return -1;
    return r;
}
static int64_t sadd(int64_t a, int64_t b) {
    if (a < 0 || b < 0) return -1;
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return -1;
    return r;
}
/* can an operand of ext elements of es bytes exist? (ext >= 0) */
static int bytes_ok(int64_t ext, size_t es) { return ext >= 0 && ext <= (int64_t)(PTRDIFF_MAX / (ptrdiff_t)es); }

/* ------------------------------------------------------------------------------------ buffers */
typedef struct buf {
    void *p;
    int64_t elems;
    size_t es;
} buf;

/* Exactly `elems` elements (so ASan sees any access past them) filled from the input; a small buffer when the
 * size is unknown (< 0) or above the cap. */
static buf buf_new(reader *r, int64_t elems, size_t es) {
    buf b;
    b.es = es;
    b.elems = elems < 0 || elems > CAP_ELEMS ? SMALL_ELEMS : elems;
    b.p = malloc((size_t)b.elems * es + (b.elems == 0)); /* malloc(1) for 0: ASan still flags any read */
    if (!b.p) FAIL("out of memory");
    uint8_t *bytes = (uint8_t *)b.p;
    const size_t nbytes = (size_t)b.elems * es;
    /* raw bytes from the input (all bit patterns: NaNs with payloads, denormals), values from a small range,
     * and specials sprinkled in */
    const uint8_t mode = u8(r);
    if (mode < 64 && r->n > 0) {
        for (size_t i = 0; i < nbytes; i++) bytes[i] = r->p[i % r->n] ^ (uint8_t)(i * 131u);
    } else {
        uint32_t seed = (uint32_t)mode * 2654435761u + (uint32_t)u8(r);
        for (int64_t i = 0; i < b.elems; i++) {
            seed = seed * 1664525u + 1013904223u;
            double v = (double)(int32_t)(seed >> 8) / (double)(1 << 22);
            if ((seed & 0x1f) == 0) v = SPECIALS[(seed >> 5) % (sizeof SPECIALS / sizeof SPECIALS[0])];
            if ((seed & 0x7f) == 1) v = NAN;
            if ((seed & 0x7f) == 2) v = -INFINITY;
            if (es == 4) ((float *)b.p)[i] = (float)v;
            else ((double *)b.p)[i] = v;
        }
    }
    return b;
}
static void buf_free(buf *b) {
    free(b->p);
    b->p = NULL;
}
/* a pointer to pass: NULL when the input says so */
static void *ptr_or_null(reader *r, buf *b, int *nulled) {
    if (chance(r, 6)) {
        *nulled = 1;
        return NULL;
    }
    *nulled = 0;
    return b->p;
}

/* bitwise equality with every NaN equal to every NaN */
static int same_values(const void *x, const void *y, int64_t n, size_t es) {
    for (int64_t i = 0; i < n; i++) {
        if (es == 4) {
            float a = ((const float *)x)[i], b = ((const float *)y)[i];
            if (isnan(a) && isnan(b)) continue;
            if (memcmp(&a, &b, 4) != 0) return 0;
        } else {
            double a = ((const double *)x)[i], b = ((const double *)y)[i];
            if (isnan(a) && isnan(b)) continue;
            if (memcmp(&a, &b, 8) != 0) return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------------------ status checks */
static const char *g_call = "";

static void expect_status(ng_status st, int bad, int index_bad) {
    const ng_status want = bad ? NG_ERR_INVALID_ARGUMENT : index_bad ? NG_ERR_INDEX : NG_OK;
    if (st != want) FAIL("%s returned %d, the contract says %d (last error: '%s')", g_call, st, want, ng_last_error());
    if (st != NG_OK) {
        const char *m = ng_last_error();
        if (!m || m[0] == '\0' || strlen(m) >= 512) FAIL("%s failed with an empty or unterminated message", g_call);
    }
}

static int g_path_count;
static const char *g_paths[3];

/* Re-run a call on the scalar path (the reference) when another path is active. */
static int use_scalar(void) { return ng_set_kernel_path("scalar") == NG_OK; }
static void restore_path(const char *p) {
    if (ng_set_kernel_path(p) != NG_OK) FAIL("cannot restore kernel path %s", p);
}

/* ------------------------------------------------------------------------------------ entry points */
static int unary_exact(int op) {
    switch (op) {
    case NG_UNARY_NEG: case NG_UNARY_ABS: case NG_UNARY_RELU: case NG_UNARY_SIGN: case NG_UNARY_SQRT:
    case NG_UNARY_SQUARE: case NG_UNARY_CLAMP: case NG_UNARY_GT_SCALAR: case NG_UNARY_LT_SCALAR:
    case NG_UNARY_GE_SCALAR: case NG_UNARY_LE_SCALAR:
        return 1;
    default:
        return 0;
    }
}

static void fuzz_unary(reader *r) {
    g_call = "ng_unary";
    const int dt = dtype_val(r), op = op_val(r, NG_UNARY_COUNT);
    const int64_t n = size_val(r, 40);
    const double alpha = scalar_val(r), beta = scalar_val(r);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    const uint8_t alias = u8(r) % 8; /* 0: in place, 1: partial overlap, else separate */
    int bad = !dtype_ok(dt) || op < 0 || op >= NG_UNARY_COUNT || n < 0 || !bytes_ok(n, es);
    if (!bad && n > CAP_ELEMS) return;
    if (alias == 1 && !bad && n >= 2) {
        const int64_t k = 1 + (int64_t)(u8(r) % (uint64_t)(n - 1));
        buf b = buf_new(r, n + k, es);
        expect_status(ng_unary(dt, op, n, b.p, (char *)b.p + k * es, alpha, beta), 1, 0);
        buf_free(&b);
        return;
    }
    buf x = buf_new(r, n, es), y = buf_new(r, n, es);
    int nx, ny;
    void *px = ptr_or_null(r, &x, &nx), *py = ptr_or_null(r, &y, &ny);
    if (n > 0 && (nx || ny)) bad = 1;
    expect_status(ng_unary(dt, op, n, px, py, alpha, beta), bad, 0);
    if (!bad && n > 0) {
        const char *path = ng_kernel_path();
        if (unary_exact(op) && strcmp(path, "scalar") != 0 && use_scalar()) {
            buf ref = buf_new(r, n, es);
            expect_status(ng_unary(dt, op, n, x.p, ref.p, alpha, beta), 0, 0);
            if (!same_values(y.p, ref.p, n, es)) FAIL("ng_unary op %d: path %s differs from scalar", op, path);
            buf_free(&ref);
            restore_path(path);
        }
        if (alias == 0) { /* in place must equal out of place */
            expect_status(ng_unary(dt, op, n, x.p, x.p, alpha, beta), 0, 0);
            if (!same_values(x.p, y.p, n, es)) FAIL("ng_unary op %d: in place differs from out of place", op);
        }
    }
    buf_free(&x);
    buf_free(&y);
}

/* shape and strides of up to 9 dims (ndim may be invalid) */
typedef struct layout {
    int ndim;
    int64_t shape[10];
    int64_t total; /* -1 when invalid */
} layout;

static void make_shape(reader *r, layout *l, int *bad) {
    const uint8_t b = u8(r);
    l->ndim = b < 240 ? (int)(b % 6) : b < 248 ? (int)(b % 10) : -1 - (int)(b & 3);
    if (l->ndim < 0 || l->ndim > NG_MAX_DIMS) *bad = 1;
    const int nd = l->ndim < 0 ? 0 : l->ndim > 9 ? 9 : l->ndim;
    int64_t t = 1;
    for (int d = 0; d < nd; d++) {
        l->shape[d] = size_val(r, 5);
        if (l->shape[d] < 0) *bad = 1;
        t = smul(t, l->shape[d]);
    }
    if (t < 0) *bad = 1;
    l->total = t;
}

/* strides: contiguous, broadcast, a permutation, random small, negative or huge; returns the extent
 * (largest offset + 1; 0 for an empty shape; -1 when invalid) */
static int64_t make_strides(reader *r, const layout *l, int64_t *st, int writable, int *bad) {
    const int nd = l->ndim < 0 ? 0 : l->ndim > 9 ? 9 : l->ndim;
    const uint8_t kind = u8(r) % 8;
    int64_t c = 1;
    for (int d = nd - 1; d >= 0; d--) {
        st[d] = c;
        c = smul(c, l->shape[d] > 1 ? l->shape[d] : 1);
        if (c < 0) c = 1;
    }
    if (kind == 1 && nd >= 2) { /* a transposed view: contiguous strides of the shape with its last two dims swapped */
        int64_t sh[10];
        memcpy(sh, l->shape, sizeof sh);
        sh[nd - 1] = l->shape[nd - 2];
        sh[nd - 2] = l->shape[nd - 1];
        int64_t c2 = 1;
        for (int d = nd - 1; d >= 0; d--) {
            st[d] = c2;
            c2 = smul(c2, sh[d] > 1 ? sh[d] : 1);
            if (c2 < 0) c2 = 1;
        }
        const int64_t t = st[nd - 1];
        st[nd - 1] = st[nd - 2];
        st[nd - 2] = t;
    } else if (kind >= 2 && kind <= 4) {
        for (int d = 0; d < nd; d++) {
            const uint8_t b = u8(r);
            if (b < 120) continue;                        /* keep contiguous */
            if (b < 180 && !writable) st[d] = 0;          /* broadcast */
            else if (b < 230) st[d] = (int64_t)(u8(r) % 12); /* small, maybe overlapping */
            else st[d] = size_val(r, 3);                  /* anything */
        }
    }
    if (l->total < 0) return -1;
    int64_t maxoff = 0;
    for (int d = 0; d < nd; d++) {
        if (st[d] < 0) {
            *bad = 1;
            maxoff = -1;
        }
    }
    if (maxoff < 0) return -1;
    if (l->total == 0) return 0;
    for (int d = 0; d < nd; d++) maxoff = sadd(maxoff, smul(l->shape[d] - 1, st[d]));
    const int64_t extent = sadd(maxoff, 1);
    if (extent < 0) *bad = 1;
    return extent;
}

static int contiguous(const layout *l, const int64_t *st) {
    int64_t e = 1;
    for (int d = l->ndim - 1; d >= 0; d--) {
        if (l->shape[d] == 1) continue;
        if (st[d] != e) return 0;
        e *= l->shape[d];
    }
    return 1;
}

/* visit every offset of a strided operand (total <= cap), in row-major order */
typedef void (*visit_fn)(void *ctx, int64_t flat, int64_t off);
static void walk(const layout *l, const int64_t *st, visit_fn f, void *ctx) {
    int64_t idx[NG_MAX_DIMS] = {0};
    for (int64_t flat = 0; flat < l->total; flat++) {
        int64_t off = 0;
        for (int d = 0; d < l->ndim; d++) off += idx[d] * st[d];
        f(ctx, flat, off);
        for (int d = l->ndim - 1; d >= 0; d--) {
            if (++idx[d] < l->shape[d]) break;
            idx[d] = 0;
        }
    }
}

typedef struct gather_ctx {
    const char *src;
    char *dst;
    size_t es;
    uint8_t *seen;
    int dup;
} gather_ctx;
static void gather_visit(void *v, int64_t flat, int64_t off) {
    gather_ctx *c = (gather_ctx *)v;
    memcpy(c->dst + (size_t)flat * c->es, c->src + (size_t)off * c->es, c->es);
}
static void scatter_visit(void *v, int64_t flat, int64_t off) {
    gather_ctx *c = (gather_ctx *)v;
    memcpy(c->dst + (size_t)off * c->es, c->src + (size_t)flat * c->es, c->es);
    if (c->seen) {
        if (c->seen[off]) c->dup = 1;
        c->seen[off] = 1;
    }
}

/* bitwise the same on every path, except the ones with libm or vector transcendental math (within a few ulp: ctest) */
static int binary_exact(int op) {
    return op != NG_BINARY_POW && op != NG_BINARY_BCE_WITH_LOGITS && op != NG_BINARY_SIGMOID_SUB;
}

static void fuzz_binary(reader *r) {
    g_call = "ng_binary";
    const int dt = dtype_val(r), op = op_val(r, NG_BINARY_COUNT);
    int bad = !dtype_ok(dt) || op < 0 || op >= NG_BINARY_COUNT;
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    layout l;
    make_shape(r, &l, &bad);
    int64_t sa[10], sb[10];
    const int64_t ea = make_strides(r, &l, sa, 0, &bad), eb = make_strides(r, &l, sb, 0, &bad);
    if (l.total > 0 && (!bytes_ok(ea, es) || !bytes_ok(eb, es) || !bytes_ok(l.total, es))) bad = 1;
    if (!bad && (ea > CAP_ELEMS || eb > CAP_ELEMS || l.total > CAP_ELEMS)) return;
    const uint8_t alias = u8(r) % 8; /* 0: out = a, 1: out = b, 2: out overlaps a partly */
    buf a = buf_new(r, ea, es), b = buf_new(r, eb, es), out = buf_new(r, l.total, es);
    int na, nb, no, nshape = 0, nsa = 0, nsb = 0;
    void *pa = ptr_or_null(r, &a, &na), *pb = ptr_or_null(r, &b, &nb), *po = ptr_or_null(r, &out, &no);
    if (l.ndim > 0 && chance(r, 4)) nshape = 1;
    if (l.ndim > 0 && chance(r, 4)) nsa = 1;
    if (l.ndim > 0 && chance(r, 4)) nsb = 1;
    if (nshape || nsa || nsb) bad = 1;
    if (l.total > 0 && (na || nb || no)) bad = 1;
    expect_status(ng_binary(dt, op, l.ndim, nshape ? NULL : l.shape, pa, nsa ? NULL : sa, pb, nsb ? NULL : sb, po),
                  bad, 0);
    if (!bad && l.total > 0) {
        const char *path = ng_kernel_path();
        if (binary_exact(op) && strcmp(path, "scalar") != 0 && use_scalar()) {
            buf ref = buf_new(r, l.total, es);
            expect_status(ng_binary(dt, op, l.ndim, l.shape, a.p, sa, b.p, sb, ref.p), 0, 0);
            if (!same_values(out.p, ref.p, l.total, es)) FAIL("ng_binary op %d: path %s differs from scalar", op, path);
            buf_free(&ref);
            restore_path(path);
        }
        if (alias <= 1) { /* in place into a contiguous operand equals out of place; otherwise it is refused */
            buf *io = alias == 0 ? &a : &b;
            const int64_t *ios = alias == 0 ? sa : sb;
            const int ok = contiguous(&l, ios) && io->elems == l.total;
            ng_status st = alias == 0 ? ng_binary(dt, op, l.ndim, l.shape, a.p, sa, b.p, sb, a.p)
                                      : ng_binary(dt, op, l.ndim, l.shape, a.p, sa, b.p, sb, b.p);
            if (ok && a.p != b.p) {
                expect_status(st, 0, 0);
                if (!same_values(io->p, out.p, l.total, es)) FAIL("ng_binary op %d: in place differs", op);
            } else if (!ok) {
                expect_status(st, 1, 0);
            }
        } else if (alias == 2 && ea > 1) { /* out starts inside a */
            const int64_t k = 1 + (int64_t)(u8(r) % (uint64_t)(ea - 1));
            buf big = buf_new(r, k + (l.total > ea - k ? l.total : ea - k) + 1, es);
            expect_status(ng_binary(dt, op, l.ndim, l.shape, big.p, sa, b.p, sb, (char *)big.p + k * es), 1, 0);
            buf_free(&big);
        }
    }
    buf_free(&a);
    buf_free(&b);
    buf_free(&out);
}

/* the library's rule for a destination: sorted by stride, each stride covers the block of the smaller ones */
static int nested_layout(const layout *l, const int64_t *st) {
    int64_t s[NG_MAX_DIMS], n[NG_MAX_DIMS];
    int k = 0;
    for (int d = 0; d < l->ndim; d++)
        if (l->shape[d] > 1) { s[k] = st[d]; n[k] = l->shape[d]; k++; }
    for (int i = 0; i < k; i++) /* selection sort, ndim <= 8 */
        for (int j = i + 1; j < k; j++)
            if (s[j] < s[i]) { int64_t t = s[i]; s[i] = s[j]; s[j] = t; t = n[i]; n[i] = n[j]; n[j] = t; }
    if (k > 0 && s[0] == 0) return 0;
    for (int i = 1; i < k; i++)
        if (s[i] / n[i - 1] < s[i - 1]) return 0;
    return 1;
}

static void fuzz_copy(reader *r) {
    g_call = "ng_copy_strided";
    const int dt = dtype_val(r);
    int bad = !dtype_ok(dt);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    layout l;
    make_shape(r, &l, &bad);
    int64_t ss[10], ds[10];
    const int64_t es_ = make_strides(r, &l, ss, 0, &bad), ed = make_strides(r, &l, ds, 1, &bad);
    if (l.total > 0 && (!bytes_ok(es_, es) || !bytes_ok(ed, es))) bad = 1;
    if (!bad && (es_ > CAP_ELEMS || ed > CAP_ELEMS)) return;
    buf src = buf_new(r, es_, es), dst = buf_new(r, ed, es);
    int n1, n2;
    void *ps = ptr_or_null(r, &src, &n1), *pd = ptr_or_null(r, &dst, &n2);
    if (l.total > 0 && (n1 || n2)) bad = 1;
    /* a destination reaching one element twice must be refused; the library may also refuse the rare
     * non-overlapping layouts that are not nested (no view of a dense array has them) */
    int overlap = 0, maybe = 0;
    uint8_t *seen = NULL;
    if (!bad && l.total > CAP_ELEMS) {
        overlap = 1; /* more elements than the destination spans (ed <= cap): some are written twice */
    } else if (!bad && l.total > 0) {
        seen = (uint8_t *)calloc((size_t)ed, 1);
        uint8_t *scratch = (uint8_t *)malloc((size_t)ed * es);
        gather_ctx c = {(const char *)src.p, (char *)scratch, es, seen, 0};
        char *tmp = (char *)malloc((size_t)l.total * es);
        gather_ctx g = {(const char *)src.p, tmp, es, NULL, 0};
        walk(&l, ss, gather_visit, &g); /* tmp = src in logical order */
        c.src = tmp;
        walk(&l, ds, scatter_visit, &c);
        overlap = c.dup;
        maybe = !overlap && !nested_layout(&l, ds);
        free(tmp);
        free(scratch);
    }
    ng_status st = ng_copy_strided(dt, l.ndim, l.shape, ps, ss, pd, ds);
    if (maybe && st == NG_ERR_INVALID_ARGUMENT) { /* conservative refusal: allowed */
    } else {
        expect_status(st, bad || overlap, 0);
        if (st == NG_OK && l.total > 0) { /* reference: logical order of src equals logical order of dst */
            char *a = (char *)malloc((size_t)l.total * es), *b = (char *)malloc((size_t)l.total * es);
            gather_ctx g1 = {(const char *)src.p, a, es, NULL, 0}, g2 = {(const char *)dst.p, b, es, NULL, 0};
            walk(&l, ss, gather_visit, &g1);
            walk(&l, ds, gather_visit, &g2);
            if (memcmp(a, b, (size_t)l.total * es) != 0) FAIL("ng_copy_strided: wrong result");
            free(a);
            free(b);
        }
    }
    free(seen);
    buf_free(&src);
    buf_free(&dst);
}

static void fuzz_fill(reader *r) {
    g_call = "ng_fill";
    const int dt = dtype_val(r);
    const int64_t n = size_val(r, 40);
    const double v = scalar_val(r);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    int bad = !dtype_ok(dt) || n < 0 || !bytes_ok(n, es);
    if (!bad && n > CAP_ELEMS) return;
    buf d = buf_new(r, n, es);
    int nd;
    void *p = ptr_or_null(r, &d, &nd);
    if (n > 0 && nd) bad = 1;
    expect_status(ng_fill(dt, n, p, v), bad, 0);
    if (!bad)
        for (int64_t i = 0; i < n; i++) {
            double got = es == 4 ? ((float *)d.p)[i] : ((double *)d.p)[i];
            double want = es == 4 ? (double)(float)v : v;
            if (!(got == want || (isnan(got) && isnan(want)))) FAIL("ng_fill: element %lld", (long long)i);
        }
    buf_free(&d);
}

static void fuzz_reduce(reader *r) {
    g_call = "ng_reduce";
    const int dt = dtype_val(r), op = op_val(r, NG_REDUCE_COUNT);
    const int64_t outer = size_val(r, 6), n = size_val(r, 40), inner = size_val(r, 6);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    const int64_t nx = smul(smul(outer, n), inner), ny = smul(outer, inner);
    int bad = !dtype_ok(dt) || op < 0 || op >= NG_REDUCE_COUNT || outer < 0 || n < 0 || inner < 0 || nx < 0 ||
              ny < 0 || !bytes_ok(nx, es) || !bytes_ok(ny, es);
    if (!bad && (nx > CAP_ELEMS || ny > CAP_ELEMS)) return;
    buf x = buf_new(r, nx, es), y = buf_new(r, ny, es);
    int n1, n2;
    void *px = ptr_or_null(r, &x, &n1), *py = ptr_or_null(r, &y, &n2);
    if ((nx > 0 && n1) || (ny > 0 && n2)) bad = 1;
    expect_status(ng_reduce(dt, op, outer, n, inner, px, py), bad, 0);
    if (!bad && ny > 0 && (op == NG_REDUCE_MAX || op == NG_REDUCE_MIN)) { /* exact: compare with a plain loop */
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double m = op == NG_REDUCE_MAX ? -INFINITY : INFINITY;
                int nan = 0;
                for (int64_t k = 0; k < n; k++) {
                    const int64_t at = (o * n + k) * inner + i;
                    double v = es == 4 ? ((float *)x.p)[at] : ((double *)x.p)[at];
                    if (isnan(v)) nan = 1;
                    else if (op == NG_REDUCE_MAX ? v > m : v < m) m = v;
                }
                const int64_t at = o * inner + i;
                double got = es == 4 ? ((float *)y.p)[at] : ((double *)y.p)[at];
                if (nan ? !isnan(got) : !(got == m)) FAIL("ng_reduce op %d at (%lld, %lld)", op, (long long)o, (long long)i);
            }
    }
    if (!bad && nx > 0 && chance(r, 40)) { /* output inside the input: refused */
        expect_status(ng_reduce(dt, op, outer, n, inner, x.p, (char *)x.p + (size_t)(nx - 1) * es), ny > 0 ? 1 : 0, 0);
    }
    buf_free(&x);
    buf_free(&y);
}

static void fuzz_softmax(reader *r) {
    g_call = "ng_softmax";
    const int dt = dtype_val(r), lg = (int)(int8_t)u8(r);
    const int64_t rows = size_val(r, 6), cols = size_val(r, 40);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    const int64_t n = smul(rows, cols);
    int bad = !dtype_ok(dt) || rows < 0 || cols < 0 || n < 0 || !bytes_ok(n, es);
    if (!bad && n > CAP_ELEMS) return;
    buf x = buf_new(r, n, es), y = buf_new(r, n, es);
    int n1, n2;
    void *px = ptr_or_null(r, &x, &n1), *py = ptr_or_null(r, &y, &n2);
    if (n > 0 && (n1 || n2)) bad = 1;
    expect_status(ng_softmax(dt, lg, rows, cols, px, py), bad, 0);
    if (!bad && n > 0) { /* in place equals out of place */
        expect_status(ng_softmax(dt, lg, rows, cols, x.p, x.p), 0, 0);
        if (!same_values(x.p, y.p, n, es)) FAIL("ng_softmax: in place differs from out of place");
    }
    buf_free(&x);
    buf_free(&y);
}

static void fuzz_softmax_backward(reader *r) {
    g_call = "ng_softmax_backward";
    const int dt = dtype_val(r), lg = (int)(int8_t)u8(r);
    const int64_t rows = size_val(r, 6), cols = size_val(r, 40);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    const int64_t n = smul(rows, cols);
    int bad = !dtype_ok(dt) || rows < 0 || cols < 0 || n < 0 || !bytes_ok(n, es);
    if (!bad && n > CAP_ELEMS) return;
    buf y = buf_new(r, n, es), g = buf_new(r, n, es), dx = buf_new(r, n, es);
    int n1, n2, n3;
    void *py = ptr_or_null(r, &y, &n1), *pg = ptr_or_null(r, &g, &n2), *pdx = ptr_or_null(r, &dx, &n3);
    if (n > 0 && (n1 || n2 || n3)) bad = 1;
    expect_status(ng_softmax_backward(dt, lg, rows, cols, py, pg, pdx), bad, 0);
    if (!bad && n > 0) {
        expect_status(ng_softmax_backward(dt, lg, rows, cols, y.p, g.p, y.p), 1, 0); /* dx on y: refused */
        if (n > 1) /* dx overlapping g partly: refused */
            expect_status(ng_softmax_backward(dt, lg, rows, cols, y.p, (char *)g.p + es, g.p), 1, 0);
        expect_status(ng_softmax_backward(dt, lg, rows, cols, y.p, g.p, g.p), 0, 0); /* in place on g */
        if (!same_values(g.p, dx.p, n, es)) FAIL("ng_softmax_backward: in place differs from out of place");
    }
    buf_free(&y);
    buf_free(&g);
    buf_free(&dx);
}

static int64_t ld_val(reader *r, int64_t need) {
    const uint8_t b = u8(r);
    if (need < 0) return need; /* a negative size: the call is invalid anyway */
    if (b < 200) {
        const int64_t extra = b < 150 ? 0 : (int64_t)(u8(r) % 4);
        return need > INT64_MAX - extra ? need : need + extra;
    }
    if (b < 215) return need - 1 - (int64_t)(u8(r) % 3); /* too small (maybe negative) */
    return size_val(r, 8);
}

static void fuzz_gemm(reader *r) {
    g_call = "ng_gemm";
    const int dt = dtype_val(r);
    const int ta = chance(r, 250) ? (int)(u8(r) & 1) : (int)(int8_t)u8(r);
    const int tb = chance(r, 250) ? (int)(u8(r) & 1) : (int)(int8_t)u8(r);
    const int64_t M = size_val(r, 20), N = size_val(r, 20), K = size_val(r, 20), batch = size_val(r, 3);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    const int tav = ta == 1, tbv = tb == 1;
    const int64_t a_rows = tav ? K : M, a_cols = tav ? M : K, b_rows = tbv ? N : K, b_cols = tbv ? K : N;
    const int64_t lda = ld_val(r, a_cols), ldb = ld_val(r, b_cols), ldc = ld_val(r, N);
    const int64_t sa_need = smul(a_rows, lda), sb_need = smul(b_rows, ldb), sc_need = smul(M, ldc);
    const int64_t sa = chance(r, 40) ? 0 : chance(r, 20) ? size_val(r, 30) : sa_need;
    const int64_t sb = chance(r, 40) ? 0 : chance(r, 20) ? size_val(r, 30) : sb_need;
    const int64_t sc = chance(r, 30) ? 0 : chance(r, 20) ? size_val(r, 30) : sc_need;
    const double alpha = chance(r, 200) ? 1.0 : scalar_val(r), beta = chance(r, 128) ? 0.0 : scalar_val(r);
    int bad = !dtype_ok(dt) || (ta != 0 && ta != 1) || (tb != 0 && tb != 1) || M < 0 || N < 0 || K < 0 ||
              batch < 0 || lda < 0 || ldb < 0 || ldc < 0 || sa < 0 || sb < 0 || sc < 0;
    const int use_ab = !bad && M > 0 && N > 0 && K > 0 && batch > 0, use_c = !bad && M > 0 && N > 0 && batch > 0;
    if (use_ab && (lda < a_cols || ldb < b_cols)) bad = 1;
    if (use_c && ldc < N) bad = 1;
    int64_t ea = 0, eb = 0, ec = 0;
    if (!bad && use_ab) {
        ea = sadd(sadd(smul(a_rows - 1, lda), a_cols), smul(batch - 1, sa));
        eb = sadd(sadd(smul(b_rows - 1, ldb), b_cols), smul(batch - 1, sb));
        if (!bytes_ok(ea, es) || !bytes_ok(eb, es)) bad = 1;
    }
    if (!bad && use_c) {
        ec = sadd(sadd(smul(M - 1, ldc), N), smul(batch - 1, sc));
        if (!bytes_ok(ec, es)) bad = 1;
    }
    if (!bad && (ea > CAP_ELEMS || eb > CAP_ELEMS || ec > CAP_ELEMS)) return;
    if (!bad && (uint64_t)smul(smul(smul(M, N), K > 0 ? K : 1), batch) > 50000000) return; /* too slow under ASan */
    buf A = buf_new(r, bad ? -1 : ea, es), B = buf_new(r, bad ? -1 : eb, es), C = buf_new(r, bad ? -1 : ec, es);
    int n1, n2, n3;
    void *pa = ptr_or_null(r, &A, &n1), *pb = ptr_or_null(r, &B, &n2), *pc = ptr_or_null(r, &C, &n3);
    if ((use_ab && (n1 || n2)) || (use_c && n3)) bad = 1;
    expect_status(ng_gemm(dt, ta, tb, M, N, K, alpha, pa, lda, sa, pb, ldb, sb, beta, pc, ldc, sc, batch), bad, 0);
    if (!bad && use_ab && chance(r, 40)) /* C inside A: refused */
        expect_status(ng_gemm(dt, ta, tb, M, N, K, alpha, A.p, lda, sa, B.p, ldb, sb, beta, A.p, ldc, sc, batch),
                      ec > 0 ? 1 : 0, 0);
    buf_free(&A);
    buf_free(&B);
    buf_free(&C);
}

/* index values: mostly in [0, dim), sometimes out of range; *oob says whether any is */
static buf make_index(reader *r, int64_t n, int64_t dim, int *oob) {
    buf b;
    b.es = 8;
    b.elems = n < 0 || n > CAP_ELEMS ? SMALL_ELEMS : n;
    b.p = malloc((size_t)b.elems * 8 + (b.elems == 0));
    if (!b.p) FAIL("out of memory");
    int64_t *v = (int64_t *)b.p;
    const int wild = chance(r, 40);
    uint32_t seed = u8(r) * 2654435761u + 12345u;
    *oob = 0;
    for (int64_t i = 0; i < b.elems; i++) {
        seed = seed * 1664525u + 1013904223u;
        if (wild && (seed >> 24) < 16)
            v[i] = (seed & 1) && dim <= INT64_MAX - 16 ? dim + (int64_t)(seed >> 28) : -1 - (int64_t)(seed >> 28);
        else v[i] = dim > 0 ? (int64_t)((seed >> 8) % (uint64_t)dim) : (int64_t)(seed >> 28);
        if (v[i] < 0 || v[i] >= dim) *oob = 1;
    }
    return b;
}

static double getv(const buf *b, int64_t i) { return b->es == 4 ? ((float *)b->p)[i] : ((double *)b->p)[i]; }

static void fuzz_index(reader *r, int which) {
    static const char *names[4] = {"ng_index_select", "ng_index_add", "ng_gather", "ng_scatter_add"};
    g_call = names[which];
    const int dt = dtype_val(r);
    const int64_t outer = size_val(r, 5), dim = size_val(r, 8), inner = size_val(r, 5);
    const int64_t nidx = which <= 1 ? size_val(r, 8) : 0;
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    int bad = !dtype_ok(dt) || outer < 0 || dim < 0 || inner < 0 || nidx < 0;
    int64_t nx, ny, ni; /* x: read, y: written, ni: index count */
    switch (which) {
    case 0: nx = smul(smul(outer, dim), inner); ny = smul(smul(outer, nidx), inner); ni = nidx; break;
    case 1: nx = smul(smul(outer, nidx), inner); ny = smul(smul(outer, dim), inner); ni = nidx; break;
    case 2: nx = smul(smul(outer, dim), inner); ny = smul(outer, inner); ni = ny; break;
    default: nx = smul(outer, inner); ny = smul(smul(outer, dim), inner); ni = nx; break;
    }
    if (nx < 0 || ny < 0 || ni < 0 || !bytes_ok(nx, es) || !bytes_ok(ny, es) || !bytes_ok(ni, 8)) bad = 1;
    if (!bad && (nx > CAP_ELEMS || ny > CAP_ELEMS || ni > CAP_ELEMS)) return;
    int oob = 0;
    buf x = buf_new(r, bad ? -1 : nx, es), y = buf_new(r, bad ? -1 : ny, es);
    buf idx = make_index(r, bad ? -1 : ni, dim, &oob);
    int n1, n2, n3;
    void *px = ptr_or_null(r, &x, &n1), *py = ptr_or_null(r, &y, &n2), *pi = ptr_or_null(r, &idx, &n3);
    /* which pointers are required (the header: nothing is read or written for an empty side) */
    const int work = which == 0 || which == 2 ? ny > 0 : nx > 0;
    if (!bad && ((ni > 0 && n3) || (work && n2 && (which == 0 || which == 2 || ny > 0)) ||
                 (work && n1 && (which == 1 || which == 3 || nx > 0))))
        bad = 1;
    buf y0 = buf_new(r, 0, es);
    if (!bad && ny > 0 && ny <= CAP_ELEMS) { /* keep y's initial contents for the accumulating ops' reference */
        buf_free(&y0);
        y0.p = malloc((size_t)ny * es);
        y0.elems = ny;
        memcpy(y0.p, y.p, (size_t)ny * es);
    }
    ng_status st;
    const int64_t *iv = (const int64_t *)pi;
    switch (which) {
    case 0: st = ng_index_select(dt, outer, dim, inner, px, iv, nidx, py); break;
    case 1: st = ng_index_add(dt, outer, dim, inner, px, iv, nidx, py); break;
    case 2: st = ng_gather(dt, outer, dim, inner, px, iv, py); break;
    default: st = ng_scatter_add(dt, outer, dim, inner, px, iv, py); break;
    }
    expect_status(st, bad, oob); /* every index is checked, even when nothing is selected */
    const int64_t oi = smul(outer, inner);
    if (st == NG_OK && !bad && oi >= 0 && oi <= CAP_ELEMS) { /* reference, in the kernels' order of additions */
        const int64_t *I = (const int64_t *)idx.p;
        buf ref = y0;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                if (which == 0) {
                    for (int64_t j = 0; j < nidx; j++) {
                        double want = getv(&x, (o * dim + I[j]) * inner + i), got = getv(&y, (o * nidx + j) * inner + i);
                        if (!(got == want || (isnan(got) && isnan(want)))) FAIL("ng_index_select: wrong value");
                    }
                } else if (which == 2) {
                    double want = getv(&x, (o * dim + I[o * inner + i]) * inner + i), got = getv(&y, o * inner + i);
                    if (!(got == want || (isnan(got) && isnan(want)))) FAIL("ng_gather: wrong value");
                } else if (which == 1) {
                    for (int64_t j = 0; j < nidx; j++) {
                        const int64_t at = (o * dim + I[j]) * inner + i;
                        if (es == 4) ((float *)ref.p)[at] += ((float *)x.p)[(o * nidx + j) * inner + i];
                        else ((double *)ref.p)[at] += ((double *)x.p)[(o * nidx + j) * inner + i];
                    }
                } else {
                    const int64_t at = (o * dim + I[o * inner + i]) * inner + i;
                    if (es == 4) ((float *)ref.p)[at] += ((float *)x.p)[o * inner + i];
                    else ((double *)ref.p)[at] += ((double *)x.p)[o * inner + i];
                }
            }
        if ((which == 1 || which == 3) && nx > 0 && !same_values(ref.p, y.p, ny, es)) FAIL("%s: wrong sums", g_call);
    }
    buf_free(&y0);
    buf_free(&x);
    buf_free(&y);
    buf_free(&idx);
}

static void fuzz_conv(reader *r, int which) {
    static const char *names[3] = {"ng_im2col", "ng_col2im", "ng_maxpool2d"};
    g_call = names[which];
    const int dt = dtype_val(r);
    const int64_t N = size_val(r, 2), C = size_val(r, 3), H = size_val(r, 9), W = size_val(r, 9);
    const int64_t KH = size_val(r, 4), KW = size_val(r, 4), SH = size_val(r, 3), SW = size_val(r, 3);
    const int64_t PH = which == 2 ? 0 : size_val(r, 2), PW = which == 2 ? 0 : size_val(r, 2);
    const size_t es = dtype_ok(dt) ? esize(dt) : 8;
    int bad = !dtype_ok(dt) || N < 0 || C < 0 || H < 0 || W < 0 || PH < 0 || PW < 0 || KH < 1 || KW < 1 || SH < 1 ||
              SW < 1;
    int64_t OH = 0, OW = 0, nx = -1, nc = -1, ny = -1;
    if (!bad) {
        const int64_t hp = sadd(smul(PH, 2), H), wp = sadd(smul(PW, 2), W);
        if (hp < 0 || wp < 0 || hp < KH || wp < KW) bad = 1;
        else {
            OH = (hp - KH) / SH + 1;
            OW = (wp - KW) / SW + 1;
            nx = smul(smul(smul(N, C), H), W);
            nc = smul(smul(smul(smul(smul(N, C), KH), KW), OH), OW);
            ny = smul(smul(smul(N, C), OH), OW);
            if (nx < 0 || nc < 0 || !bytes_ok(nx, es) || !bytes_ok(nc, es)) bad = 1;
            if (which == 2 && (ny < 0 || !bytes_ok(ny, 8))) bad = 1;
        }
    }
    if (!bad && (nx > CAP_ELEMS || nc > CAP_ELEMS)) return;
    buf x = buf_new(r, bad ? -1 : nx, es);
    buf out = buf_new(r, bad ? -1 : which == 2 ? ny : nc, es);
    buf idx = buf_new(r, bad ? -1 : which == 2 ? ny : 0, 8);
    int n1, n2, n3;
    void *px = ptr_or_null(r, &x, &n1), *po = ptr_or_null(r, &out, &n2), *pi = ptr_or_null(r, &idx, &n3);
    ng_status st;
    if (which == 0) {
        if (!bad && nc > 0 && (n2 || (nx > 0 && n1))) bad = 1;
        st = ng_im2col(dt, N, C, H, W, KH, KW, SH, SW, PH, PW, px, po);
    } else if (which == 1) {
        if (!bad && nc > 0 && (n2 || (nx > 0 && n1))) bad = 1;
        st = ng_col2im(dt, N, C, H, W, KH, KW, SH, SW, PH, PW, po, px);
    } else {
        if (!bad && ny > 0 && (n2 || n3 || (nx > 0 && n1))) bad = 1;
        st = ng_maxpool2d(dt, N, C, H, W, KH, KW, SH, SW, px, po, (int64_t *)pi);
    }
    expect_status(st, bad, 0);
    if (st == NG_OK && which == 0 && nc > 0) { /* im2col is a pure copy: check it */
        const int64_t L = OH * OW;
        for (int64_t row = 0; row < N * C * KH * KW; row++) {
            const int64_t kw = row % KW, kh = (row / KW) % KH, plane = row / (KH * KW);
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t ih = oh * SH - PH + kh, iw = ow * SW - PW + kw;
                    double want = ih >= 0 && ih < H && iw >= 0 && iw < W ? getv(&x, (plane * H + ih) * W + iw) : 0.0;
                    double got = getv(&out, row * L + oh * OW + ow);
                    if (!(got == want || (isnan(got) && isnan(want)))) FAIL("ng_im2col: wrong value");
                }
        }
    }
    if (st == NG_OK && which == 2 && ny > 0) { /* indices point at the reported values, inside the window */
        const int64_t *I = (const int64_t *)idx.p;
        for (int64_t p = 0; p < N * C; p++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t at = (p * OH + oh) * OW + ow, k = I[at], ih = k / (W ? W : 1), iw = k % (W ? W : 1);
                    if (k < 0 || k >= H * W || ih < oh * SH || ih >= oh * SH + KH || iw < ow * SW || iw >= ow * SW + KW)
                        FAIL("ng_maxpool2d: index %lld outside its window", (long long)k);
                    double got = getv(&out, at), at_idx = getv(&x, p * H * W + k);
                    if (!(got == at_idx || (isnan(got) && isnan(at_idx)))) FAIL("ng_maxpool2d: value != x[index]");
                }
    }
    buf_free(&x);
    buf_free(&out);
    buf_free(&idx);
}

static void fuzz_library(reader *r) {
    const uint8_t b = u8(r) % 4;
    if (b == 0) {
        g_call = "ng_set_kernel_path";
        char name[17];
        const int len = u8(r) % 17;
        for (int i = 0; i < len; i++) name[i] = (char)u8(r);
        name[len] = '\0';
        const int null = chance(r, 20);
        const int known = !null && (!strcmp(name, "scalar") || !strcmp(name, "avx2") || !strcmp(name, "avx512"));
        const char *before = ng_kernel_path();
        ng_status st = ng_set_kernel_path(null ? NULL : name);
        if (!known && st != NG_ERR_INVALID_ARGUMENT) FAIL("ng_set_kernel_path accepted an unknown name");
        if (known && st != NG_OK && st != NG_ERR_UNSUPPORTED) FAIL("ng_set_kernel_path(%s) = %d", name, st);
        if (st != NG_OK && strcmp(before, ng_kernel_path()) != 0) FAIL("a failed ng_set_kernel_path changed the path");
    } else if (b == 1) {
        g_call = "ng_set_threads";
        const int n = (int)(int32_t)(uint32_t)u64(r);
        if (n < 1 || n > 256) expect_status(ng_set_threads(n), 1, 0);
    } else if (b == 2) {
        const char *p = g_paths[u8(r) % g_path_count];
        if (ng_set_kernel_path(p) != NG_OK) FAIL("path %s vanished", p);
    } else {
        /* thread counts 1..3 (creating threads is slow: rarely) */
        if (chance(r, 64)) {
            g_call = "ng_set_threads";
            const int n = 1 + u8(r) % 3;
            expect_status(ng_set_threads(n), 0, 0);
            if (ng_get_threads() != n) FAIL("ng_get_threads() = %d after ng_set_threads(%d)", ng_get_threads(), n);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    static const char *all[3] = {"scalar", "avx2", "avx512"};
    const char *def = ng_kernel_path();
    for (int i = 0; i < 3; i++)
        if (ng_set_kernel_path(all[i]) == NG_OK) g_paths[g_path_count++] = all[i];
    ng_set_kernel_path(def);
    ng_set_threads(2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_path_count == 0) LLVMFuzzerInitialize(NULL, NULL);
    reader r = {data, size};
    /* every input starts from the same state: default path, 2 threads */
    if (ng_set_kernel_path(g_paths[g_path_count - 1]) != NG_OK) FAIL("cannot select the default path");
    if (ng_get_threads() != 2 && ng_set_threads(2) != NG_OK) FAIL("cannot set 2 threads");
    for (int call = 0; call < MAX_CALLS && r.n > 0; call++) {
        /* the call byte keeps its meaning across harness versions (saved inputs stay what they were):
         * entry points added later take selector values that were spare */
        const uint8_t selector = u8(&r);
        if (selector == 0xff) {
            fuzz_softmax_backward(&r);
            continue;
        }
        switch (selector % 16) {
        case 0: fuzz_unary(&r); break;
        case 1: fuzz_binary(&r); break;
        case 2: fuzz_copy(&r); break;
        case 3: fuzz_fill(&r); break;
        case 4: fuzz_reduce(&r); break;
        case 5: fuzz_softmax(&r); break;
        case 6: fuzz_gemm(&r); break;
        case 7: fuzz_index(&r, 0); break;
        case 8: fuzz_index(&r, 1); break;
        case 9: fuzz_index(&r, 2); break;
        case 10: fuzz_index(&r, 3); break;
        case 11: fuzz_conv(&r, 0); break;
        case 12: fuzz_conv(&r, 1); break;
        case 13: fuzz_conv(&r, 2); break;
        default: fuzz_library(&r); break;
        }
    }
    return 0;
}
