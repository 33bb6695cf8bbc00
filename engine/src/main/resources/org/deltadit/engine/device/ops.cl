/*
 * The device kernels, written once in a C subset: OpenCL C 1.2 as it stands; the CUDA backend compiles
 * the same text through NVRTC with the macros below defined for CUDA (Kernels.CUDA_PRELUDE). Every
 * buffer is contiguous F32 unless a kernel says otherwise; the host lays tensors out so. Each kernel is
 * the direct form of its scalar reference in engine/reference: correctness first, tiling later.
 */
#ifndef KERNEL
#define KERNEL __kernel
#define GLOBAL __global
#define LOCAL __local
#define GID(d) ((int) get_global_id(d))
#define LID(d) ((int) get_local_id(d))
#define GROUP(d) ((int) get_group_id(d))
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
#define FLOAT_BITS(v) as_uint(v)
#define BITS_FLOAT(u) as_float(u)
#endif

#define TILE 16

/*
 * C[M,N] = A[M,K]·B[K,N] (+ bias[N]), in 16×16 tiles: each work-group stages a tile of A and of B in
 * local memory per step of K, so each value is read from global memory once per tile instead of once
 * per product. Launched on a grid rounded up to the tile; work-items past the edge load zeros. Written once
 * for B's element type: gemm takes F32; gemm_bf16b takes BF16 bits (a checkpoint's BF16 weights as stored:
 * half the device memory), widened exactly as the tile is loaded, so its products and sums are gemm's own.
 */
#define GEMM_TILED(NAME, BTYPE, WIDEN) \
KERNEL void NAME(GLOBAL const float* a, GLOBAL const BTYPE* b, GLOBAL const float* bias, GLOBAL float* c, int m, int k, int n, int hasBias) { \
    LOCAL float as[TILE][TILE]; \
    LOCAL float bs[TILE][TILE]; \
    int tx = LID(0), ty = LID(1); \
    int col = GROUP(0) * TILE + tx, row = GROUP(1) * TILE + ty; \
    float acc = 0.0f; \
    for (int t = 0; t < k; t += TILE) { \
        as[ty][tx] = row < m && t + tx < k ? a[(long) row * k + t + tx] : 0.0f; \
        bs[ty][tx] = t + ty < k && col < n ? WIDEN(b[(long) (t + ty) * n + col]) : 0.0f; \
        BARRIER(); \
        for (int i = 0; i < TILE; i++) acc += as[ty][i] * bs[i][tx]; \
        BARRIER(); \
    } \
    if (row < m && col < n) c[(long) row * n + col] = hasBias ? acc + bias[col] : acc; \
}
#define AS_IS(v) (v)
#define BF16_WIDEN(u) BITS_FLOAT(((uint) (u)) << 16)
GEMM_TILED(gemm, float, AS_IS)
GEMM_TILED(gemm_bf16b, ushort, BF16_WIDEN)

/* c [m, n] += bias[n] on every row, after a library GEMM */
KERNEL void bias_rows(GLOBAL float* c, GLOBAL const float* bias, int m, int n) {
    int i = GID(0);
    if (i >= m * n) return;
    c[i] += bias[i % n];
}

/* one row of [rows, n]: (x − mean)/sqrt(var + eps)·gamma + beta (each optional); two passes over the row */
KERNEL void layer_norm(GLOBAL const float* x, GLOBAL const float* gamma, GLOBAL const float* beta, GLOBAL float* out, int rows, int n, float eps,
                       int hasGamma, int hasBeta) {
    int r = GID(0);
    if (r >= rows) return;
    GLOBAL const float* xr = x + (long) r * n;
    float mean = 0.0f, var = 0.0f;
    for (int i = 0; i < n; i++) mean += xr[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (xr[i] - mean) * (xr[i] - mean);
    float inv = 1.0f / sqrt(var / n + eps);
    for (int i = 0; i < n; i++) {
        float v = (xr[i] - mean) * inv;
        if (hasGamma) v *= gamma[i];
        if (hasBeta) v += beta[i];
        out[(long) r * n + i] = v;
    }
}

KERNEL void rms_norm(GLOBAL const float* x, GLOBAL const float* gamma, GLOBAL float* out, int rows, int n, float eps) {
    int r = GID(0);
    if (r >= rows) return;
    GLOBAL const float* xr = x + (long) r * n;
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += xr[i] * xr[i];
    float inv = 1.0f / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) out[(long) r * n + i] = xr[i] * inv * gamma[i];
}

