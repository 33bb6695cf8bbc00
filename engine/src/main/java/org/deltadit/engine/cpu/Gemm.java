package org.deltadit.engine.cpu;

import static org.deltadit.engine.cpu.VectorConfig.IS;
import static org.deltadit.engine.cpu.VectorConfig.LANES;
import static org.deltadit.engine.cpu.VectorConfig.S;
import static org.deltadit.engine.cpu.VectorConfig.VEC;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import org.deltadit.engine.Mat;

/**
 * C[M,N] = A[M,K] · B[K,N] (+ bias), Goto-style: B is packed in blocks of KC rows × up to NB_MAX
 * columns (NR-wide panels), A in blocks of MC × KC (MR-high panels), and an MR × NR register-blocked
 * micro-kernel multiplies one A panel by one B panel. Packing widens F16/BF16 to F32, so the
 * micro-kernel only sees float arrays (INT8 weights are dequantized there too; BF16 packed once is widened a panel at a time, {@link PackedB16},
 * or inside {@link #kernelHalf} for a few rows); it also absorbs strides (a PyTorch [out, in] weight is read
 * as Bᵀ) and implicit im2col for convolutions. Work is split into column × row blocks that the
 * pool's threads take from a shared counter.
 */
final class Gemm {
    /** 8 rows with AVX-512's 32 registers (16 accumulators); 6 where only 16 registers exist. */
    static final int MR = LANES >= 16 ? 8 : 6;
    /** Two vectors wide: 6 × 2 accumulators + 2 B vectors + 1 broadcast fit AVX2's 16 registers. */
    static final int NR = VEC ? 2 * LANES : 16;
    // Block sizes tuned on Zen 4 (1 MiB L2) with JMH: NB 512 beat 256. KC = 512 beat 256 and 128 when every B was
    // packed per call; with weights packed once, KC = 1152 (DiT-XL's width: its K is 1152 or 4 × 1152) beat 512 and
    // 768 at the ten DiT shapes, F32 and BF16 (bench/README.md): each K block adds a read-modify-write of C per tile.
    static final int KC = 1152;
    /** A multiple of both MRs (6 and 8), so only the last block of a call has a partial panel. */
    static final int MC = 120;
    static final int NB_MAX = 512;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private Gemm() {}

    /** Fills NR-wide panels: element (k, c) of panel q at {@code dst[q*NR*kc + k*NR + c]}, zero past the last column. */
    interface BSource {
        int rows();

        int cols();

        void pack(int k0, int kc, int j0, int nc, float[] dst, float[] tmp);
    }

    /** A dense matrix of any dtype and strides. */
    record DenseB(Mat m) implements BSource {
        public int rows() { return m.rows(); }

        public int cols() { return m.cols(); }

        public void pack(int k0, int kc, int j0, int nc, float[] dst, float[] tmp) { pack(k0, kc, j0, nc, dst, 0, tmp); }

        /** As {@link #pack(int, int, int, int, float[], float[])}, into dst from {@code dstAt}. */
        void pack(int k0, int kc, int j0, int nc, float[] dst, int dstAt, float[] tmp) {
            int panels = (nc + NR - 1) / NR;
            if (m.colStride() == 1 || m.rowStride() != 1) {
                // Row by row: each row of B (k fixed) is contiguous when colStride == 1.
                for (int k = 0; k < kc; k++) {
                    readLine(m, m.offset() + (long) (k0 + k) * m.rowStride() + (long) j0 * m.colStride(), m.colStride(), nc, tmp);
                    for (int q = 0; q < panels; q++) {
                        int w = Math.min(NR, nc - q * NR), at = dstAt + q * NR * kc + k * NR;
                        System.arraycopy(tmp, q * NR, dst, at, w);
                        if (w < NR) Arrays.fill(dst, at + w, at + NR, 0f);
                    }
                }
            } else {
                // Column by column: a PyTorch weight [out, in] viewed as B = Wᵀ has contiguous columns.
                // Read a panel's NR columns whole, then write the panel in order: scattering each column
                // at stride NR touches a new cache line per value and cost a sixth of DiT's forward time.
                for (int q = 0; q < panels; q++) {
                    int w = Math.min(NR, nc - q * NR), base = dstAt + q * NR * kc;
                    for (int c = 0; c < w; c++) {
                        readLine(m, m.offset() + (long) k0 * m.rowStride() + (long) (j0 + q * NR + c) * m.colStride(), m.rowStride(), kc, tmp, c * kc);
                    }
                    for (int k = 0, o = base; k < kc; k++) {
                        int c = 0;
                        for (; c < w; c++) dst[o++] = tmp[c * kc + k];
                        for (; c < NR; c++) dst[o++] = 0f;
                    }
                }
            }
        }
    }

