/* bench_kernels.c - best-of-N times of the element-wise, reduction and softmax kernels behind W3, W6 and W7 of
 * issue 5, at 1 and 2 threads, with the memory bandwidth they reach (bytes read + written / time). Two reference
 * rows split the 1M add's 12 MB into its parts: reading its two inputs (max 2M: 8 MB read) and writing its output
 * (memset 1M: 4 MB written); on a core where the add takes their sum, it is at the cache's bandwidth wall.
 * usage: bench_kernels [path]      e.g. bench_kernels avx512      (run it niced on a shared machine) */
#define _POSIX_C_SOURCE 200809L
#include "nativegrad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct bench_case {
    const char *name;
    int kind; /* 0 unary, 1 binary, 2 sum, 3 softmax, 4 logsoftmax, 5 sum rows, 6/7 softmax/log_softmax backward,
               * 8/9 softmax/log_softmax forward then backward (W7 fwd+bwd: y = f(x), dx from y and a separate g),
               * 10 memset (the C library's, a write-only reference), 11 max (a read-only reference) */
    int op;
    int64_t n;
} bench_case;

static float *X, *Y, *Z, *W;

static void run(const bench_case *c) {
    static const int64_t one = 1;
    int64_t shape = c->n;
    switch (c->kind) {
    case 0: ng_unary(NG_F32, c->op, c->n, X, Z, 0, 0); break;
    case 1: ng_binary(NG_F32, c->op, 1, &shape, X, &one, Y, &one, Z); break;
    case 2: ng_reduce(NG_F32, NG_REDUCE_SUM, 1, c->n, 1, X, Z); break;
    case 3: ng_softmax(NG_F32, 0, c->n / 1024, 1024, X, Z); break;
    case 4: ng_softmax(NG_F32, 1, c->n / 1024, 1024, X, Z); break;
    case 5: ng_reduce(NG_F32, NG_REDUCE_SUM, c->n / 1024, 1024, 1, X, Z); break;
    case 6: ng_softmax_backward(NG_F32, 0, c->n / 1024, 1024, X, Y, Z); break;
    case 7: ng_softmax_backward(NG_F32, 1, c->n / 1024, 1024, X, Y, Z); break;
    case 8: case 9:
        ng_softmax(NG_F32, c->kind == 9, c->n / 1024, 1024, X, Z);
        ng_softmax_backward(NG_F32, c->kind == 9, c->n / 1024, 1024, Z, Y, W);
        break;
    case 10: memset(Z, 0, (size_t)c->n * 4); break;
    case 11: ng_reduce(NG_F32, NG_REDUCE_MAX, 1, c->n, 1, X, Z); break;
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && ng_set_kernel_path(argv[1]) != NG_OK) {
        fprintf(stderr, "kernel path %s not available\n", argv[1]);
        return 1;
    }
    const int64_t N = 1 << 24;
    X = aligned_alloc(64, N * 4);
    Y = aligned_alloc(64, N * 4);
    Z = aligned_alloc(64, N * 4);
    W = aligned_alloc(64, N * 4);
    for (int64_t i = 0; i < N; i++) {
        X[i] = (float)((i * 7919) % 2001) / 500.0f - 2.0f;
        Y[i] = (float)((i * 104729) % 1999) / 500.0f - 2.0f;
        Z[i] = W[i] = 0;
    }
    const bench_case cases[] = {
        {"add 1M", 1, NG_BINARY_ADD, 1 << 20},   {"mul 1M", 1, NG_BINARY_MUL, 1 << 20},
        {"ref: max 2M (read 8 MB)", 11, 0, 1 << 21}, {"ref: memset 1M (4 MB)", 10, 0, 1 << 20},
        {"exp 1M", 0, NG_UNARY_EXP, 1 << 20},    {"tanh 1M", 0, NG_UNARY_TANH, 1 << 20},
        {"add 16M", 1, NG_BINARY_ADD, 1 << 24},  {"mul 16M", 1, NG_BINARY_MUL, 1 << 24},
        {"exp 16M", 0, NG_UNARY_EXP, 1 << 24},   {"tanh 16M", 0, NG_UNARY_TANH, 1 << 24},
        {"sum 16M", 2, 0, 1 << 24},              {"sum rows 4096x1024", 5, 0, 4096 * 1024},
        {"softmax 4096x1024", 3, 0, 4096 * 1024}, {"log_softmax 4096x1024", 4, 0, 4096 * 1024},
        {"softmax bwd 4096x1024", 6, 0, 4096 * 1024}, {"log_softmax bwd 4096x1024", 7, 0, 4096 * 1024},
        {"softmax f+b 4096x1024", 8, 0, 4096 * 1024}, {"log_softmax f+b 4096x1024", 9, 0, 4096 * 1024},
    };
    printf("kernel path %s\n", ng_kernel_path());
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bench_case *c = &cases[k];
        const double bytes = (double)c->n * 4 *
                             (c->kind >= 10 ? 1 : c->kind >= 8 ? 5 : c->kind == 1 || c->kind >= 6 ? 3 : c->kind == 2 || c->kind == 5 ? 1 : 2);
        for (int t = 1; t <= 2; t++) {
            ng_set_threads(t);
            run(c);
            const int reps = (int)(2e9 / bytes) + 3;
            double best = 1e30;
            for (int r = 0; r < reps; r++) {
                const double s = now();
                run(c);
                const double e = now() - s;
                if (e < best) best = e;
            }
            printf("%-24s threads=%d: %9.1f us  %6.1f GB/s\n", c->name, t, best * 1e6, bytes / best * 1e-9);
        }
    }
    free(X); free(Y); free(Z); free(W);
    return 0;
}
