package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Weight-only INT8: the quantizer's arithmetic by hand, its error bound, views, copies and refusals. */
class QuantTest {

    @Test
    void perChannelByHand() {
        Tensor w = Tensor.of(new float[] {1f, -2f, 0.5f, 4f, 0f, 0f, 0f, 0f, -0.3f, 0.1f, 0.2f, 0.3f}, 3, 4);
        Tensor q = Quant.quantize(w, 0);
        assertEquals(DType.I8, q.dtype());
        assertEquals(4, q.quant().group());
        // row 0: scale 4/127; 1 → round(31.75) = 32, −2 → −63 (Math.round takes −63.5 up), 0.5 → 16 (15.875), 4 → 127
        float s0 = 4f / 127f;
        assertEquals(32 * s0, q.get(0, 0), 0);
        assertEquals(-63 * s0, q.get(0, 1), 0);
        assertEquals(16 * s0, q.get(0, 2), 0);
        assertEquals(4f, q.get(0, 3), 1e-6);
        // an all-zero row has scale 0 and stays exactly zero
        for (int j = 0; j < 4; j++) assertEquals(0f, q.get(1, j), 0);
        // every value within half a step of the original, the row's extreme exactly representable
        float s2 = 0.3f / 127f;
        for (int j = 0; j < 4; j++) assertTrue(Math.abs(q.get(2, j) - w.get(2, j)) <= s2 / 2 + 1e-9, "element " + j);
        assertArrayEquals(new float[] {s0, 0f, s2}, Quant.scalesOf(q).toFloatArray(), 1e-9f);
    }

    @Test
    void groupsHaveTheirOwnScales() {
        float[] v = new float[16];
        for (int i = 0; i < 16; i++) v[i] = (i % 4 == 0 ? 10f : 0.01f) * (i < 8 ? 1 : 2) * (i + 1);
        Tensor w = Tensor.of(v, 2, 8), q = Quant.quantize(w, 4);
        Tensor scales = Quant.scalesOf(q);
        assertArrayEquals(new int[] {2, 2}, scales.shape());
        assertEquals(10f * 1 / 127f, scales.get(0, 0), 1e-6);
        assertEquals(10f * 5 / 127f, scales.get(0, 1), 1e-6);
        assertEquals(10f * 2 * 13 / 127f, scales.get(1, 1), 1e-5);
        for (int i = 0; i < 16; i++) {
            float s = scales.get(i / 8, (i % 8) / 4);
            assertTrue(Math.abs(q.get(i / 8, i % 8) - v[i]) <= s / 2 + 1e-7, "element " + i);
        }
    }

    @Test
    void viewsCopiesAndConcatenationDequantize() {
        Tensor w = Check.random(9, 6, 10), q = Quant.quantize(w, 5);
        Tensor f = q.copy();
        assertEquals(DType.F32, f.dtype());
        Tensor t = q.transpose(0, 1);
        for (int i = 0; i < 6; i++) for (int j = 0; j < 10; j++) assertEquals(f.get(i, j), t.get(j, i), 0);
        // Mat reads runs and strided elements alike
        Mat m = Mat.of(q).transpose();
        float[] col = new float[10];
        m.read(m.offset() + 2 * m.colStride(), m.rowStride(), 10, col, 0);
        assertArrayEquals(f.select(0, 2).toFloatArray(), col, 0);
        float[] row = new float[6];
        m.read(m.offset() + 3 * m.rowStride(), m.colStride(), 6, row, 0);
        assertArrayEquals(f.select(1, 3).toFloatArray(), row, 0);
        // rows of INT8 tensors join as INT8 (diffusers' q, k, v), a slice starting at a group included
        Tensor joined = Tensor.concat(0, q.slice(0, 4, 6), q.slice(0, 0, 2));
        assertEquals(DType.I8, joined.dtype());
        Tensor expect = Tensor.concat(0, f.slice(0, 4, 6), f.slice(0, 0, 2));
        assertArrayEquals(expect.toFloatArray(), joined.toFloatArray(), 0);
        // mixed with F32 they join as F32
        Tensor mixed = Tensor.concat(0, q, w);
        assertEquals(DType.F32, mixed.dtype());
        assertArrayEquals(f.toFloatArray(), mixed.slice(0, 0, 6).toFloatArray(), 0);
        assertNull(f.quant());
    }

    @Test
    void refusesWhatItCannotDo() {
        assertThrows(IllegalArgumentException.class, () -> Quant.quantize(Check.random(1, 8), 0), "rank 1");
        assertThrows(IllegalArgumentException.class, () -> Quant.quantize(Check.random(1, 4, 10), 3), "group not dividing the row");
        assertThrows(IllegalArgumentException.class, () -> Quant.quantize(Check.random(1, 4, 10), -1), "negative group");
        assertThrows(IllegalArgumentException.class, () -> Quant.quantize(Tensor.of(new float[] {1, Float.NaN}, 1, 2), 0), "NaN");
        Tensor q = Quant.quantize(Check.random(1, 4, 10), 0);
        assertThrows(IllegalArgumentException.class, () -> Quant.quantize(q, 0), "already INT8");
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(DType.I8, 2, 2), "I8 without scales");
        assertThrows(IllegalStateException.class, () -> DType.I8.get(q.segment(), 0), "raw I8 element");
        assertThrows(IllegalArgumentException.class, () -> q.to(DType.I8), "converting into I8");
        assertThrows(IllegalArgumentException.class, () -> Quant.scalesOf(q.slice(1, 1, 3)), "a view inside a group");
    }
}