    /**
     * B packed once, whole: every KC-row block's NR-wide panels, as {@link DenseB#pack} lays them out, one block
     * after another (block k0 at {@code k0 · roundUp(N, NR)}). A constant weight is packed once instead of once per
     * call, and the micro-kernel reads its panels in place: at 256 or 512 rows, packing cost a GEMM about a fifth of its time.
     */
    record PackedB(float[] data, int base, int rows, int cols) implements BSource {
        /** The floats {@code m} takes packed, or −1 where that is more than one array holds. */
        static long size(Mat m) {
            long n = (long) m.rows() * roundUp(m.cols(), NR);
            return n <= Integer.MAX_VALUE - 16 ? n : -1;
        }

        /** Packs {@code m} whole into {@code data} from {@code base} ({@link #size} floats), its KC × NB_MAX blocks spread over the pool's threads. */
        static PackedB of(Mat m, float[] data, int base, WorkerPool pool) {
            int k = m.rows(), n = m.cols(), width = roundUp(n, NR), chunks = ceilDiv(n, NB_MAX);
            DenseB dense = new DenseB(m);
            pool.run(ceilDiv(k, KC) * chunks, task -> {
                int k0 = task / chunks * KC, kc = Math.min(KC, k - k0), j0 = task % chunks * NB_MAX, nc = Math.min(NB_MAX, n - j0);
                dense.pack(k0, kc, j0, nc, data, base + k0 * width + j0 * kc, BUFFERS.get().tmp);
            });
            return new PackedB(data, base, k, n);
        }

        /** Where the panels of rows [k0, k0 + kc) from column j0 (a multiple of NR) start in {@link #data}. */
        int at(int k0, int kc, int j0) { return base + k0 * roundUp(cols, NR) + j0 * kc; }

        public void pack(int k0, int kc, int j0, int nc, float[] dst, float[] tmp) {
            System.arraycopy(data, at(k0, kc, j0), dst, 0, roundUp(nc, NR) * kc);
        }
    }

    /**
     * BF16 B packed once and kept at its own size: {@link PackedB}'s layout with two values to an int, so a packed
     * weight takes the bytes of the checkpoint's. In a row of a panel, int i holds column i in its low half and
     * column i + NR/2 in its high half: one int vector of NR/2 lanes shifted left by 16 is the panel row's first
     * float vector, the same ints with their low halves cleared are its second (a BF16 value is the high half of
     * the F32 it widens to, exactly). The GEMM widens one panel at a time into a buffer that stays in L2 while
     * every row panel of an MC block uses it (the first row panel's kernel writes it, {@link #kernel8Widening}), so
     * widening costs two vector ops per NR/2 columns of B for that many rows (MC blocks of even height matched all
     * of a task's rows at 256–512 rows and beat them at 4096, where A no longer fit L2). Widening inside the
     * micro-kernel for every row panel (two more ops per 16 FMAs) measured slower (bench/README.md) — except for up
     * to {@link #SMALL_M} rows, where a panel would serve too few and {@link #kernelHalf} widens in place. The ints live in native
     * memory ({@code data}, ints counted from {@code base}), which no collection copies, and where a slab's unused
     * tail never becomes resident ({@link Untouched}).
     */
    record PackedB16(MemorySegment data, long base, int rows, int cols) implements BSource {
        static final int HALF = NR / 2;

        /** The ints {@code m} takes packed, or −1 where that is more than one array holds. */
        static long size(Mat m) {
            long n = PackedB.size(m);
            return n < 0 ? -1 : n / 2;
        }

