/* test_index.c - index_select / index_add / gather / scatter_add vs reference, repeated indices, and
 * NG_ERR_INDEX on out-of-range indices (nothing written). */
#include "test_common.h"

static double getv(int dtype, const void *p, int64_t i) {
    return dtype == NG_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static void setv(int dtype, void *p, int64_t i, double v) {
    if (dtype == NG_F32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

static void test_case(int dtype, int64_t outer, int64_t dim, int64_t inner, int64_t nidx) {
    const size_t es = dtype == NG_F32 ? 4 : 8;
    const int64_t nx = outer * dim * inner, ny = outer * nidx * inner, ng = outer * inner;
    void *x = xmalloc((size_t)(nx + 1) * es), *y = xmalloc((size_t)(ny + 1) * es);
    int64_t *idx = (int64_t *)xmalloc((size_t)(nidx + 1) * sizeof(int64_t));
    int64_t *gidx = (int64_t *)xmalloc((size_t)(ng + 1) * sizeof(int64_t));
    for (int64_t i = 0; i < nx; i++) setv(dtype, x, i, (double)(i % 1000) * 0.5);
    for (int64_t j = 0; j < nidx; j++) idx[j] = dim ? (int64_t)(rng_u64() % (uint64_t)dim) : 0;
    for (int64_t j = 0; j < ng; j++) gidx[j] = dim ? (int64_t)(rng_u64() % (uint64_t)dim) : 0;
    if (dim == 0) nidx = 0;

    /* index_select */
    CHECK(ng_index_select(dtype, outer, dim, inner, x, idx, nidx, y) == NG_OK, "index_select: %s", ng_last_error());
    int bad = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < nidx; j++)
            for (int64_t i = 0; i < inner; i++)
                if (getv(dtype, y, (o * nidx + j) * inner + i) != getv(dtype, x, (o * dim + idx[j]) * inner + i)) bad++;
    CHECK(!bad, "index_select (%lld,%lld,%lld,%lld): %d mismatches", (long long)outer, (long long)dim,
          (long long)inner, (long long)nidx, bad);

    /* index_add: y2 [outer, dim, inner] += scatter of y [outer, nidx, inner] */
    void *y2 = xmalloc((size_t)(nx + 1) * es);
    double *ref = (double *)xmalloc((size_t)(nx + 1) * sizeof(double));
    for (int64_t i = 0; i < nx; i++) {
        setv(dtype, y2, i, 1.0);
        ref[i] = 1.0;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < nidx; j++)
            for (int64_t i = 0; i < inner; i++)
                ref[(o * dim + idx[j]) * inner + i] += getv(dtype, y, (o * nidx + j) * inner + i);
    CHECK(ng_index_add(dtype, outer, dim, inner, y, idx, nidx, y2) == NG_OK, "index_add: %s", ng_last_error());
    bad = 0;
    for (int64_t i = 0; i < nx; i++)
        if (!close_enough(getv(dtype, y2, i), ref[i], 1e-6, 0)) bad++;
    CHECK(!bad, "index_add: %d mismatches", bad);

    /* gather */
    void *g = xmalloc((size_t)(ng + 1) * es);
    CHECK(ng_gather(dtype, outer, dim, inner, x, gidx, g) == NG_OK || dim == 0, "gather: %s", ng_last_error());
    bad = 0;
    if (dim > 0)
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++)
                if (getv(dtype, g, o * inner + i) != getv(dtype, x, (o * dim + gidx[o * inner + i]) * inner + i)) bad++;
    CHECK(!bad, "gather: %d mismatches", bad);

    /* scatter_add */
    if (dim > 0) {
        for (int64_t i = 0; i < nx; i++) {
            setv(dtype, y2, i, 2.0);
            ref[i] = 2.0;
        }
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++)
                ref[(o * dim + gidx[o * inner + i]) * inner + i] += getv(dtype, g, o * inner + i);
        CHECK(ng_scatter_add(dtype, outer, dim, inner, g, gidx, y2) == NG_OK, "scatter_add: %s", ng_last_error());
        bad = 0;
        for (int64_t i = 0; i < nx; i++)
            if (!close_enough(getv(dtype, y2, i), ref[i], 1e-6, 0)) bad++;
        CHECK(!bad, "scatter_add: %d mismatches", bad);
    }
    free(x); free(y); free(y2); free(g); free(idx); free(gidx); free(ref);
}

static void test_errors(void) {
    float x[12] = {0}, y[12];
    for (int i = 0; i < 12; i++) y[i] = 7.f;
    int64_t idx[3] = {0, 3, 1}; /* 3 is out of range for dim 3 */
    CHECK(ng_index_select(NG_F32, 2, 3, 2, x, idx, 3, y) == NG_ERR_INDEX, "index_select bad index");
    CHECK(strlen(ng_last_error()) > 0 && strstr(ng_last_error(), "3") != NULL, "message: '%s'", ng_last_error());
    CHECK(y[0] == 7.f && y[11] == 7.f, "index_select wrote output before failing");
    CHECK(ng_index_add(NG_F32, 2, 3, 2, x, idx, 3, y) == NG_ERR_INDEX, "index_add bad index");
    CHECK(y[0] == 7.f, "index_add wrote output before failing");
    int64_t neg[2] = {0, -1};
    CHECK(ng_index_select(NG_F64, 1, 3, 1, x, neg, 2, y) == NG_ERR_INDEX, "negative index");
    int64_t gidx[4] = {0, 1, 2, 5};
    CHECK(ng_gather(NG_F32, 2, 3, 2, x, gidx, y) == NG_ERR_INDEX, "gather bad index");
    CHECK(y[0] == 7.f, "gather wrote output before failing");
    CHECK(ng_scatter_add(NG_F32, 2, 3, 2, x, gidx, y) == NG_ERR_INDEX, "scatter_add bad index");
    CHECK(y[0] == 7.f, "scatter_add wrote output before failing");
    CHECK(ng_index_select(NG_F32, 2, 3, 2, x, NULL, 3, y) == NG_ERR_INVALID_ARGUMENT, "null idx");
    CHECK(ng_gather(NG_F32, 2, -3, 2, x, gidx, y) == NG_ERR_INVALID_ARGUMENT, "negative dim");
}

int main(void) {
    static const int64_t cases[][4] = {{1, 1, 1, 1}, {2, 5, 3, 7}, {3, 10, 1, 25}, {1, 100, 1000, 300},
                                       {50, 7, 33, 9}, {0, 3, 3, 3}, {2, 0, 3, 0}, {4, 5, 0, 3}, {1, 1000, 1, 1000000}};
    for (int dtype = 0; dtype < 2; dtype++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            test_case(dtype, cases[c][0], cases[c][1], cases[c][2], cases[c][3]);
    test_errors();
    return test_finish("test_index");
}