/* x [N, C, S]: each (sample, group) normalised over its C/groups channels × S values */
KERNEL void group_norm(GLOBAL const float* x, GLOBAL const float* gamma, GLOBAL const float* beta, GLOBAL float* out,
                       int batch, int c, int s, int groups, float eps, int hasGamma, int hasBeta) {
    int id = GID(0);
    if (id >= batch * groups) return;
    int bi = id / groups, g = id % groups, cpg = c / groups;
    long base = ((long) bi * c + (long) g * cpg) * s, count = (long) cpg * s;
    float mean = 0.0f, var = 0.0f;
    for (long i = 0; i < count; i++) mean += x[base + i];
    mean /= count;
    for (long i = 0; i < count; i++) var += (x[base + i] - mean) * (x[base + i] - mean);
    float inv = 1.0f / sqrt(var / count + eps);
    for (long i = 0; i < count; i++) {
        int ch = g * cpg + (int) (i / s);
        float v = (x[base + i] - mean) * inv;
        if (hasGamma) v *= gamma[ch];
        if (hasBeta) v += beta[ch];
        out[base + i] = v;
    }
}

/* op: 0 GELU (tanh), 1 GELU (erf), 2 SiLU, 3 scale by arg */
KERNEL void unary(GLOBAL const float* x, GLOBAL float* out, int n, int op, float arg) {
    int i = GID(0);
    if (i >= n) return;
    float v = x[i], y;
    if (op == 0) y = 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    else if (op == 1) y = 0.5f * v * (1.0f + erf(v * 0.7071067811865476f));
    else if (op == 2) y = v / (1.0f + exp(-v));
    else y = v * arg;
    out[i] = y;
}

/* a and b already laid out in out's shape; op: 0 add, 1 sub, 2 mul */
KERNEL void binary(GLOBAL const float* a, GLOBAL const float* b, GLOBAL float* out, int n, int op) {
    int i = GID(0);
    if (i >= n) return;
    out[i] = op == 0 ? a[i] + b[i] : op == 1 ? a[i] - b[i] : a[i] * b[i];
}

KERNEL void softmax_rows(GLOBAL const float* x, GLOBAL float* out, int rows, int n) {
    int r = GID(0);
    if (r >= rows) return;
    GLOBAL const float* xr = x + (long) r * n;
    float mx = -INFINITY, sum = 0.0f;
    for (int i = 0; i < n; i++) mx = fmax(mx, xr[i]);
    for (int i = 0; i < n; i++) {
        float e = exp(xr[i] - mx);
        out[(long) r * n + i] = e;
        sum += e;
    }
    for (int i = 0; i < n; i++) out[(long) r * n + i] /= sum;
}

/*
 * scores [rows = BH·Lq, lk] in place: s·scale (+ mask row r / maskDiv: 1 for a full [rows, lk] mask, H·Lq
 * for a key mask [B, lk]), then softmax; for backends that
 * form q·kᵀ with a library GEMM (CUDA's cuBLAS) and finish attention with another.
 */
KERNEL void scale_mask_softmax(GLOBAL float* s, GLOBAL const float* mask, int rows, int lk, float scale, int hasMask, int maskDiv) {
    int r = GID(0);
    if (r >= rows) return;
    GLOBAL float* sr = s + (long) r * lk;
    GLOBAL const float* mr = mask + (long) (r / maskDiv) * lk;
    float mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j < lk; j++) {
        float v = sr[j] * scale + (hasMask ? mr[j] : 0.0f);
        sr[j] = v;
        mx = fmax(mx, v);
    }
    for (int j = 0; j < lk; j++) {
        float e = exp(sr[j] - mx);
        sr[j] = e;
        sum += e;
    }
    for (int j = 0; j < lk; j++) sr[j] /= sum;
}

/*
 * One query row per work-item: q [BH, Lq, D], k [BH, Lk, D], v [BH, Lk, Dv], mask (if any) row
 * (h·Lq + i) / maskDiv of [·, Lk] added to the scaled scores (maskDiv as in scale_mask_softmax); out [BH, Lq, Dv]. A row whose keys are all −∞ gives NaN, as PyTorch does.
 */
KERNEL void attention(GLOBAL const float* q, GLOBAL const float* k, GLOBAL const float* v, GLOBAL const float* mask, GLOBAL float* out,
                      int bh, int lq, int lk, int d, int dv, float scale, int hasMask, int maskDiv) {
    int i = GID(0), h = GID(1);
    if (i >= lq || h >= bh) return;
    GLOBAL const float* qi = q + ((long) h * lq + i) * d;
    GLOBAL const float* kh = k + (long) h * lk * d;
    GLOBAL const float* vh = v + (long) h * lk * dv;
    GLOBAL float* o = out + ((long) h * lq + i) * dv;
    GLOBAL const float* mrow = mask + ((long) h * lq + i) / maskDiv * lk;
    float mx = -INFINITY;
    for (int j = 0; j < lk; j++) {
        float s = 0.0f;
        for (int t = 0; t < d; t++) s += qi[t] * kh[(long) j * d + t];
        s = s * scale + (hasMask ? mrow[j] : 0.0f);
        mx = fmax(mx, s);
    }
    for (int t = 0; t < dv; t++) o[t] = 0.0f;
    float sum = 0.0f;
    for (int j = 0; j < lk; j++) {
        float s = 0.0f;
        for (int t = 0; t < d; t++) s += qi[t] * kh[(long) j * d + t];
        float p = exp(s * scale + (hasMask ? mrow[j] : 0.0f) - mx);
        sum += p;
        for (int t = 0; t < dv; t++) o[t] += p * vh[(long) j * dv + t];
    }
    for (int t = 0; t < dv; t++) o[t] /= sum;
}