        /**
         * Packs BF16 {@code m} whole into {@code data} from {@code base} ({@link #size} ints). A PyTorch [out, in] weight
         * (B's columns contiguous) is folded straight from its 16-bit columns; any other layout is packed as
         * {@link PackedB} packs it, then folded in pairs.
         */
        static PackedB16 of(Mat m, MemorySegment data, long base, WorkerPool pool) {
            if (m.dtype() != org.deltadit.engine.DType.BF16 || m.quant() != null) throw new IllegalArgumentException("PackedB16 packs BF16 weights, not " + m.dtype());
            int k = m.rows(), n = m.cols(), width = roundUp(n, NR), chunks = ceilDiv(n, NB_MAX);
            DenseB dense = new DenseB(m);
            boolean columns = m.rowStride() == 1 && m.colStride() != 1;
            pool.run(ceilDiv(k, KC) * chunks, task -> {
                int k0 = task / chunks * KC, kc = Math.min(KC, k - k0), j0 = task % chunks * NB_MAX, nc = Math.min(NB_MAX, n - j0);
                long to = base + (k0 * width + j0 * kc) / 2;
                Buffers buf = BUFFERS.get();
                if (columns) {
                    foldColumns(m, k0, kc, j0, nc, data, to, buf.bits, buf.folded);
                    return;
                }
                dense.pack(k0, kc, j0, nc, buf.b, 0, buf.tmp);
                int lines = ceilDiv(nc, NR) * kc;
                for (int l = 0, f = 0; l < lines; l++, f += NR) {
                    for (int i = 0; i < HALF; i++) {
                        data.setAtIndex(ValueLayout.JAVA_INT, to++, Float.floatToRawIntBits(buf.b[f + i]) >>> 16 | Float.floatToRawIntBits(buf.b[f + i + HALF]) & 0xFFFF0000);
                    }
                }
            });
            return new PackedB16(data, base, k, n);
        }

        /**
         * One block from contiguous BF16 columns: a panel's NR columns copied whole as 16-bit values (zero past n), paired
         * into {@code tile} a column pair at a time, and the panel copied out whole.
         */
        private static void foldColumns(Mat m, int k0, int kc, int j0, int nc, MemorySegment data, long to, short[] bits, int[] tile) {
            for (int q = 0; q * NR < nc; q++) {
                int w = Math.min(NR, nc - q * NR);
                for (int c = 0; c < NR; c++) {
                    if (c < w) {
                        long at = m.offset() + k0 + (long) (j0 + q * NR + c) * m.colStride();
                        MemorySegment.copy(m.seg(), ValueLayout.JAVA_SHORT_UNALIGNED, at * 2, bits, c * kc, kc);
                    } else {
                        Arrays.fill(bits, c * kc, (c + 1) * kc, (short) 0);
                    }
                }
                // Two unit-stride reads and a store at stride HALF into a tile in L2: 0.9–1.0 ns an int, where writing the
                // panel in order (each int reading two columns at stride kc, into native memory) took 1.7–2.0; this loop was
                // 44 % of the samples of a BF16 DiT-XL/2's first step (bench/README.md, "The first step").
                for (int i = 0; i < HALF; i++) {
                    int lo = i * kc, hi = (i + HALF) * kc;
                    for (int kk = 0, o = i; kk < kc; kk++, o += HALF) tile[o] = bits[lo + kk] & 0xFFFF | bits[hi + kk] << 16;
                }
                MemorySegment.copy(tile, 0, data, ValueLayout.JAVA_INT, to * 4, kc * HALF);
                to += (long) kc * HALF;
            }
        }

        /** Where the panels of rows [k0, k0 + kc) from column j0 (a multiple of NR) start in {@link #data}. */
        long at(int k0, int kc, int j0) { return base + (k0 * roundUp(cols, NR) + j0 * kc) / 2; }

        public void pack(int k0, int kc, int j0, int nc, float[] dst, float[] tmp) {
            for (int q = 0; q * NR < nc; q++) panel(k0, kc, j0 + q * NR, dst, q * NR * kc);
        }

        /** Widens the panel of rows [k0, k0 + kc) at column j (a multiple of NR) into dst from {@code at}: kc × NR floats. */
        void panel(int k0, int kc, int j, float[] dst, int at) {
            long from = at(k0, kc, j);
            for (int k = 0, f = at; k < kc; k++, f += NR, from += HALF) {
                if (VEC) {
                    IntVector w = IntVector.fromMemorySegment(IS, data, from * 4, ORDER);
                    w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, f);
                    w.and(0xFFFF0000).reinterpretAsFloats().intoArray(dst, f + HALF);
                } else {
                    for (int i = 0; i < HALF; i++) {
                        int w = data.getAtIndex(ValueLayout.JAVA_INT, from + i);
                        dst[f + i] = Float.intBitsToFloat(w << 16);
                        dst[f + i + HALF] = Float.intBitsToFloat(w & 0xFFFF0000);
                    }
                }
            }
        }
    }

    /** Reads n elements spaced {@code stride} apart, widened to float. */
    static void readLine(Mat m, long start, long stride, int n, float[] dst) { readLine(m, start, stride, n, dst, 0); }

    /** As above, into dst[at..]; INT8 runs are dequantized with vectors. */
    static void readLine(Mat m, long start, long stride, int n, float[] dst, int at) {
        if (stride == 1 && m.quant() != null) Int8.read(m.quant(), m.seg(), start, dst, at, n);
        else m.read(start, stride, n, dst, at);
    }

    private static final class Buffers {
        final float[] a = new float[MC * KC];
        final float[] b = new float[KC * NB_MAX];
        final float[] tile = new float[MR * NR];
        /** One B panel widened from {@link PackedB16} (kc × NR floats, in L2). */
        final float[] panel = new float[KC * NR];
        final int[] rows = new int[MR];
        final float[] tmp = new float[Math.max(NR * KC, NB_MAX)];
        /** A panel's NR columns of 16-bit values, for {@link PackedB16#of}. */
        final short[] bits = new short[NR * KC];
        /** Those columns paired: one panel of a {@link PackedB16}. */
        final int[] folded = new int[NR / 2 * KC];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /** C = A·B (+ bias per column); C must have colStride 1. */
    static void multiply(WorkerPool pool, Mat a, BSource b, float[] bias, Mat c) { multiply(pool, a, b, bias, c, false); }

    /**
     * As above, and with {@code gelu} C = tanh-GELU(A·B + bias), applied as each tile is written for the last
     * time (its last K block), so the MLP's hidden layer is not read and written again by a separate pass.
     */
    static void multiply(WorkerPool pool, Mat a, BSource b, float[] bias, Mat c, boolean gelu) {
        int m = a.rows(), k = a.cols(), n = b.cols();
        if (m == 0 || n == 0) return;
        int threads = pool.threads();
        int split = ceilDiv(n, threads * NB_MAX);
        int nb = Math.min(NB_MAX, roundUp(ceilDiv(n, threads * split), NR));
        int colBlocks = ceilDiv(n, nb);
        int mb = m <= 1024 ? m : roundUp(ceilDiv(m, ceilDiv(m, 1024)), MR);
        while (colBlocks * ceilDiv(m, mb) < 2 * threads && mb >= 8 * MR) mb = roundUp(mb / 2, MR);
        int rowBlocks = ceilDiv(m, mb), fmb = mb;
        pool.run(colBlocks * rowBlocks, task -> {
            int i0 = (task % rowBlocks) * fmb, j0 = (task / rowBlocks) * nb;
            block(a, b, bias, c, i0, Math.min(m, i0 + fmb), j0, Math.min(n, j0 + nb), k, gelu);
        });
    }

    private static void block(Mat a, BSource b, float[] bias, Mat c, int i0, int i1, int j0, int j1, int k, boolean gelu) {
        Buffers buf = BUFFERS.get();
        int nc = j1 - j0;
        if (k == 0) {
            Arrays.fill(buf.tile, 0f);
            for (int i = i0; i < i1; i += MR) {
                for (int j = j0; j < j1; j += NR) {
                    merge(buf.tile, c, i, Math.min(MR, i1 - i), j, Math.min(NR, j1 - j), true, bias);
                    if (gelu) gelu(c, i, Math.min(MR, i1 - i), j, Math.min(NR, j1 - j));
                }
            }
            return;
        }
        // Row-major F32 activations on the heap are read in place: broadcasting from MR rows costs the
        // micro-kernel nothing extra, and packing A (once per column block) is then saved entirely.
        float[] direct = directA(a);
        PackedB16 half = b instanceof PackedB16 h ? h : null;
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = Math.min(KC, k - k0);
            boolean first = k0 == 0, last = gelu && k0 + kc >= k;
            float[] bp = buf.b;
            int bAt = 0;
            if (b instanceof PackedB p) {
                bp = p.data();
                bAt = p.at(k0, kc, j0);
            } else if (half == null) {
                b.pack(k0, kc, j0, nc, buf.b, buf.tmp);
            }
            // MC-row blocks of even height (256 rows as 88 + 88 + 80, not 120 + 120 + 16, whose last block would load
            // every B panel for two row panels); at most MC, so a packed block fits buf.a and A stays in L2 beside a panel
            int step = roundUp(ceilDiv(i1 - i0, ceilDiv(i1 - i0, MC)), MR);
            for (int ic = i0; ic < i1; ic += step) {
                int mc = Math.min(step, i1 - ic);
                if (direct == null) packA(a, ic, mc, k0, kc, buf.a, buf.tmp);
                float[] ap = direct != null ? direct : buf.a;
                if (half != null && VEC && mc <= SMALL_M) {
                    // a few rows (adaLN's modulation: one per image and branch): a widened panel would serve too few
                    int ks = rows(buf.rows, a, direct, ic, 0, mc, k0, kc);
                    for (int jr = 0; jr < nc; jr += NR) {
                        kernelHalf(kc, ap, buf.rows, ks, half.data(), half.at(k0, kc, j0 + jr), buf.tile);
                        merge(buf.tile, c, ic, mc, j0 + jr, Math.min(NR, nc - jr), first, bias);
                        if (last) gelu(c, ic, mc, j0 + jr, Math.min(NR, nc - jr));
                    }
                } else {
                    // Column panels outermost (Goto's order): one B panel (kc × NR, in L2) serves every MR-row panel
                    // of the MC block (whose A, MC × kc, is in L2 as well). With rows outermost each row panel streamed
                    // the whole KC × NB block of B (2.4 MB, past L2) from L3: 5–10 points of the peak lower (bench/README.md).
                    for (int jr = 0; jr < nc; jr += NR) {
                        float[] panel = half != null ? buf.panel : bp;
                        int at = half != null ? 0 : bAt + jr * kc, nr = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir), ks = rows(buf.rows, a, direct, ic, ir, mr, k0, kc);
                            // BF16: the first row panel widens the panel as it multiplies, for the rest to read
                            if (half != null && ir == 0) widening(kc, ap, buf.rows, ks, half, k0, j0 + jr, buf.panel, buf.tile);
                            else micro(kc, ap, buf.rows, ks, panel, at, buf.tile);
                            merge(buf.tile, c, ic + ir, mr, j0 + jr, nr, first, bias);
                            if (last) gelu(c, ic + ir, mr, j0 + jr, nr);
                        }
                    }
                }
            }
        }
    }

    /**
     * Where the micro-kernel finds the MR rows of A from row ic + ir: in place in {@code direct} (rows past the
     * end repeat the first; their results are never merged), else in the packed block. Returns the step per k.
     */
    private static int rows(int[] rows, Mat a, float[] direct, int ic, int ir, int mr, int k0, int kc) {
        if (direct == null) {
            for (int r = 0; r < MR; r++) rows[r] = ir * kc + r;
            return MR;
        }
        long lda = a.rowStride();
        int base = (int) (a.seg().address() / 4 + a.offset() + (ic + ir) * lda + k0);
        for (int r = 0; r < MR; r++) rows[r] = base + (r < mr ? (int) (r * lda) : 0);
        return 1;
    }

    /** The micro-kernel for this JVM's vector width. */
    private static void micro(int kc, float[] ap, int[] rows, int ks, float[] bp, int bi, float[] tile) {
        if (!VEC) scalarKernel(kc, ap, rows, ks, bp, bi, tile);
        else if (MR == 8) kernel8(kc, ap, rows, ks, bp, bi, tile);
        else kernel(kc, ap, rows, ks, bp, bi, tile);
    }

    /**
     * {@link #micro} on the {@link PackedB16} panel of rows [k0, k0 + kc) at column j, widened on the way into
     * {@code panel} (kc × NR floats) for the MC block's other row panels. A separate widening pass wrote 128 bytes a
     * row through L1 into L2 at ~5 cycles a row, 5–7 % of the MC block's time; here the stores ride beside the FMAs.
     */
    private static void widening(int kc, float[] ap, int[] rows, int ks, PackedB16 half, int k0, int j, float[] panel, float[] tile) {
        if (VEC && MR == 8) {
            kernel8Widening(kc, ap, rows, ks, half.data(), half.at(k0, kc, j), panel, tile);
        } else if (VEC) {
            kernelWidening(kc, ap, rows, ks, half.data(), half.at(k0, kc, j), panel, tile);
        } else {
            half.panel(k0, kc, j, panel, 0);
            micro(kc, ap, rows, ks, panel, 0, tile);
        }
    }

    /**
     * The GEMM's inner loops alone, for {@link KernelCeiling}: {@code rows} rows of A read in place ({@code a}, rows
     * of {@link #KC} floats) times {@code panels} packed B panels of KC × NR floats from {@code b}'s panel
     * {@code first}, panel by panel as {@link #block} walks them. Returns its FLOPs; the sums are left in {@code tile}.
     */
    static long kernelPass(float[] a, int rows, float[] b, int first, int panels, int[] at, float[] tile) {
        for (int p = first; p < first + panels; p++) {
            for (int ir = 0; ir < rows; ir += MR) {
                for (int r = 0; r < MR; r++) at[r] = (ir + Math.min(r, rows - 1 - ir)) * KC;
                micro(KC, a, at, 1, b, p * KC * NR, tile);
            }
        }
        return 2L * roundUp(rows, MR) * KC * NR * panels;
    }

    /** A's float[] when A is F32 in a heap array with unit column stride, else null (then A is packed). */
    private static float[] directA(Mat a) {
        if (a.dtype() != org.deltadit.engine.DType.F32 || a.colStride() != 1 || a.rowStride() > Integer.MAX_VALUE / 8) return null;
        return a.seg().heapBase().orElse(null) instanceof float[] f ? f : null;
    }

    /** Packs rows [i0, i0+mc) × columns [k0, k0+kc) of A into MR-high panels: (k, r) at p*MR*kc + k*MR + r. */
    private static void packA(Mat a, int i0, int mc, int k0, int kc, float[] dst, float[] tmp) {
        int panels = ceilDiv(mc, MR);
        for (int p = 0; p < panels; p++) {
            int base = p * MR * kc;
            for (int r = 0; r < MR; r++) {
                int i = p * MR + r;
                if (i < mc) {
                    readLine(a, a.offset() + (long) (i0 + i) * a.rowStride() + (long) k0 * a.colStride(), a.colStride(), kc, tmp);
                    for (int kk = 0; kk < kc; kk++) dst[base + kk * MR + r] = tmp[kk];
                } else {
                    for (int kk = 0; kk < kc; kk++) dst[base + kk * MR + r] = 0f;
                }
            }
        }
    }

    /** MR = 6 (AVX2, 128-bit): 12 accumulators stay in registers; per k, two B loads and six broadcasts feed twelve FMAs. */
    private static void kernel(int kc, float[] ap, int[] rows, int ks, float[] bp, int bi, float[] tile) {
        int r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3], r4 = rows[4], r5 = rows[5];
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < kc; k++) {
            int a = k * ks, b = bi + k * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + LANES);
            FloatVector x = FloatVector.broadcast(S, ap[r0 + a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[r1 + a]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[r2 + a]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[r3 + a]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[r4 + a]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[r5 + a]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
    }

    /** {@link #kernel} on a {@link PackedB16} panel read in place and widened into {@code panel}, as {@link #kernel8Widening}. */
    private static void kernelWidening(int kc, float[] ap, int[] rows, int ks, MemorySegment bp, long from, float[] panel, float[] tile) {
        int r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3], r4 = rows[4], r5 = rows[5];
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < kc; k++) {
            int a = k * ks, b = k * NR;
            IntVector w = IntVector.fromMemorySegment(IS, bp, (from + (long) k * PackedB16.HALF) * 4, ORDER);
            FloatVector b0 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), b1 = w.and(0xFFFF0000).reinterpretAsFloats();
            b0.intoArray(panel, b);
            b1.intoArray(panel, b + LANES);
            FloatVector x = FloatVector.broadcast(S, ap[r0 + a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[r1 + a]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[r2 + a]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[r3 + a]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[r4 + a]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[r5 + a]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
    }

    /** MR = 8 (AVX-512): sixteen accumulators, two B loads and eight broadcasts per k. */
    private static void kernel8(int kc, float[] ap, int[] rows, int ks, float[] bp, int bi, float[] tile) {
        int r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3], r4 = rows[4], r5 = rows[5], r6 = rows[6], r7 = rows[7];
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int a = k * ks, b = bi + k * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + LANES);
            FloatVector x = FloatVector.broadcast(S, ap[r0 + a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[r1 + a]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[r2 + a]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[r3 + a]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[r4 + a]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[r5 + a]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ap[r6 + a]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ap[r7 + a]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + LANES);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + LANES);
    }

    /**
     * {@link #kernel8} on a {@link PackedB16} panel read in place: per k one int vector becomes the panel row's two
     * float vectors (shift, mask), stored to {@code panel} and fed to the same FMAs in the same order, so the sums
     * are bit for bit those of {@link #kernel8} on the panel it writes.
     */
    private static void kernel8Widening(int kc, float[] ap, int[] rows, int ks, MemorySegment bp, long from, float[] panel, float[] tile) {
        int r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3], r4 = rows[4], r5 = rows[5], r6 = rows[6], r7 = rows[7];
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int a = k * ks, b = k * NR;
            IntVector w = IntVector.fromMemorySegment(IS, bp, (from + (long) k * PackedB16.HALF) * 4, ORDER);
            FloatVector b0 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), b1 = w.and(0xFFFF0000).reinterpretAsFloats();
            b0.intoArray(panel, b);
            b1.intoArray(panel, b + LANES);
            FloatVector x = FloatVector.broadcast(S, ap[r0 + a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[r1 + a]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[r2 + a]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[r3 + a]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[r4 + a]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[r5 + a]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ap[r6 + a]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ap[r7 + a]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + LANES);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + LANES);
    }

    /** Rows up to which BF16 pairs are widened inside {@link #kernelHalf} rather than a panel at a time. */
    static final int SMALL_M = 4;

    /**
     * Four rows of A times a {@link PackedB16} panel read in place: per k one int vector becomes the panel row's two
     * float vectors (shift, mask) for eight FMAs. The sums are {@link #kernel8}'s on the widened panel, bit for bit
     * (the same FMAs in the same order); tile rows 4 and up are left as they are.
     */
    private static void kernelHalf(int kc, float[] ap, int[] rows, int ks, MemorySegment bp, long from, float[] tile) {
        int r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3];
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int k = 0; k < kc; k++) {
            int a = k * ks;
            IntVector w = IntVector.fromMemorySegment(IS, bp, (from + (long) k * PackedB16.HALF) * 4, ORDER);
            FloatVector b0 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), b1 = w.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector x = FloatVector.broadcast(S, ap[r0 + a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[r1 + a]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[r2 + a]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[r3 + a]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
    }

    /** Same contract as {@link #kernel} with plain loops (dit.vector.bits=0). */
    private static void scalarKernel(int kc, float[] ap, int[] rows, int ks, float[] bp, int bi, float[] tile) {
        Arrays.fill(tile, 0f);
        for (int k = 0; k < kc; k++, bi += NR) {
            for (int r = 0; r < MR; r++) {
                float x = ap[rows[r] + k * ks];
                for (int j = 0; j < NR; j++) tile[r * NR + j] += x * bp[bi + j];
            }
        }
    }

    /** Writes (first K block: tile + bias) or adds (later blocks) the valid mr × nr corner of the tile into C. */
    private static void merge(float[] tile, Mat c, int row, int mr, int col, int nr, boolean first, float[] bias) {
        MemorySegment seg = c.seg();
        for (int r = 0; r < mr; r++) {
            long at = c.offset() + (long) (row + r) * c.rowStride() + col;
            int t = r * NR, j = 0;
            if (VEC && nr == NR) {
                for (; j < NR; j += LANES) {
                    FloatVector v = FloatVector.fromArray(S, tile, t + j);
                    if (!first) v = v.add(FloatVector.fromMemorySegment(S, seg, (at + j) * 4, ORDER));
                    else if (bias != null) v = v.add(FloatVector.fromArray(S, bias, col + j));
                    v.intoMemorySegment(seg, (at + j) * 4, ORDER);
                }
            }
            for (; j < nr; j++) {
                float v = tile[t + j];
                if (!first) v += seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at + j);
                else if (bias != null) v += bias[col + j];
                seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at + j, v);
            }
        }
    }

    /** tanh-GELU in place over an mr × nr tile of C just written (still in L1), row by row with the cpu backend's own GELU loop. */
    private static void gelu(Mat c, int row, int mr, int col, int nr) {
        for (int r = 0; r < mr; r++) {
            long at = c.offset() + (long) (row + r) * c.rowStride() + col;
            CpuBackend.sigmoidGate(c.seg(), at, c.seg(), at, nr, CpuBackend.GELU_ALPHA, CpuBackend.GELU_BETA);
        }
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    static int roundUp(int a, int b) { return ceilDiv(a, b) * b; }
}