/* x [N, Cin, H, W], w [Cout, Cin, KH, KW], out [N, Cout, Ho, Wo]; zero padding */
KERNEL void conv2d(GLOBAL const float* x, GLOBAL const float* w, GLOBAL const float* bias, GLOBAL float* out,
                   int batch, int cin, int h, int wd, int cout, int kh, int kw, int stride, int pad, int ho, int wo, int hasBias) {
    int id = GID(0);
    if (id >= batch * cout * ho * wo) return;
    int ox = id % wo, oy = (id / wo) % ho, co = (id / (wo * ho)) % cout, bi = id / (wo * ho * cout);
    float acc = hasBias ? bias[co] : 0.0f;
    for (int ci = 0; ci < cin; ci++) {
        for (int ky = 0; ky < kh; ky++) {
            int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < kw; kx++) {
                int ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= wd) continue;
                acc += x[(((long) bi * cin + ci) * h + iy) * wd + ix] * w[(((long) co * cin + ci) * kh + ky) * kw + kx];
            }
        }
    }
    out[id] = acc;
}

/* nearest: out [N, C, H·f, W·f] (not "upsample": OpenCL C has a built-in of that name) */
KERNEL void upsample_nearest(GLOBAL const float* x, GLOBAL float* out, int planes, int h, int w, int f) {
    int id = GID(0);
    int ow = w * f, oh = h * f;
    if (id >= planes * oh * ow) return;
    int ox = id % ow, oy = (id / ow) % oh, p = id / (ow * oh);
    out[id] = x[((long) p * h + oy / f) * w + ox / f];
}

/* F32 to BF16 bits, rounded to nearest even (NaN kept quiet), for tensor-core GEMMs on BF16 */
KERNEL void to_bf16(GLOBAL const float* x, GLOBAL ushort* out, int n) {
    int i = GID(0);
    if (i >= n) return;
    uint b = FLOAT_BITS(x[i]);
    if ((b & 0x7fffffffu) > 0x7f800000u) out[i] = (ushort) ((b >> 16) | 0x40u);
    else out[i] = (ushort) ((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

/*
 * The adaLN-Zero block's elementwise steps (DeviceBackend.adaLnBlock), with mod [B, 6·D] the adaLN
 * projection's six chunks (shift, scale, gate for attention, then for the MLP) and x [B, N, D].
 * modulate: out = x·(1 + scale) + shift, in that order of operations, as Backend.modulate composes it.
 */
KERNEL void modulate(GLOBAL const float* x, GLOBAL const float* mod, GLOBAL float* out, int b, int n, int d, int shiftChunk, int scaleChunk) {
    int i = GID(0);
    if (i >= b * n * d) return;
    int c = i % d, bi = i / (n * d);
    GLOBAL const float* m = mod + (long) bi * 6 * d;
    out[i] = x[i] * (m[scaleChunk * d + c] + 1.0f) + m[shiftChunk * d + c];
}

/* out = x + gate·y (the block's residual) */
KERNEL void gate_residual(GLOBAL const float* x, GLOBAL const float* mod, GLOBAL const float* y, GLOBAL float* out, int b, int n, int d, int gateChunk) {
    int i = GID(0);
    if (i >= b * n * d) return;
    int c = i % d, bi = i / (n * d);
    out[i] = x[i] + mod[(long) bi * 6 * d + gateChunk * d + c] * y[i];
}

/* src [B, N, G, H, Dh] (a fused projection's rows: G = 3 for q/k/v, 2 for k/v, 1 for q): group g to dst [B, H, N, Dh] */
KERNEL void split_heads(GLOBAL const float* src, GLOBAL float* dst, int b, int n, int groups, int g, int heads, int dh) {
    int i = GID(0);
    int d = heads * dh;
    if (i >= b * n * d) return;
    int t = i % dh, tok = (i / dh) % n, h = (i / (dh * n)) % heads, bi = i / (dh * n * heads);
    dst[i] = src[(((long) bi * n + tok) * groups + g) * d + (long) h * dh + t];
}

/* attention's output o [B, H, N, Dh] back to tokens [B, N, H·Dh] */
KERNEL void merge_heads(GLOBAL const float* o, GLOBAL float* out, int b, int n, int heads, int dh) {
    int i = GID(0);
    int d = heads * dh;
    if (i >= b * n * d) return;
    int t = i % dh, h = (i / dh) % heads, tok = (i / d) % n, bi = i / (d * n);
    out[i] = o[(((long) bi * heads + h) * n + tok) * dh + t];
}
